"""A project's "stats changed" pushes: the project dashboard listens on
``/ws/projects/<project id>/stats/`` and re-fetches the stats API when told.

The event carries no figures (only the project's id), so any signed-in person may
listen, as any signed-in person may read the stats. Who sends it, and how often, is
the sender's business (``backend.web.dashboard`` throttles it to one per project every
few seconds).
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import transaction

from backend.realtime.events import _send_group

STATS_CHANGED = "stats.changed"


def project_stats_group(project_id: int) -> str:
    return f"project-stats.{project_id}"


def send_stats_changed_on_commit(project_id: int) -> None:
    transaction.on_commit(
        lambda: _send_group(
            project_stats_group(project_id), STATS_CHANGED, {"project_id": project_id}
        )
    )


class ProjectStatsConsumer(AsyncJsonWebsocketConsumer):
    """``stats.changed`` events of one project, for signed-in people."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group_name = project_stats_group(int(self.scope["url_route"]["kwargs"]["project_id"]))
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def arbor_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": message["event"], "payload": message["payload"]})
