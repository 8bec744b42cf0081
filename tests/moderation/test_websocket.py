"""Moderators connected to ``/ws/events/`` hear about queue changes as they happen
(an item arrives, another moderator claims it); volunteers' sockets stay silent."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from backend.moderation.models import QueueItem
from backend.realtime.routing import websocket_urlpatterns
from tests.factories import people
from tests.moderation.builders import flat_tree, post, with_role

application = URLRouter(websocket_urlpatterns)


async def connected(user) -> WebsocketCommunicator:  # type: ignore[no-untyped-def]
    socket = WebsocketCommunicator(application, "/ws/events/")
    socket.scope["user"] = user
    accepted, _ = await socket.connect()
    assert accepted is True
    return socket


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_moderators_hear_of_new_and_claimed_queue_items_and_volunteers_do_not():
    built = await sync_to_async(flat_tree)("one_reply")
    reply = built.replies["a"]
    moderator = await sync_to_async(with_role)("moderator", username="mod-watching")
    other = await sync_to_async(with_role)("moderator", username="mod-claiming")
    admin = await sync_to_async(with_role)("admin", username="the-admin")
    volunteer, reporter = await sync_to_async(people)(2)
    moderator_socket = await connected(moderator)
    admin_socket = await connected(admin)
    volunteer_socket = await connected(volunteer)

    reported = await sync_to_async(post)(
        reporter, f"/api/v1/messages/{reply.pk}/reports", {"reason": "spam"}
    )
    assert reported.status_code == 201
    item = await sync_to_async(QueueItem.objects.get)()

    arrived = {
        "type": "moderation.queue.changed",
        "payload": {
            "id": item.pk,
            "reason": "report",
            "reasons": ["report"],
            "state": "open",
            "project_id": built.project.pk,
            "claimed_by": None,
        },
    }
    assert await moderator_socket.receive_json_from(timeout=5) == arrived
    assert await admin_socket.receive_json_from(timeout=5) == arrived

    claimed = await sync_to_async(post)(other, f"/api/v1/moderation/queue/{item.pk}/claim")
    assert claimed.status_code == 200

    taken = {
        "type": "moderation.queue.changed",
        "payload": {
            "id": item.pk,
            "reason": "report",
            "reasons": ["report"],
            "state": "claimed",
            "project_id": built.project.pk,
            "claimed_by": other.pk,
        },
    }
    assert await moderator_socket.receive_json_from(timeout=5) == taken
    assert await admin_socket.receive_json_from(timeout=5) == taken
    assert await volunteer_socket.receive_nothing(timeout=0.3) is True
    assert await moderator_socket.receive_nothing(timeout=0.1) is True
    for socket in (moderator_socket, admin_socket, volunteer_socket):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_refused_claim_sends_nothing():
    built = await sync_to_async(flat_tree)("one_reply")
    first = await sync_to_async(with_role)("moderator", username="mod-first")
    second = await sync_to_async(with_role)("moderator", username="mod-second")
    reporter = (await sync_to_async(people)(1))[0]
    await sync_to_async(post)(
        reporter, f"/api/v1/messages/{built.replies['a'].pk}/reports", {"reason": "pii"}
    )
    item = await sync_to_async(QueueItem.objects.get)()
    await sync_to_async(post)(first, f"/api/v1/moderation/queue/{item.pk}/claim")
    socket = await connected(first)

    refused = await sync_to_async(post)(second, f"/api/v1/moderation/queue/{item.pk}/claim")

    assert refused.status_code == 409
    assert await socket.receive_nothing(timeout=0.3) is True
    await socket.disconnect()
