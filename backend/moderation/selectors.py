from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.consensus.models import LabelVote
from backend.moderation.models import QueueItem, QueueItemState
from backend.projects.models import DEFAULT_FLAGS
from backend.trees.models import Emoji, Reaction, Tree, TreeState

WINDOWS = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "all": None,
}


def window_start(window: str) -> datetime | None:
    span = WINDOWS[window]
    return None if span is None else timezone.now() - span


def queue_items(
    *,
    project_slug: str | None = None,
    lang: str | None = None,
    reason: str | None = None,
    state: str | None = None,
) -> QuerySet[QueueItem]:
    """Open and claimed items by default, oldest first."""
    items = QueueItem.objects.select_related("project", "message", "tree", "claimed_by")
    items = items.filter(state=state) if state else items.exclude(state=QueueItemState.RESOLVED)
    if project_slug:
        items = items.filter(project__slug=project_slug)
    if lang:
        items = items.filter(lang=lang)
    if reason:
        items = items.filter(reason=reason)
    return items.order_by("created_at", "pk")


def trollboard(
    *, window: str, project_slug: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Per user, over the window: red flags and flag labels received on their messages,
    reactions, aborted prompts. Sorted by the strongest negative signal first."""
    since = window_start(window)
    message_filter = Q()
    tree_filter = Q()
    if since is not None:
        message_filter &= Q(created_at__gte=since)
        tree_filter &= Q(state_changed_at__gte=since)
    if project_slug:
        message_filter &= Q(message__tree__project__slug=project_slug)
        tree_filter &= Q(project__slug=project_slug)

    rows: dict[int, dict[str, Any]] = {}

    def row(user_id: int) -> dict[str, Any]:
        return rows.setdefault(
            user_id,
            {
                "user_id": user_id,
                "red_flags": 0,
                "up": 0,
                "down": 0,
                "flag_labels": 0,
                "spam_labels": 0,
                "aborted_prompts": 0,
            },
        )

    reactions = (
        Reaction.objects.filter(message_filter, message__author__isnull=False)
        .values("message__author_id", "emoji")
        .annotate(count=Count("pk"))
    )
    emoji_field = {Emoji.RED_FLAG: "red_flags", Emoji.THUMBS_UP: "up", Emoji.THUMBS_DOWN: "down"}
    for entry in reactions:
        row(entry["message__author_id"])[emoji_field[entry["emoji"]]] += entry["count"]

    flags = (
        LabelVote.objects.filter(
            message_filter, message__author__isnull=False, label__in=DEFAULT_FLAGS, value__gte=0.5
        )
        .values("message__author_id", "label")
        .annotate(count=Count("pk"))
    )
    for entry in flags:
        target = row(entry["message__author_id"])
        target["flag_labels"] += entry["count"]
        if entry["label"] == "spam":
            target["spam_labels"] += entry["count"]

    aborted = (
        Tree.objects.filter(
            tree_filter, state=TreeState.ABORTED_LOW_GRADE, root__author__isnull=False
        )
        .values("root__author_id")
        .annotate(count=Count("pk"))
    )
    for entry in aborted:
        row(entry["root__author_id"])["aborted_prompts"] += entry["count"]

    names = dict(User.objects.filter(pk__in=rows).values_list("pk", "username"))
    banned = set(User.objects.filter(pk__in=rows, is_banned=True).values_list("pk", flat=True))
    for user_id, entry in rows.items():
        entry["username"] = names.get(user_id, "")
        entry["is_banned"] = user_id in banned
        entry["agreement"] = None  # filled from annotator quality once consensus scores users
    ordered = sorted(
        rows.values(),
        key=lambda entry: (
            -(entry["red_flags"] + entry["spam_labels"] + entry["aborted_prompts"] + entry["down"]),
            -entry["flag_labels"],
            entry["user_id"],
        ),
    )
    return ordered[:limit]


def audit_events(
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    project_slug: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor", "project")
    if actor:
        events = (
            events.filter(actor__username=actor)
            if not actor.isdigit()
            else events.filter(actor_id=int(actor))
        )
    if action:
        events = (
            events.filter(action__startswith=action)
            if action.endswith(".")
            else events.filter(action=action)
        )
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if project_slug:
        events = events.filter(project__slug=project_slug)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events.order_by("-pk")


AUDIT_CSV_COLUMNS = [
    "id",
    "created_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "project",
    "before",
    "after",
    "reason",
]


def audit_csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines, streamed in chunks so a long log never sits in memory whole."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_CSV_COLUMNS)
    yield buffer.getvalue()
    for event in events.iterator(chunk_size=2000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                event.pk,
                event.created_at.isoformat(),
                event.actor.username if event.actor else "",
                event.action,
                event.target_type,
                event.target_id,
                event.project.slug if event.project else "",
                json.dumps(event.before, sort_keys=True),
                json.dumps(event.after, sort_keys=True),
                event.reason,
            ]
        )
        yield buffer.getvalue()
