"""Websocket events reach the signed-in user, through whichever channel layer is set
(in-memory by default, channels-redis when REDIS_URL is set, as in CI)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from backend.realtime.events import send_user_event
from backend.realtime.routing import websocket_urlpatterns

application = URLRouter(websocket_urlpatterns)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_event_reaches_only_its_user(make_user):
    alice = await sync_to_async(make_user)()
    bob = await sync_to_async(make_user)()
    alice_socket = WebsocketCommunicator(application, "/ws/events/")
    alice_socket.scope["user"] = alice
    bob_socket = WebsocketCommunicator(application, "/ws/events/")
    bob_socket.scope["user"] = bob
    assert (await alice_socket.connect())[0] is True
    assert (await bob_socket.connect())[0] is True

    await sync_to_async(send_user_event)(
        alice.pk, "message.reviewed", {"message_id": 5, "accepted": True}
    )

    assert await alice_socket.receive_json_from(timeout=5) == {
        "type": "message.reviewed",
        "payload": {"message_id": 5, "accepted": True},
    }
    assert await bob_socket.receive_nothing(timeout=0.3) is True
    await alice_socket.disconnect()
    await bob_socket.disconnect()


@pytest.mark.asyncio
async def test_anonymous_connections_are_refused():
    socket = WebsocketCommunicator(application, "/ws/events/")
    socket.scope["user"] = AnonymousUser()
    connected, code = await socket.connect()
    assert connected is False
    assert code == 4401
