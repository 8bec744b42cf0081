from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.realtime.events import MODERATORS_GROUP, user_group


@database_sync_to_async
def _is_moderator(user: Any) -> bool:
    return bool(user.is_staff or user.groups.filter(name="moderator").exists())


class EventsConsumer(AsyncJsonWebsocketConsumer):
    """Live events for the signed-in user; anonymous connections are refused."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group_names = [user_group(user.pk)]
        if await _is_moderator(user):
            self.group_names.append(MODERATORS_GROUP)
        for group in self.group_names:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "group_names", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def arbor_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": message["event"], "payload": message["payload"]})
