"""The dashboard's "stats changed" push: a submission tells the project's dashboards over
the websocket after it commits, at most once per project every few seconds, and drops
the cached figures so the re-fetch sees it; only signed-in people may listen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from backend.community.stats import project_stats
from backend.realtime.routing import websocket_urlpatterns
from backend.trees.models import Message
from backend.web.dashboard import stats_changed
from tests.factories import people, small_project, write_prompt

application = URLRouter(websocket_urlpatterns)


# The in-memory layer: the browser test (tests/e2e/test_project_dashboard.py) runs the
# same push through whichever layer is configured, channels-redis included.
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_submission_tells_the_projects_dashboards(make_user, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    project, other = await sync_to_async(lambda: (small_project(), small_project()))()
    viewer = await sync_to_async(make_user)()
    socket = WebsocketCommunicator(application, f"/ws/projects/{project.pk}/stats/")
    socket.scope["user"] = viewer
    elsewhere = WebsocketCommunicator(application, f"/ws/projects/{other.pk}/stats/")
    elsewhere.scope["user"] = viewer
    assert (await socket.connect())[0] is True
    assert (await elsewhere.connect())[0] is True

    await sync_to_async(lambda: write_prompt(project, people(1)[0]))()

    assert await socket.receive_json_from(timeout=20) == {
        "type": "stats.changed",
        "payload": {"project_id": project.pk},
    }
    assert await elsewhere.receive_nothing(timeout=0.3) is True
    await socket.disconnect()
    await elsewhere.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_anonymous_people_cannot_listen():
    project = await sync_to_async(small_project)()
    socket = WebsocketCommunicator(application, f"/ws/projects/{project.pk}/stats/")
    socket.scope["user"] = AnonymousUser()
    connected, code = await socket.connect()
    assert connected is False
    assert code == 4401


@pytest.mark.django_db(transaction=True)
def test_the_push_drops_the_cached_figures_once_per_throttle_window():
    project = small_project()
    (author,) = people(1)
    assert project_stats(project=project)["activity"]["daily"]["messages"][-1] == 0

    write_prompt(project, author)  # pushes and drops the cache

    assert project_stats(project=project)["activity"]["daily"]["messages"][-1] == 1
    Message.objects.filter(tree__project=project).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    stats_changed(project.pk)  # within the throttle window: neither dropped nor pushed
    assert project_stats(project=project)["activity"]["daily"]["messages"][-1] == 1
