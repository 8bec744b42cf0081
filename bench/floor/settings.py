"""Settings of the framework floor (see ``bench/floor/__init__.py``)."""

from __future__ import annotations

import os

# Arbor's own database settings, so that the floor gets the same connection handling
# (no persistent connections; ARBOR_DB_POOL_SIZE's psycopg pool per process).
from backend.config.settings import DATABASES  # noqa: F401

SECRET_KEY = "framework-floor-benchmark"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bench.floor"]
MIDDLEWARE: list[str] = []
if os.environ.get("ARBOR_COUNT_QUERIES", "").strip().lower() in {"1", "true", "yes", "on"}:
    MIDDLEWARE.insert(0, "backend.common.query_count.QueryCountMiddleware")
ROOT_URLCONF = "bench.floor.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # No django.contrib.auth here: the volunteer is a header, not a user object.
    "UNAUTHENTICATED_USER": None,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ARBOR_LOG_LEVEL", "WARNING")},
}
