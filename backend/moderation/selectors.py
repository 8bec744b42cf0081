from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.models import LabelVote
from backend.audit.models import AuditEvent
from backend.consensus.models import AnnotatorQuality
from backend.moderation.models import QueueItem, QueueItemState
from backend.onboarding.models import GoldPause
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
    items = QueueItem.objects.select_related(
        "project", "message", "tree", "claimed_by"
    ).prefetch_related("reason_rows")
    items = items.filter(state=state) if state else items.exclude(state=QueueItemState.RESOLVED)
    return queue_filtered(items, project_slug=project_slug, lang=lang, reason=reason).order_by(
        "created_at", "pk"
    )


def queue_filtered(
    items: QuerySet[QueueItem],
    *,
    project_slug: str | None = None,
    lang: str | None = None,
    reason: str | None = None,
) -> QuerySet[QueueItem]:
    """The queue's filters (each optional), as the queue page and "next" apply them."""
    if project_slug:
        items = items.filter(project__slug=project_slug)
    if lang:
        items = items.filter(lang=lang)
    if reason:  # any of the item's reasons (one row per reason and item: no repeats)
        items = items.filter(reason_rows__reason=reason)
    return items


def trollboard(
    *, window: str, project_slug: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Per user, over the window: red flags and flag labels received on their messages,
    reactions, aborted prompts; and, from the last rescore (not windowed), how their
    votes agree with consensus (``agreement`` and ``quality``, see
    ``_quality_summary``). People whose votes the rescore flagged as random or
    position-biased are listed even without other signals.

    Sorted by the strongest negative signal first (red flags + spam labels + aborted
    prompts + thumbs down), then by the number of quality flags, then by flag labels.
    """
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

    qualities = AnnotatorQuality.objects.all()
    if project_slug:
        qualities = qualities.filter(project__slug=project_slug)
    quality_flags: dict[int, int] = {}
    for user_id, is_random, is_position_biased in qualities.filter(
        Q(is_random=True) | Q(is_position_biased=True)
    ).values_list("user_id", "is_random", "is_position_biased"):
        row(user_id)
        # A flag counts once per person, in however many projects it was raised.
        held = quality_flags.get(user_id, 0)
        quality_flags[user_id] = max(held, int(is_random) + int(is_position_biased))
    # People paused from a kind for poor answers to gold items (docs/onboarding.md) are
    # listed too, the pause counting as one more quality flag.
    pauses = GoldPause.objects.filter(lifted_at__isnull=True)
    if project_slug:
        pauses = pauses.filter(project__slug=project_slug)
    for user_id in sorted(set(pauses.values_list("user_id", flat=True))):
        row(user_id)
        quality_flags[user_id] = quality_flags.get(user_id, 0) + 1
    ordered = sorted(
        rows.values(),
        key=lambda entry: (
            -(entry["red_flags"] + entry["spam_labels"] + entry["aborted_prompts"] + entry["down"]),
            -quality_flags.get(entry["user_id"], 0),
            -entry["flag_labels"],
            entry["user_id"],
        ),
    )[:limit]
    shown = [entry["user_id"] for entry in ordered]
    names = dict(User.objects.filter(pk__in=shown).values_list("pk", "username"))
    banned = set(User.objects.filter(pk__in=shown, is_banned=True).values_list("pk", flat=True))
    measured: dict[int, list[dict[str, Any]]] = {}
    for measurement in (
        qualities.filter(user_id__in=shown)
        .order_by("project_id")
        .values("user_id", *QUALITY_FIELDS)
    ):
        measured.setdefault(measurement.pop("user_id"), []).append(measurement)
    for entry in ordered:
        user_id = entry["user_id"]
        entry["username"] = names.get(user_id, "")
        entry["is_banned"] = user_id in banned
        quality = _quality_summary(measured[user_id]) if user_id in measured else None
        entry["agreement"] = quality["tau_shrunk"] if quality is not None else None
        entry["quality"] = quality
    return ordered


QUALITY_FIELDS = (
    "ranking_count",
    "tau_mean",
    "tau_shrunk",
    "is_random",
    "random_p_value",
    "first_pick_rate",
    "last_pick_rate",
    "is_position_biased",
    "position_bias_p_value",
    "label_vote_count",
    "ds_accuracy",
    "weight",
    "gold_vote_count",
    "gold_accuracy",
)
# Each measure's weight in the summary over projects: the count it was measured on.
_WEIGHTED_BY = {
    "tau_mean": "ranking_count",
    "tau_shrunk": "ranking_count",
    "first_pick_rate": "ranking_count",
    "last_pick_rate": "ranking_count",
    "ds_accuracy": "label_vote_count",
    "weight": "label_vote_count",
    "gold_accuracy": "gold_vote_count",
}


def _weighted_mean(pairs: list[tuple[float, int]]) -> float | None:
    if not pairs:
        return None
    if len(pairs) == 1:
        return pairs[0][0]  # exactly the project's own figure
    total = sum(count for _, count in pairs)
    if total == 0:
        return sum(value for value, _ in pairs) / len(pairs)
    return sum(value * count for value, count in pairs) / total


def _quality_summary(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """One person's annotator quality (``AnnotatorQuality``, from the last rescore) in
    one project, or summed up over the projects they were measured in:

    - counts (rankings, label votes, gold votes) are added up;
    - each measure is the mean over projects weighted by the count it was measured
      on: τ (mean and shrunk) and the first/last-pick rates by rankings, Dawid–Skene
      accuracy and the vote weight by label votes, gold accuracy by gold votes;
    - a flag (random voter, position bias) is raised when any project raised it, and
      its p-value is the smallest (the strongest evidence in any one project).

    ``weight`` is null without label votes (the stored default of 1 means nothing
    there)."""
    summary: dict[str, Any] = {"projects": len(measurements)}
    for name in ("ranking_count", "label_vote_count", "gold_vote_count"):
        summary[name] = sum(measurement[name] for measurement in measurements)
    for name in ("is_random", "is_position_biased"):
        summary[name] = any(measurement[name] for measurement in measurements)
    for name in ("random_p_value", "position_bias_p_value"):
        values = [m[name] for m in measurements if m[name] is not None]
        summary[name] = min(values) if values else None
    for name, count in _WEIGHTED_BY.items():
        summary[name] = _weighted_mean(
            [
                (measurement[name], measurement[count])
                for measurement in measurements
                if measurement[name] is not None
                and (name != "weight" or measurement["label_vote_count"] > 0)
            ]
        )
    return {
        name: summary[name]
        for name in ("projects", *QUALITY_FIELDS)  # a stable key order
    }


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


# --- What the moderator pages show ----------------------------------------------------


def queue_counts(*, project_slug: str | None = None, lang: str | None = None) -> dict[str, int]:
    """Live items per reason (every reason present, zero when none); an item with
    several reasons counts under each."""
    from backend.moderation.models import QueueItemReason, QueueReason

    counts = dict.fromkeys(QueueReason.values, 0)
    live = queue_filtered(
        QueueItem.objects.exclude(state=QueueItemState.RESOLVED),
        project_slug=project_slug,
        lang=lang,
    )
    rows = QueueItemReason.objects.filter(item__in=live).values("reason")
    for entry in rows.annotate(count=Count("pk")):
        counts[entry["reason"]] = entry["count"]
    return counts


def queue_languages() -> list[str]:
    return sorted(
        set(QueueItem.objects.exclude(state=QueueItemState.RESOLVED).values_list("lang", flat=True))
    )


def queue_item_page(*, item_id: int) -> dict[str, Any] | None:
    """Everything a moderator needs to decide on one item: the message in its
    conversation, the reports, the author with their notes and history, the tree, and
    what has been done about all of it so far."""
    from backend.moderation.models import Report, UserNote
    from backend.trees.models import Message, MessageRevision

    item = (
        QueueItem.objects.select_related(
            "project", "tree", "tree__root", "message", "message__author", "claimed_by"
        )
        .prefetch_related("reason_rows")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        return None
    message = item.message
    conversation: list[Message] = []
    if message is not None:
        ancestors = {
            m.pk: m
            for m in Message.objects.filter(tree_id=item.tree_id, depth__lt=message.depth).only(
                "pk", "parent_id", "role", "text", "depth", "is_deleted"
            )
        }
        parent_id = message.parent_id
        while parent_id is not None and parent_id in ancestors:
            conversation.append(ancestors[parent_id])
            parent_id = ancestors[parent_id].parent_id
        conversation.reverse()
    root = item.tree.root
    author = message.author if message is not None else (root.author if root else None)
    targets = Q(target_type="queue_item", target_id=str(item.pk)) | Q(
        target_type="tree", target_id=str(item.tree_id)
    )
    if message is not None:
        targets |= Q(target_type="message", target_id=str(message.pk))
    written, deleted = _message_counts(author) if author is not None else (0, 0)
    return {
        "item": item,
        "message": message,
        "conversation": conversation,
        "replies": (Message.objects.filter(parent=message).count() if message is not None else 0),
        "revisions": (
            MessageRevision.objects.filter(message=message).count() if message is not None else 0
        ),
        "reports": (
            list(
                Report.objects.filter(message=message)
                .select_related("reporter")
                .order_by("created_at", "pk")
            )
            if message is not None
            else []
        ),
        "author": author,
        "notes": (
            list(UserNote.objects.filter(user=author).select_related("author"))
            if author is not None
            else []
        ),
        "author_messages": written,
        "author_deleted": deleted,
        "history": list(
            AuditEvent.objects.filter(targets).select_related("actor").order_by("-pk")[:20]
        ),
    }


def _message_counts(user: User) -> tuple[int, int]:
    """How many messages a person wrote, and how many of them are deleted (one query)."""
    from backend.trees.models import Message

    counts = Message.objects.filter(author=user).aggregate(
        total=Count("pk"), deleted=Count("pk", filter=Q(is_deleted=True))
    )
    return counts["total"], counts["deleted"]


def user_page(*, user_id: int) -> dict[str, Any] | None:
    """A user as moderators see them: standing, notes, recent messages and events."""
    from backend.moderation.models import UserNote
    from backend.trees.models import Message

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    written, deleted = _message_counts(user)
    return {
        "person": user,
        "notes": list(UserNote.objects.filter(user=user).select_related("author")),
        "messages": list(
            Message.objects.filter(author=user).select_related("tree").order_by("-pk")[:30]
        ),
        "message_count": written,
        "deleted_count": deleted,
        "events": list(
            AuditEvent.objects.filter(Q(target_type="user", target_id=str(user.pk)) | Q(actor=user))
            .select_related("actor")
            .order_by("-pk")[:30]
        ),
    }
