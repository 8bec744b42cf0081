"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os
from typing import Any

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
django_asgi_application = get_asgi_application()

# Imported after Django is set up: the routing imports models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from backend.common.admission import gate  # noqa: E402
from backend.common.http_threads import ThreadedWSGI  # noqa: E402
from backend.realtime.origin import SameOriginValidator  # noqa: E402
from backend.realtime.routing import websocket_urlpatterns  # noqa: E402

# Django's WSGI handler on a pool of threads (one hop per request), or its own ASGI
# handler; settings.HTTP_HANDLER, docs/performance.md.
http_application: Any = (
    ThreadedWSGI(get_wsgi_application(), threads=settings.HTTP_THREADS)
    if settings.HTTP_HANDLER == "threads"
    else django_asgi_application
)

application = ProtocolTypeRouter(
    {
        # At most WEB_CONCURRENCY requests inside Django at once; the rest queue here.
        "http": gate(
            http_application,
            limit=settings.WEB_CONCURRENCY,
            wait_seconds=settings.WEB_QUEUE_SECONDS,
        ),
        # Only pages of this very site (scheme, host and port) may open the socket.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
