"""Push events to a signed-in user's websocket, after the transaction commits.

A broken channel layer (Redis down) must never fail or roll back the change that
caused the event: the event is logged and dropped, the data is already safe.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


MODERATORS_GROUP = "moderators"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send_group(group: str, event_type: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group, {"type": "arbor.event", "event": event_type, "payload": payload}
        )
    except Exception:  # see module docstring
        logger.warning("could not deliver %s to %s", event_type, group, exc_info=True)


def send_user_event(user_id: int, event_type: str, payload: dict[str, Any]) -> None:
    _send_group(user_group(user_id), event_type, payload)


def send_moderators_event_on_commit(event_type: str, payload: dict[str, Any]) -> None:
    """Every connected moderator sees queue changes (new items, claims, resolutions)."""
    transaction.on_commit(lambda: _send_group(MODERATORS_GROUP, event_type, payload))


def send_user_event_on_commit(user_id: int, event_type: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_user_event(user_id, event_type, payload))
