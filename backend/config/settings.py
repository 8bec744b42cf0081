"""Arbor settings, read from the environment.

With nothing set, Arbor runs on embedded defaults: SQLite under ``var/``, Celery in
eager mode and Channels' in-memory layer. ``DATABASE_URL`` switches to PostgreSQL
(psycopg 3) and ``REDIS_URL`` to a real Celery broker, result backend and the
channels-redis layer.
"""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("ARBOR_DATA_DIR", BASE_DIR / "var"))
# Always there, whatever the database: media, export files and Celery beat's schedule.
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Off unless asked for: `make run` turns it on for local development.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

# --- HTTPS (docs/security.md) -----------------------------------------------------------
# ARBOR_HTTPS=true says the site is served over HTTPS: it turns on the redirect to
# HTTPS, Secure cookies and HSTS, each of which its own variable may still override.
HTTPS = env_bool("ARBOR_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
# Load balancers probe /healthz and Prometheus scrapes /metrics over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600) if HTTPS else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Behind a proxy that ends TLS: the header it sets and the value meaning HTTPS, e.g.
# "X-Forwarded-Proto: https". Only set it when the proxy always sets (or strips) it.
_proxy_header = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "")
if _proxy_header:
    _name, _, _value = _proxy_header.partition(":")
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _name.strip().upper().replace("-", "_"),
        _value.strip() or "https",
    )

# --- Content-Security-Policy (django-csp) --------------------------------------------
# Strict: scripts and styles only from Arbor's own static files (no inline script,
# style or handler anywhere in frontend/templates), websockets to the same host
# ('self' covers ws:/wss: there), nothing embeds Arbor. The API docs page adds what
# Swagger UI needs (backend/config/urls.py). ARBOR_CSP_REPORT_URI collects reports.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        **(
            {"report-uri": [os.environ["ARBOR_CSP_REPORT_URI"]]}
            if os.environ.get("ARBOR_CSP_REPORT_URI")
            else {}
        ),
    }
}

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "axes",
    "csp",
    "backend.common",
    "backend.accounts",
    "backend.audit",
    "backend.projects",
    "backend.trees",
    "backend.quality",
    "backend.assignments",
    "backend.onboarding",
    "backend.consensus",
    "backend.realtime",
    "backend.exports",
    "backend.community",
    "backend.moderation",
    "backend.webhooks",
    "backend.arena",
    "backend.web",
]

MIDDLEWARE = [
    "backend.common.middleware.RequestIdMiddleware",
    # Every error under /api/ is JSON (404 for a malformed id, 400 for a body too big,
    # 500 with the request id); outermost but one, so it sees every inner answer.
    "backend.common.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A database that does not answer (PostgreSQL down, SQLite locked) gets a fast 503
    # with Retry-After instead of a 500 (backend/common/database.py).
    "backend.common.database.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The interface language (Accept-Language, or the language switcher's choice); the
    # language of the work itself is chosen separately on the dashboard.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, as django-axes asks: turns a refused (locked-out) log-in into its answer.
    "axes.middleware.AxesMiddleware",
]
# Statements per request in an X-Query-Count header, for the load benchmark
# (backend/common/query_count.py): off unless asked for, and then not installed at all.
COUNT_QUERIES = env_bool("ARBOR_COUNT_QUERIES", False)
if COUNT_QUERIES:
    MIDDLEWARE.insert(0, "backend.common.query_count.QueryCountMiddleware")

ROOT_URLCONF = "backend.config.urls"
ASGI_APPLICATION = "backend.config.asgi.application"
WSGI_APPLICATION = "backend.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "backend.web.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # No persistent connections: under ASGI each request runs in a thread of its own
    # (asgiref's ThreadSensitiveContext), so a kept connection is never reused and they
    # pile up until PostgreSQL refuses more ("too many clients", answered as 500s).
    # ARBOR_DB_POOL_SIZE=N instead keeps a psycopg pool of up to N connections per
    # process (Django's "pool" option), which the ASGI server should use.
    #
    # In an outage a request must fail fast (503, backend/common/database.py), not hang:
    # connecting gives up after ARBOR_DB_CONNECT_TIMEOUT seconds, and the pool's backend
    # (backend/common/postgresql) stops waiting for a connection as soon as its own
    # attempts to connect fail. ARBOR_DB_POOL_TIMEOUT bounds the wait for a free
    # connection when the server is up but every pooled connection is busy.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    }
    DATABASES["default"]["ENGINE"] = "backend.common.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = max(
        1, int(os.environ.get("ARBOR_DB_CONNECT_TIMEOUT", "3"))
    )
    DB_POOL_SIZE = int(os.environ.get("ARBOR_DB_POOL_SIZE", "0"))
    if DB_POOL_SIZE > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(2, DB_POOL_SIZE),
            "max_size": DB_POOL_SIZE,
            "timeout": float(os.environ.get("ARBOR_DB_POOL_TIMEOUT", "5")),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(DATA_DIR / "arbor.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two claims
                # never interleave a read and a write: on SQLite this, together with the
                # conditional UPDATE on the slot counter, is what stops over-assignment.
                "transaction_mode": "IMMEDIATE",
                # How long a write waits for SQLite's lock before "database is locked"
                # (answered 503 with Retry-After).
                "timeout": float(os.environ.get("ARBOR_SQLITE_TIMEOUT", "30")),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH", str(DATA_DIR / "test.sqlite3"))},
        }
    }
IS_POSTGRESQL = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Web server (manage.py serve, docs/operations.md) -----------------------------------
# ASGI worker processes in real mode; 0: one per core. Embedded mode always serves one
# process: its in-memory channel layer exists only inside that process.
WEB_WORKERS = int(os.environ.get("ARBOR_WEB_WORKERS", "0"))
WEB_SERVER = os.environ.get("ARBOR_WEB_SERVER", "uvicorn")
# Requests a web process works on at once (backend/common/admission.py); the rest wait
# in the event loop, up to ARBOR_WEB_QUEUE_SECONDS, then get 503 "overloaded". By
# default as many as the process has pooled database connections; 0: no gate.
WEB_CONCURRENCY = int(
    os.environ.get(
        "ARBOR_WEB_CONCURRENCY",
        str(DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 0)),
    )
)
WEB_QUEUE_SECONDS = float(os.environ.get("ARBOR_WEB_QUEUE_SECONDS", "30"))
# How the ASGI server hands HTTP requests to Django (backend/common/http_threads.py):
# "threads", Django's WSGI handler on a pool of threads, one hop per request; or
# "asgi", Django's own ASGI handler (a thread per request, a hop per middleware).
HTTP_HANDLER = os.environ.get("ARBOR_HTTP_HANDLER", "threads")
if HTTP_HANDLER not in ("threads", "asgi"):
    raise ImproperlyConfigured(f"ARBOR_HTTP_HANDLER is 'threads' or 'asgi', not {HTTP_HANDLER!r}")
# Threads of the "threads" handler per process: as many as the gate lets in.
HTTP_THREADS = int(os.environ.get("ARBOR_HTTP_THREADS", str(WEB_CONCURRENCY or 32)))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en"
# Interface languages; each has a complete catalogue in frontend/locale (make messages).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "frontend" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    path
    for path in [BASE_DIR / "frontend" / "static", BASE_DIR / "frontend" / "build"]
    if path.exists()
]
# Serve from the finders as well, so a test run or a fresh checkout needs no collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"

# --- Accounts (django-allauth) --------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses every log-in of a locked-out account, whichever form it came from.
    "backend.accounts.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
ACCOUNT_ADAPTER = "backend.accounts.adapter.ArborAccountAdapter"
SOCIALACCOUNT_ADAPTER = "backend.accounts.adapter.ArborSocialAccountAdapter"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ARBOR_EMAIL_VERIFICATION", "mandatory")
# Brute-force protection (docs/security.md): django-axes counts failed log-ins in the
# database, per account and client address, on every form that authenticates (the
# web log-in and the admin's alike), so a lock-out on one holds on the others and a
# Redis outage does not switch it off. allauth's own failed-log-in limit lives in the
# cache and would only cover its own form, so it is off; its other limits (sign-up,
# password reset) stay, and fail open when the cache is down.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
AXES_FAILURE_LIMIT = int(os.environ.get("ARBOR_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("ARBOR_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "backend.accounts.lockout.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_VERBOSE = False
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "arbor@localhost")
# SMTP: DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend plus these.
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
# Social log-in: ARBOR_SOCIAL_PROVIDERS is JSON, one entry per allauth provider id, e.g.
# {"github": {"client_id": "…", "secret": "…"}}; each provider's app is installed and
# its button appears on the log-in and sign-up pages.
SOCIAL_PROVIDERS: dict[str, dict[str, str]] = json.loads(
    os.environ.get("ARBOR_SOCIAL_PROVIDERS", "") or "{}"
)
INSTALLED_APPS += [f"allauth.socialaccount.providers.{name}" for name in SOCIAL_PROVIDERS]
SOCIALACCOUNT_PROVIDERS = {
    name: {
        "APPS": [
            {"client_id": app["client_id"], "secret": app["secret"], "key": app.get("key", "")}
        ]
    }
    for name, app in SOCIAL_PROVIDERS.items()
}

# --- Redis, Celery, Channels ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "arbor"
# A broker outage must not hold a request for long: the database is the source of
# truth and the sweep re-queues whatever could not be sent.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# Tasks are fire-and-forget (their effects are in the database); not subscribing to
# results keeps ``.delay()`` from waiting on the result backend during an outage.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
}
SWEEP_INTERVAL_SECONDS = float(os.environ.get("ARBOR_SWEEP_INTERVAL_SECONDS", "60"))

# --- Webhooks (docs/webhooks.md) --------------------------------------------------------
# Private, loopback and reserved targets are refused unless this is on (a server on the
# same private network as Arbor, or tests with a local receiver).
ARBOR_WEBHOOKS_ALLOW_PRIVATE = env_bool("ARBOR_WEBHOOKS_ALLOW_PRIVATE", False)
ARBOR_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("ARBOR_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Tries per delivery; the waits double from the base (10 s, 20 s, 40 s, … at most 1 h).
ARBOR_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("ARBOR_WEBHOOK_MAX_ATTEMPTS", "8"))
ARBOR_WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("ARBOR_WEBHOOK_RETRY_BASE_SECONDS", "10"))
# Failed tries in a row (over all deliveries) after which a webhook is turned off.
ARBOR_WEBHOOK_DISABLE_AFTER = int(os.environ.get("ARBOR_WEBHOOK_DISABLE_AFTER", "10"))
# --- Quality signals (docs/quality.md) ------------------------------------------------
# Comma-separated dotted paths of extra toxicity scorers (a stronger local model for
# more languages); each is registered once per process on first use.
# Compute the signals of every new or edited message (on by default). Off, nothing is
# computed until it is turned on again and `quality_rerun` is run.
ARBOR_QUALITY_SIGNALS = env_bool("ARBOR_QUALITY_SIGNALS", True)
ARBOR_QUALITY_TOXICITY_SCORERS = [
    path.strip()
    for path in os.environ.get("ARBOR_QUALITY_TOXICITY_SCORERS", "").split(",")
    if path.strip()
]

# --- Exports (docs/exports.md) ----------------------------------------------------------
# Dotted paths to pluggable callables; empty: none. Export files go to
# STORAGES["exports"] when defined (e.g. object storage), else the default storage.
ARBOR_EXPORT_PII_DETECTOR = os.environ.get("ARBOR_EXPORT_PII_DETECTOR", "")
ARBOR_EXPORT_QUALITY_PROVIDER = os.environ.get("ARBOR_EXPORT_QUALITY_PROVIDER", "")
# Import limits (docs/security.md): the size of an upload, of its content once
# decompressed, and of one line or array item; uploads are deleted when their job
# ends, and the hourly sweep removes any older than the retention.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("ARBOR_IMPORT_MAX_UPLOAD_BYTES", str(256 << 20)))
IMPORT_MAX_DECOMPRESSED_BYTES = int(
    os.environ.get("ARBOR_IMPORT_MAX_DECOMPRESSED_BYTES", str(4 << 30))
)
IMPORT_MAX_RECORD_BYTES = int(os.environ.get("ARBOR_IMPORT_MAX_RECORD_BYTES", str(16 << 20)))
IMPORT_FILE_RETENTION_HOURS = float(os.environ.get("ARBOR_IMPORT_FILE_RETENTION_HOURS", "24"))

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # Fails open (backend/common/cache.py): nothing in the cache is needed to log in,
    # so a Redis outage must not turn log-in and sign-up into 500s. Short socket
    # timeouts keep an unanswering server from holding a request.
    CACHES = {
        "default": {
            "BACKEND": "backend.common.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous script gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "backend.common.permissions.IsNotBanned",
    ],
    # drf-spectacular's, plus the common error answers on every operation.
    "DEFAULT_SCHEMA_CLASS": "backend.common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.common.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's defaults, with a JSON parser that answers 400 (not 500) to over-deep
    # nesting and lone surrogate escapes.
    "DEFAULT_PARSER_CLASSES": [
        "backend.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # A general limit per signed-in user and per client address, on top of the
    # per-kind limits of a project; generous, it only stops floods (docs/security.md).
    # "off" disables one. Counted in the default cache, failing open when it is down.
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.common.throttles.UserRateThrottle",
        "backend.common.throttles.IpRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("ARBOR_API_RATE_PER_USER", "3000/min"),
        "ip": os.environ.get("ARBOR_API_RATE_PER_IP", "30000/min"),
    },
    # Reverse proxies in front of Arbor: with N > 0 the client address is read from
    # X-Forwarded-For; 0 trusts only the socket's address (a client cannot forge it).
    "NUM_PROXIES": int(os.environ.get("ARBOR_NUM_PROXIES", "0")),
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": "Arbor API",
    "DESCRIPTION": "Crowdsourcing conversation trees: assignments, trees, messages, stats.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files are served from Arbor's static files, never from a CDN: the
    # docs work offline and the Content-Security-Policy stays 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Roles an admin grants (docs/projects.md), named apart from messages' roles.
    "ENUM_NAME_OVERRIDES": {
        "ManagedRoleEnum": ["moderator", "researcher", "admin"],
        "MessageRoleEnum": "backend.trees.models.Role",
    },
}

# --- Logs and metrics (docs/observability.md) ---------------------------------------------
# ARBOR_LOG_FORMAT: "json" (one object per line, the default unless DEBUG) or "text"
# (the default of `make run`). Every line carries the request id, user id and path of
# the request it was written for, or the task id (and request id) of a Celery task.
LOG_FORMAT = os.environ.get("ARBOR_LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ValueError(f"ARBOR_LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
# One line per request (method, path, status, duration) on the arbor.request logger,
# whatever ARBOR_LOG_LEVEL says; ARBOR_ACCESS_LOG=false turns it off.
ACCESS_LOG = env_bool("ARBOR_ACCESS_LOG", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "backend.common.log.ContextFilter"},
        "client_errors_one_line": {"()": "backend.web.log_filters.ClientErrorsOneLine"},
    },
    "formatters": {
        "json": {"()": "backend.common.log.JsonFormatter"},
        "text": {"()": "backend.common.log.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context", "client_errors_one_line"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("ARBOR_LOG_LEVEL", "WARNING")},
    "loggers": {"arbor.request": {"level": "INFO" if ACCESS_LOG else "WARNING"}},
}
# GET /metrics (Prometheus text format) answers only when one of these is set, and then
# only to clients that meet every one set: ARBOR_METRICS_TOKEN, a bearer token
# ("Authorization: Bearer <token>"); ARBOR_METRICS_ALLOWED_NETWORKS, comma-separated
# client networks (CIDR) checked against the socket's address. Development (DEBUG)
# allows loopback by default. Otherwise the endpoint answers 404.
METRICS_TOKEN = os.environ.get("ARBOR_METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = [
    network.strip()
    for network in os.environ.get(
        "ARBOR_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128" if DEBUG else ""
    ).split(",")
    if network.strip()
]
for _network in METRICS_ALLOWED_NETWORKS:
    ipaddress.ip_network(_network, strict=False)  # a typo fails at start, not per scrape

# Models in the loop (docs/arena.md): retries of a failed model call (with backoff
# doubling from the base), and the circuit breaker that pauses a model after this many
# failed calls in a row, trying again after the cool-down.
ARBOR_MODEL_RETRIES = int(os.environ.get("ARBOR_MODEL_RETRIES", "2"))
ARBOR_MODEL_BACKOFF_SECONDS = float(os.environ.get("ARBOR_MODEL_BACKOFF_SECONDS", "1.0"))
ARBOR_MODEL_BREAKER_FAILURES = int(os.environ.get("ARBOR_MODEL_BREAKER_FAILURES", "3"))
ARBOR_MODEL_BREAKER_COOLDOWN_SECONDS = float(
    os.environ.get("ARBOR_MODEL_BREAKER_COOLDOWN_SECONDS", "60")
)
# Where `make run` serves its two demo models (manage.py fake_models_serve: canned text);
# ARBOR_DEMO_MODELS_PORT=0 starts no fake server.
ARBOR_DEMO_MODELS_PORT = int(os.environ.get("ARBOR_DEMO_MODELS_PORT", "8099"))
ARBOR_DEMO_MODELS_URL = os.environ.get(
    "ARBOR_DEMO_MODELS_URL", f"http://127.0.0.1:{ARBOR_DEMO_MODELS_PORT}/v1"
)
# Encrypts the API keys of models at rest; Django's SECRET_KEY when unset.
ARBOR_SECRETS_KEY = os.environ.get("ARBOR_SECRETS_KEY", "")
