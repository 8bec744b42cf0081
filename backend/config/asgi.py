"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
django_asgi_application = get_asgi_application()

# Imported after Django is set up: the routing imports models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.common.admission import gate  # noqa: E402
from backend.realtime.origin import SameOriginValidator  # noqa: E402
from backend.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # At most WEB_CONCURRENCY requests inside Django at once; the rest queue here.
        "http": gate(
            django_asgi_application,
            limit=settings.WEB_CONCURRENCY,
            wait_seconds=settings.WEB_QUEUE_SECONDS,
        ),
        # Only pages of this very site (scheme, host and port) may open the socket.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
