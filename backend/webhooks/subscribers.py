"""Which domain events become webhook deliveries (subscribed in ``apps.py``).

Payloads carry ids and the API address to fetch more, not message text: a receiver
reads the text with its own token, under the same permissions as everyone else.
"""

from __future__ import annotations

from typing import Any

from backend.common.events import (
    ExportFinished,
    ImportFinished,
    MessageCreated,
    MessageQualityFlagged,
    MessageReacted,
    TreeStateChanged,
    subscribe,
)
from backend.trees.models import Emoji, TreeState
from backend.webhooks.models import WebhookEvent
from backend.webhooks.services import deliveries_create


def _tree(tree_id: int) -> dict[str, Any]:
    return {"tree_id": tree_id, "url": f"/api/v1/trees/{tree_id}"}


def on_tree_state_changed(event: TreeStateChanged) -> None:
    payload = {**_tree(event.tree_id), "before": event.before, "after": event.after}
    deliveries_create(
        project_id=event.project_id, event=WebhookEvent.TREE_STATE_CHANGED, payload=payload
    )
    if event.after == TreeState.READY_FOR_EXPORT:
        deliveries_create(
            project_id=event.project_id,
            event=WebhookEvent.TREE_READY_FOR_EXPORT,
            payload=_tree(event.tree_id),
        )


def on_message_created(event: MessageCreated) -> None:
    deliveries_create(
        project_id=event.project_id,
        event=WebhookEvent.MESSAGE_CREATED,
        payload={
            "message_id": event.message_id,
            "tree_id": event.tree_id,
            "is_root": event.is_root,
            "url": f"/api/v1/messages/{event.message_id}",
        },
    )


def message_flagged(
    *, project_id: int, message_id: int, tree_id: int, by: str, **extra: Any
) -> None:
    deliveries_create(
        project_id=project_id,
        event=WebhookEvent.MESSAGE_FLAGGED,
        payload={
            "message_id": message_id,
            "tree_id": tree_id,
            "by": by,
            "url": f"/api/v1/messages/{message_id}",
            **extra,
        },
    )


def on_message_reacted(event: MessageReacted) -> None:
    if event.emoji == Emoji.RED_FLAG:
        message_flagged(
            project_id=event.project_id,
            message_id=event.message_id,
            tree_id=event.tree_id,
            by="red_flag",
        )


def on_message_quality_flagged(event: MessageQualityFlagged) -> None:
    message_flagged(
        project_id=event.project_id,
        message_id=event.message_id,
        tree_id=event.tree_id,
        by="quality",
        flags=list(event.flags),
    )


def on_export_finished(event: ExportFinished) -> None:
    deliveries_create(
        project_id=event.project_id,
        event=WebhookEvent.EXPORT_FINISHED,
        payload={
            "job_id": event.job_id,
            "state": event.state,
            "format": event.format,
            "url": f"/api/v1/exports/{event.job_id}",
        },
    )


def on_import_finished(event: ImportFinished) -> None:
    deliveries_create(
        project_id=event.project_id,
        event=WebhookEvent.IMPORT_FINISHED,
        payload={
            "job_id": event.job_id,
            "state": event.state,
            "url": f"/api/v1/imports/{event.job_id}",
        },
    )


def connect() -> None:
    subscribe(TreeStateChanged, on_tree_state_changed)
    subscribe(MessageCreated, on_message_created)
    subscribe(MessageReacted, on_message_reacted)
    subscribe(MessageQualityFlagged, on_message_quality_flagged)
    subscribe(ExportFinished, on_export_finished)
    subscribe(ImportFinished, on_import_finished)
