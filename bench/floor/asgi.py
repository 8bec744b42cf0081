"""ASGI entry point of the framework floor: Django's handler, nothing around it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor.settings")
application = get_asgi_application()
