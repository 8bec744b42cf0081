"""The points ledger and the leaderboards, kept up to date by Celery beat.

Nothing here runs on a page load. ``points_ledger_update`` brings the ledger up to
date with the raw data; ``leaderboards_rebuild`` materialises every leaderboard from
the ledger; the API only reads the result.

Why the audit log drives the incremental pass: points depend on things that change
long after a contribution (a reply is accepted days later, ranked when its tree is
scored, deleted by a moderator, hidden by a ban). Every such change is made by one
service that records an audit event in the same transaction, so the events since the
last pass name the trees, reviews and rankings whose points may have changed. The
pass re-evaluates those from the current data and upserts the result; it never adds
deltas. An entry is therefore always ``formula(current data)``, running the pass
twice changes nothing, and a full recompute (nightly, or the first pass) gives the
same ledger as the incremental passes did.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.models import LabelVote, RankingVote
from backend.audit.models import AuditAction, AuditEvent
from backend.community.formula import (
    CONTRIBUTION_REASONS,
    LEVEL_THRESHOLDS,
    POINTS,
    STREAK_GRACE,
    WINDOW_LENGTHS,
    Reason,
    level_for,
    message_points,
    ranking_points,
    streak_days,
)
from backend.community.models import (
    LEADERBOARDS_CHECKPOINT,
    LEDGER_CHECKPOINT,
    CommunityCheckpoint,
    LeaderboardEntry,
    PointsEntry,
    SourceType,
    UserStats,
)
from backend.onboarding.models import GoldResult
from backend.trees.models import Message, TreeState

logger = logging.getLogger(__name__)

# Audit events are read again this far back on every pass. An event's ``created_at``
# is taken before its transaction commits, so a slow transaction can commit an event
# dated before the previous checkpoint; re-reading a margin catches it, and since
# the pass upserts, reading an event twice counts nothing twice.
LEDGER_OVERLAP = timedelta(minutes=10)
CHUNK_SIZE = 500

# User events after which the points of the user's messages may change.
USER_ACTIONS = (AuditAction.USER_BANNED, AuditAction.USER_UNBANNED)
DECISION_ACTIONS = (AuditAction.MESSAGE_ACCEPTED, AuditAction.MESSAGE_REJECTED)
SCORED_ACTION = f"tree.{TreeState.READY_FOR_EXPORT.value}"

T = TypeVar("T")

# (source_type, source_id, user_id, reason)
EntryKey = tuple[str, int, int, str]


@dataclass(frozen=True)
class _Expected:
    project_id: int
    points: int
    earned_at: datetime
    detail: dict[str, Any]


@dataclass
class LedgerUpdate:
    full: bool
    created: int = 0
    updated: int = 0
    deleted: int = 0
    users: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "users": len(self.users),
        }


def _chunks(values: Iterable[T], size: int = CHUNK_SIZE) -> Iterator[list[T]]:
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _lock_checkpoint(name: str) -> CommunityCheckpoint:
    """Lock the pass's checkpoint row: passes of one kind run one at a time (on
    SQLite the IMMEDIATE transaction already serialises them)."""
    CommunityCheckpoint.objects.get_or_create(name=name)
    return CommunityCheckpoint.objects.select_for_update().get(name=name)


# --- The ledger pass ------------------------------------------------------------------


def points_ledger_update(*, now: datetime | None = None, full: bool = False) -> LedgerUpdate:
    """Bring the points ledger and everyone's totals (streaks as of ``now``) up to date.

    Incremental from the checkpoint unless ``full`` (or no pass ran yet): then every
    message, review and ranking is re-evaluated and entries whose source is gone are
    removed. Either way each touched entry equals the formula applied to the current
    data, so the pass is idempotent and incremental and full passes agree.
    """
    now = now or timezone.now()
    with transaction.atomic():
        checkpoint = _lock_checkpoint(LEDGER_CHECKPOINT)
        # The wall clock, not ``now`` (which only dates streaks): the events read
        # below are the ones up to this moment.
        started = timezone.now()
        update = LedgerUpdate(full=full or checkpoint.processed_until is None)
        if update.full:
            _recompute_everything(update)
        else:
            assert checkpoint.processed_until is not None
            _recompute_changed(update, since=checkpoint.processed_until - LEDGER_OVERLAP)
        _refresh_user_stats(update.users, now=now)
        # Streaks of people who stopped: nothing in the ledger changes for them.
        UserStats.objects.filter(streak_days__gt=0, last_active_at__lt=now - STREAK_GRACE).update(
            streak_days=0, updated_at=now
        )
        checkpoint.processed_until = started
        checkpoint.save(update_fields=["processed_until", "updated_at"])
    return update


def _recompute_changed(update: LedgerUpdate, *, since: datetime) -> None:
    message_ids: set[int] = set()
    tree_ids: set[int] = set()
    assignment_ids: set[int] = set()
    user_ids: set[int] = set()
    events = (
        AuditEvent.objects.filter(created_at__gt=since)
        .filter(
            Q(target_type__in=["message", "tree"])
            | Q(target_type="assignment", action=AuditAction.ASSIGNMENT_SUBMITTED)
            | Q(target_type="user", action__in=USER_ACTIONS)
        )
        .values_list("target_type", "target_id")
    )
    targets = {
        "message": message_ids,
        "tree": tree_ids,
        "assignment": assignment_ids,
        "user": user_ids,
    }
    for target_type, target_id in events.iterator(chunk_size=2000):
        if target_id.isdigit():
            targets[target_type].add(int(target_id))

    # A change to one message can change the points of others in its tree (deleting
    # a message hides its subtree; a tree that regrows is ranked again), and trees
    # are small: re-evaluate the whole tree.
    for chunk in _chunks(sorted(message_ids)):
        tree_ids.update(Message.objects.filter(pk__in=chunk).values_list("tree_id", flat=True))
    # A ban may hide every message of its user, an unban brings them back.
    for chunk in _chunks(sorted(user_ids)):
        message_ids.update(Message.objects.filter(author_id__in=chunk).values_list("pk", flat=True))
    vote_ids: set[int] = set()
    review_keys: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted(tree_ids)):
        message_ids.update(Message.objects.filter(tree_id__in=chunk).values_list("pk", flat=True))
        vote_ids.update(
            RankingVote.objects.filter(parent__tree_id__in=chunk).values_list("pk", flat=True)
        )
    for chunk in _chunks(sorted(assignment_ids)):
        review_keys.update(
            LabelVote.objects.filter(assignment_id__in=chunk)
            .values_list("message_id", "user_id")
            .distinct()
        )
        vote_ids.update(
            RankingVote.objects.filter(assignment_id__in=chunk).values_list("pk", flat=True)
        )

    for chunk in _chunks(sorted(message_ids)):
        _sync_messages(chunk, update)
    for review_chunk in _chunks(sorted(review_keys)):
        _sync_reviews(
            {message_id for message_id, _ in review_chunk}, update, only=set(review_chunk)
        )
    for chunk in _chunks(sorted(vote_ids)):
        _sync_votes(chunk, update)
    for chunk in _chunks(sorted(assignment_ids)):
        _sync_gold(chunk, update)


def _recompute_everything(update: LedgerUpdate) -> None:
    for chunk in _chunks(Message.objects.order_by("pk").values_list("pk", flat=True).iterator()):
        _sync_messages(chunk, update)
        _sync_reviews(set(chunk), update)
    for chunk in _chunks(
        RankingVote.objects.order_by("pk").values_list("pk", flat=True).iterator()
    ):
        _sync_votes(chunk, update)
    for chunk in _chunks(
        GoldResult.objects.filter(assignment__isnull=False)
        .order_by("assignment_id")
        .values_list("assignment_id", flat=True)
        .iterator()
    ):
        _sync_gold(chunk, update)
    # Entries whose source no longer exists (hard-deleted messages or votes, gold
    # answers taken back).
    orphans = PointsEntry.objects.filter(
        Q(source_type__in=[SourceType.MESSAGE, SourceType.REVIEW])
        & ~Exists(Message.objects.filter(pk=OuterRef("source_id")))
        | Q(source_type=SourceType.RANKING_VOTE)
        & ~Exists(RankingVote.objects.filter(pk=OuterRef("source_id")))
        | Q(source_type=SourceType.GOLD)
        & ~Exists(GoldResult.objects.filter(assignment_id=OuterRef("source_id")))
    )
    orphan_rows = list(orphans.values_list("pk", "user_id"))
    for orphan_chunk in _chunks(orphan_rows):
        PointsEntry.objects.filter(pk__in=[pk for pk, _ in orphan_chunk]).delete()
        update.deleted += len(orphan_chunk)
        update.users.update(user_id for _, user_id in orphan_chunk)


def _sync(
    existing: Iterable[PointsEntry],
    expected: dict[EntryKey, _Expected],
    update: LedgerUpdate,
    *,
    in_scope: set[tuple[int, int]] | None = None,
) -> None:
    """Make the ledger hold exactly ``expected`` for the evaluated sources.

    ``existing`` are the current entries of those sources; with ``in_scope`` only
    entries whose (source_id, user_id) is in it are considered (reviews).
    """
    now = timezone.now()
    seen: set[EntryKey] = set()
    changed: list[PointsEntry] = []
    stale: list[int] = []
    for entry in existing:
        if in_scope is not None and (entry.source_id, entry.user_id) not in in_scope:
            continue
        key = (entry.source_type, entry.source_id, entry.user_id, entry.reason)
        want = expected.get(key)
        if want is None:
            stale.append(entry.pk)
            update.users.add(entry.user_id)
            continue
        seen.add(key)
        if (
            entry.project_id != want.project_id
            or entry.points != want.points
            or entry.earned_at != want.earned_at
            or entry.detail != want.detail
        ):
            entry.project_id = want.project_id
            entry.points = want.points
            entry.earned_at = want.earned_at
            entry.detail = want.detail
            entry.updated_at = now
            changed.append(entry)
            update.users.add(entry.user_id)
    new = [
        PointsEntry(
            source_type=source_type,
            source_id=source_id,
            user_id=user_id,
            reason=reason,
            project_id=want.project_id,
            points=want.points,
            earned_at=want.earned_at,
            detail=want.detail,
        )
        for (source_type, source_id, user_id, reason), want in expected.items()
        if (source_type, source_id, user_id, reason) not in seen
    ]
    if stale:
        PointsEntry.objects.filter(pk__in=stale).delete()
    if changed:
        PointsEntry.objects.bulk_update(
            changed, ["project_id", "points", "earned_at", "detail", "updated_at"]
        )
    if new:
        PointsEntry.objects.bulk_create(new)
    update.users.update(entry.user_id for entry in new)
    update.created += len(new)
    update.updated += len(changed)
    update.deleted += len(stale)


def _latest_event_times(
    action_names: Iterable[str], target_type: str, ids: Iterable[int]
) -> dict[int, datetime]:
    rows = (
        AuditEvent.objects.filter(
            action__in=list(action_names),
            target_type=target_type,
            target_id__in=[str(i) for i in ids],
        )
        .values("target_id")
        .annotate(at=Max("created_at"))
    )
    return {int(row["target_id"]): row["at"] for row in rows}


def _scored_times(state_changed_at: dict[int, datetime]) -> dict[int, datetime]:
    """When each tree was scored: its latest ``tree.ready_for_export`` event, else
    (data made without the lifecycle) when it entered its current state."""
    events = _latest_event_times([SCORED_ACTION], "tree", state_changed_at)
    return {
        tree_id: events.get(tree_id, changed_at) for tree_id, changed_at in state_changed_at.items()
    }


def _sync_messages(message_ids: list[int], update: LedgerUpdate) -> None:
    """The author's points for each message: written, accepted/rejected, ranked."""
    rows = list(
        Message.objects.filter(pk__in=message_ids).values(
            "pk",
            "tree_id",
            "tree__project_id",
            "tree__state_changed_at",
            "parent_id",
            "depth",
            "author_id",
            "synthetic",
            "is_deleted",
            "review_result",
            "rank",
            "created_at",
        )
    )
    earning = [
        row
        for row in rows
        if row["author_id"] is not None and not row["synthetic"] and not row["is_deleted"]
    ]
    decided = _latest_event_times(
        DECISION_ACTIONS,
        "message",
        [row["pk"] for row in earning if row["review_result"] is not None],
    )
    ranked = [row for row in earning if row["rank"] is not None and row["parent_id"] is not None]
    ranked_siblings = dict(
        Message.objects.filter(
            parent_id__in={row["parent_id"] for row in ranked}, rank__isnull=False
        )
        .values("parent_id")
        .annotate(count=Count("pk"))
        .values_list("parent_id", "count")
    )
    scored = _scored_times({row["tree_id"]: row["tree__state_changed_at"] for row in ranked})
    expected: dict[EntryKey, _Expected] = {}
    for row in earning:
        earned = message_points(
            is_prompt=row["parent_id"] is None,
            review_result=row["review_result"],
            rank=row["rank"],
            ranked_siblings=ranked_siblings.get(row["parent_id"], 0),
        )
        for reason, (points, detail) in earned.items():
            if reason in (Reason.PROMPT_WRITTEN, Reason.REPLY_WRITTEN):
                earned_at = row["created_at"]
            elif reason == Reason.REPLY_RANKED:
                earned_at = scored[row["tree_id"]]
            else:
                earned_at = decided.get(row["pk"], row["created_at"])
            expected[(SourceType.MESSAGE, row["pk"], row["author_id"], reason)] = _Expected(
                project_id=row["tree__project_id"],
                points=points,
                earned_at=earned_at,
                detail=detail,
            )
    existing = PointsEntry.objects.filter(source_type=SourceType.MESSAGE, source_id__in=message_ids)
    _sync(existing, expected, update)


def _sync_reviews(
    message_ids: set[int], update: LedgerUpdate, *, only: set[tuple[int, int]] | None = None
) -> None:
    """One review entry per person and message they labelled (all of the messages'
    reviewers, or only the (message, person) pairs in ``only``)."""
    votes = LabelVote.objects.filter(message_id__in=message_ids)
    if only is not None:
        votes = votes.filter(user_id__in={user_id for _, user_id in only})
    rows = votes.values("message_id", "user_id", "message__tree__project_id").annotate(
        first=Min("created_at")
    )
    expected: dict[EntryKey, _Expected] = {}
    for row in rows:
        if only is not None and (row["message_id"], row["user_id"]) not in only:
            continue
        expected[
            (SourceType.REVIEW, row["message_id"], row["user_id"], Reason.REVIEW_SUBMITTED)
        ] = _Expected(
            project_id=row["message__tree__project_id"],
            points=POINTS[Reason.REVIEW_SUBMITTED],
            earned_at=row["first"],
            detail={},
        )
    existing = PointsEntry.objects.filter(source_type=SourceType.REVIEW, source_id__in=message_ids)
    if only is not None:
        existing = existing.filter(user_id__in={user_id for _, user_id in only})
    _sync(existing, expected, update, in_scope=only)


def _sync_votes(vote_ids: list[int], update: LedgerUpdate) -> None:
    """A ranking's points and, once its tree is scored, its agreement bonus."""
    votes = list(
        RankingVote.objects.filter(pk__in=vote_ids).values(
            "pk",
            "user_id",
            "parent_id",
            "parent__tree_id",
            "parent__tree__project_id",
            "parent__tree__state_changed_at",
            "ranking",
            "created_at",
        )
    )
    consensus: dict[int, list[int]] = defaultdict(list)
    for parent_id, message_id in (
        Message.objects.filter(
            parent_id__in={vote["parent_id"] for vote in votes}, rank__isnull=False
        )
        .order_by("parent_id", "rank", "pk")
        .values_list("parent_id", "pk")
    ):
        consensus[parent_id].append(message_id)
    scored = _scored_times(
        {
            vote["parent__tree_id"]: vote["parent__tree__state_changed_at"]
            for vote in votes
            if vote["parent_id"] in consensus
        }
    )
    expected: dict[EntryKey, _Expected] = {}
    for vote in votes:
        ballot = vote["ranking"] if isinstance(vote["ranking"], list) else []
        final_order = consensus.get(vote["parent_id"])
        for reason, (points, detail) in ranking_points(
            ballot=ballot, consensus=final_order
        ).items():
            earned_at = (
                vote["created_at"]
                if reason == Reason.RANKING_SUBMITTED
                else scored[vote["parent__tree_id"]]
            )
            expected[(SourceType.RANKING_VOTE, vote["pk"], vote["user_id"], reason)] = _Expected(
                project_id=vote["parent__tree__project_id"],
                points=points,
                earned_at=earned_at,
                detail=detail,
            )
    existing = PointsEntry.objects.filter(
        source_type=SourceType.RANKING_VOTE, source_id__in=vote_ids
    )
    _sync(existing, expected, update)


# --- At submission ---------------------------------------------------------------------


def points_for_submission(
    *,
    assignment_id: int,
    user_id: int,
    project_id: int,
    kind: str,
    message_id: int | None,
    is_prompt: bool = False,
    is_substitute: bool = False,
    now: datetime | None = None,
) -> None:
    """Credit what a submission earns at once (a prompt or reply written, a review, a
    ranking: fixed points) and the submitter's new total and level, in the submit's own
    transaction, so the points show on the next page. The ledger entry is inserted
    unless it exists (its unique key makes a retry or a race harmless), and the total
    grows by exactly what was inserted — nothing when the entry was there already.

    On PostgreSQL that is one statement (the source looked up, the entry inserted, the
    total, level and last activity updated, in data-modifying CTEs). Elsewhere it takes
    a few ORM statements and the total is summed from the ledger.

    The periodic pass stays the reconciler: it evaluates the same sources with the same
    formula, recomputes totals from the ledger (and credits what comes later:
    acceptance, rank and agreement bonuses), and keeps streaks.
    """
    now = now or timezone.now()
    credit = _submission_credit(
        kind=kind,
        message_id=message_id,
        assignment_id=assignment_id,
        is_prompt=is_prompt,
        is_substitute=is_substitute,
    )
    if credit is None:
        return
    source_type, reason, source_sql, source_parameter = credit
    if connection.vendor == "postgresql":
        _credit_in_one_statement(
            source_type=source_type,
            reason=reason,
            source_sql=source_sql,
            source_parameter=source_parameter,
            user_id=user_id,
            project_id=project_id,
            now=now,
        )
        return
    source_id: int | None = source_parameter
    if source_sql is not None:  # the vote the assignment made, by the same query
        with connection.cursor() as cursor:
            cursor.execute(source_sql, [source_parameter])
            row = cursor.fetchone()
        source_id = row[0] if row else None
    if source_id is None:
        return
    PointsEntry.objects.bulk_create(
        [
            PointsEntry(
                source_type=source_type,
                source_id=source_id,
                reason=reason,
                user_id=user_id,
                project_id=project_id,
                points=POINTS[reason],
                earned_at=now,
                detail={},
            )
        ],
        ignore_conflicts=True,
    )
    total = PointsEntry.objects.filter(user_id=user_id).aggregate(total=Sum("points"))["total"]
    total = total or 0
    values = {"points": total, "level": level_for(total), "last_active_at": now}
    if not UserStats.objects.filter(user_id=user_id).update(updated_at=now, **values):
        UserStats.objects.bulk_create(
            [UserStats(user_id=user_id, streak_days=1, **values)], ignore_conflicts=True
        )


def _gold_reason(kind: str) -> Reason | None:
    """What a gold item of ``kind`` earns: the review's or the ranking's points."""
    if kind.startswith("label_"):
        return Reason.REVIEW_SUBMITTED
    if kind.startswith("rank_"):
        return Reason.RANKING_SUBMITTED
    return None


def _sync_gold(assignment_ids: list[int], update: LedgerUpdate) -> None:
    """One entry per gold item answered in the stream (source id: its assignment)."""
    expected: dict[EntryKey, _Expected] = {}
    rows = GoldResult.objects.filter(assignment_id__in=assignment_ids).values(
        "assignment_id", "user_id", "project_id", "kind", "created_at"
    )
    for row in rows:
        reason = _gold_reason(row["kind"])
        if reason is None:
            continue
        expected[(SourceType.GOLD, row["assignment_id"], row["user_id"], reason)] = _Expected(
            project_id=row["project_id"],
            points=POINTS[reason],
            earned_at=row["created_at"],
            detail={},
        )
    existing = PointsEntry.objects.filter(source_type=SourceType.GOLD, source_id__in=assignment_ids)
    _sync(existing, expected, update)


def _submission_credit(
    *, kind: str, message_id: int | None, assignment_id: int, is_prompt: bool, is_substitute: bool
) -> tuple[str, Reason, str | None, int] | None:
    """What a submission of ``kind`` is credited for: the source type, the reason, and
    how its source id is found — the message written (its id, no query; a prompt when
    it starts a tree, as the ledger counts it), or the vote the assignment made (a
    query, with the assignment's id as its parameter)."""
    if message_id is not None:
        reason = Reason.PROMPT_WRITTEN if is_prompt else Reason.REPLY_WRITTEN
        return SourceType.MESSAGE, reason, None, message_id
    if is_substitute:  # a gold item: what the work it looks like earns (no query)
        gold_reason = _gold_reason(kind)
        return None if gold_reason is None else (SourceType.GOLD, gold_reason, None, assignment_id)
    if kind.startswith("label_"):
        table = LabelVote._meta.db_table
        return (
            SourceType.REVIEW,
            Reason.REVIEW_SUBMITTED,
            f"SELECT message_id AS id FROM {table} WHERE assignment_id = %s LIMIT 1",
            assignment_id,
        )
    if kind.startswith("rank_"):
        table = RankingVote._meta.db_table
        return (
            SourceType.RANKING_VOTE,
            Reason.RANKING_SUBMITTED,
            f"SELECT id FROM {table} WHERE assignment_id = %s LIMIT 1",
            assignment_id,
        )
    return None


def _level_sql(points: str) -> str:
    """``level_for`` as an SQL expression of the points expression ``points``."""
    cases = " ".join(
        f"WHEN {points} >= {needed} THEN {level}"
        for level, needed in sorted(LEVEL_THRESHOLDS, key=lambda pair: -pair[1])
    )
    return f"CASE {cases} ELSE {LEVEL_THRESHOLDS[0][0]} END"


def _credit_in_one_statement(
    *,
    source_type: str,
    reason: Reason,
    source_sql: str | None,
    source_parameter: int,
    user_id: int,
    project_id: int,
    now: datetime,
) -> None:
    """The PostgreSQL path. A person without a totals row gets one holding the whole
    ledger (the sum is only read then); everyone else's total grows by what was
    inserted. Two first submissions of one person at the same moment may count the
    first entry twice until the next ledger pass recomputes the total."""
    entries = PointsEntry._meta.db_table
    stats = UserStats._meta.db_table
    source = "SELECT %s::bigint AS id" if source_sql is None else source_sql
    new_points = f"{stats}.points + EXCLUDED.points"
    sql = f"""
        WITH source AS ({source}),
        inserted AS (
            INSERT INTO {entries}
                (source_type, source_id, reason, user_id, project_id, points, earned_at, detail,
                 created_at, updated_at)
            SELECT %s, source.id, %s, %s, %s, %s, %s, '{{}}'::jsonb, %s, %s FROM source
            WHERE source.id IS NOT NULL
            ON CONFLICT (source_type, source_id, user_id, reason) DO NOTHING
            RETURNING points
        ),
        total AS (
            SELECT (SELECT COALESCE(SUM(points), 0) FROM inserted) + CASE
                WHEN EXISTS (SELECT 1 FROM {stats} WHERE user_id = %s) THEN 0
                ELSE (SELECT COALESCE(SUM(points), 0) FROM {entries} WHERE user_id = %s)
            END AS points
        )
        INSERT INTO {stats} (user_id, points, level, streak_days, last_active_at, updated_at)
        SELECT %s, total.points, {_level_sql("total.points")}, 1, %s, %s FROM total
        ON CONFLICT (user_id) DO UPDATE
        SET points = {new_points}, level = {_level_sql(new_points)},
            last_active_at = EXCLUDED.last_active_at, updated_at = EXCLUDED.updated_at
    """
    parameters: list[Any] = [
        source_parameter,
        source_type,
        reason.value,
        user_id,
        project_id,
        POINTS[reason],
        now,
        now,
        now,
        user_id,
        user_id,
        user_id,
        now,
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)


def points_for_undo(
    *,
    user_id: int,
    kind: str,
    message_id: int | None,
    ranking_vote_id: int | None,
    assignment_id: int | None = None,
    is_substitute: bool = False,
    now: datetime | None = None,
) -> None:
    """Take back what an undone review or ranking (or gold item) earned, and the
    person's total."""
    now = now or timezone.now()
    if is_substitute and assignment_id is not None:
        source = (SourceType.GOLD, assignment_id)
    elif kind.startswith("label_") and message_id is not None:
        source = (SourceType.REVIEW, message_id)
    elif kind.startswith("rank_") and ranking_vote_id is not None:
        source = (SourceType.RANKING_VOTE, ranking_vote_id)
    else:
        return
    PointsEntry.objects.filter(user_id=user_id, source_type=source[0], source_id=source[1]).delete()
    total = PointsEntry.objects.filter(user_id=user_id).aggregate(total=Sum("points"))["total"]
    total = total or 0
    UserStats.objects.filter(user_id=user_id).update(
        updated_at=now, points=total, level=level_for(total)
    )


# --- Per-person totals ----------------------------------------------------------------


def _refresh_user_stats(user_ids: set[int], *, now: datetime) -> None:
    """Recompute (not increment) the totals, level and streak of these people."""
    for chunk in _chunks(sorted(user_ids)):
        points = dict(
            PointsEntry.objects.filter(user_id__in=chunk)
            .values("user_id")
            .annotate(total=Sum("points"))
            .values_list("user_id", "total")
        )
        active_days: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        day_rows = (
            PointsEntry.objects.filter(user_id__in=chunk, reason__in=list(CONTRIBUTION_REASONS))
            .annotate(day=TruncDate("earned_at", tzinfo=UTC))
            .values("user_id", "day")
            .annotate(first=Min("earned_at"), last=Max("earned_at"))
            .order_by("user_id", "day")
        )
        for row in day_rows:
            active_days[row["user_id"]].append((row["first"], row["last"]))
        existing = UserStats.objects.in_bulk(chunk)
        present = set(User.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        changed: list[UserStats] = []
        new: list[UserStats] = []
        for user_id in chunk:
            if user_id not in present:
                continue
            days = active_days.get(user_id, [])
            total = points.get(user_id) or 0
            values = {
                "points": total,
                "level": level_for(total),
                "streak_days": streak_days(days, now=now),
                "last_active_at": days[-1][1] if days else None,
            }
            stats = existing.get(user_id)
            if stats is None:
                new.append(UserStats(user_id=user_id, **values))
            elif any(getattr(stats, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(stats, name, value)
                stats.updated_at = now
                changed.append(stats)
        if new:
            UserStats.objects.bulk_create(new)
        if changed:
            UserStats.objects.bulk_update(
                changed, ["points", "level", "streak_days", "last_active_at", "updated_at"]
            )


# --- Leaderboards ---------------------------------------------------------------------

_COUNTS = {
    "prompts": Reason.PROMPT_WRITTEN,
    "replies": Reason.REPLY_WRITTEN,
    "reviews": Reason.REVIEW_SUBMITTED,
    "rankings": Reason.RANKING_SUBMITTED,
}


def _aggregates() -> dict[str, Any]:
    return {
        "total": Sum("points"),
        **{name: Count("pk", filter=Q(reason=reason)) for name, reason in _COUNTS.items()},
    }


def _ranked(
    rows: list[dict[str, Any]], hidden: set[int]
) -> list[tuple[dict[str, Any], int | None]]:
    """Competition ranking (1, 2, 2, 4) of the shown people by points; ties listed by
    user id. Hidden people get no rank."""
    rows = sorted(rows, key=lambda row: (-row["total"], row["user_id"]))
    ranked: list[tuple[dict[str, Any], int | None]] = []
    position = 0
    previous_points: int | None = None
    current_rank = 0
    for row in rows:
        if row["user_id"] in hidden:
            ranked.append((row, None))
            continue
        position += 1
        if row["total"] != previous_points:
            current_rank = position
            previous_points = row["total"]
        ranked.append((row, current_rank))
    return ranked


def leaderboards_rebuild(*, now: datetime | None = None) -> int:
    """Replace every materialised leaderboard (each window, overall and per project)
    with one computed from the ledger as of ``now``. Returns the rows written.

    Readers never see a half-built board: the old rows are replaced in one
    transaction, and concurrent rebuilds queue on the checkpoint row.
    """
    now = now or timezone.now()
    hidden = set(
        User.objects.filter(
            Q(show_on_leaderboard=False) | Q(is_banned=True) | Q(is_active=False)
        ).values_list("pk", flat=True)
    )
    written = 0
    with transaction.atomic():
        checkpoint = _lock_checkpoint(LEADERBOARDS_CHECKPOINT)
        LeaderboardEntry.objects.all().delete()
        for window, length in WINDOW_LENGTHS.items():
            ledger = PointsEntry.objects.filter(earned_at__lte=now)
            if length is not None:
                ledger = ledger.filter(earned_at__gt=now - length)
            overall = ledger.values("user_id").annotate(**_aggregates()).order_by()
            written += _write_board(window, None, list(overall), hidden, now)
            # One project at a time, so memory holds one board, not all of them.
            per_project = (
                ledger.values("project_id", "user_id")
                .annotate(**_aggregates())
                .order_by("project_id")
            )
            for project_id, rows in itertools.groupby(
                per_project.iterator(chunk_size=5000), key=lambda row: row["project_id"]
            ):
                written += _write_board(window, project_id, list(rows), hidden, now)
        checkpoint.processed_until = now
        checkpoint.save(update_fields=["processed_until", "updated_at"])
    return written


def _write_board(
    window: str, project_id: int | None, rows: list[dict[str, Any]], hidden: set[int], now: datetime
) -> int:
    entries = [
        LeaderboardEntry(
            window=window,
            project_id=project_id,
            user_id=row["user_id"],
            rank=rank,
            points=row["total"] or 0,
            prompts=row["prompts"],
            replies=row["replies"],
            reviews=row["reviews"],
            rankings=row["rankings"],
            computed_at=now,
        )
        for row, rank in _ranked(rows, hidden)
    ]
    LeaderboardEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def community_refresh(*, now: datetime | None = None, full: bool = False) -> dict[str, Any]:
    """The beat task's work: the ledger pass, then the leaderboards from it."""
    update = points_ledger_update(now=now, full=full)
    rows = leaderboards_rebuild(now=now)
    logger.info("community refresh: %s, %s leaderboard rows", update.as_dict(), rows)
    return {**update.as_dict(), "leaderboard_rows": rows}
