from django.urls import path

from backend.realtime.consumers import EventsConsumer
from backend.realtime.project_stats import ProjectStatsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),
    path("ws/projects/<int:project_id>/stats/", ProjectStatsConsumer.as_asgi()),
]
