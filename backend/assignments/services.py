"""Claiming, submitting, skipping and expiring assignments.

The guarantee every function here keeps: a work item never collects more
completions than it needs and nobody holds or completes one item twice. It is
enforced by the database, not by timing:

- a claim takes a slot with ``UPDATE … SET open_slots = open_slots - 1 WHERE
  open_slots > 0`` and only the row count decides (on PostgreSQL the candidate row is
  also picked with ``FOR UPDATE SKIP LOCKED`` so claimers spread over items instead
  of queueing on one; on SQLite transactions are IMMEDIATE and so serialised);
- a completion is ``UPDATE … SET completed_count = completed_count + 1 WHERE
  completed_count < required``;
- check constraints (``open_slots + completed_count <= required``) and a partial
  unique index (one live assignment per person and item) back both up.

Lock order: tree → assignment → work item (see ``backend.assignments.needs``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments import growth
from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    REPLY_KINDS,
    Assignment,
    AssignmentState,
    IdempotencyRecord,
    Kind,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemExclusion,
    WorkItemState,
)
from backend.assignments.selectors import label_specs_for
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, Conflict, NotFound, RateLimited, ValidationFailed
from backend.common.events import AssignmentSkipped, AssignmentSubmitted, emit
from backend.common.outbox import enqueue
from backend.projects.models import Project
from backend.realtime.events import send_user_event_on_commit
from backend.trees.models import Message, Tree, TreeState, text_digest

ANY_KIND = "any"
# Assignment states that bar a person from claiming the same item again.
BARRING_STATES = (AssignmentState.ACTIVE, AssignmentState.SUBMITTED, AssignmentState.SKIPPED)
CLAIM_ATTEMPTS_PER_KIND = 3
SCORE_RANKING_GROUP_TASK = "tasks.consensus.score_ranking_group"


def _weighted_kind_order(weights: Mapping[str, float], rng: random.Random) -> list[str]:
    """A random order of kinds where heavier kinds tend to come first (weighted
    sampling without replacement, Efraimidis–Spirakis keys)."""
    keyed = []
    for kind in Kind.values:
        weight = float(weights.get(kind, 0.0))
        if weight > 0:
            keyed.append((rng.random() ** (1.0 / weight), kind))
    return [kind for _, kind in sorted(keyed, reverse=True)]


def _check_claim_limits(*, user: User, project: Project, now: Any) -> None:
    open_count = Assignment.objects.filter(
        user=user, state=AssignmentState.ACTIVE, expires_at__gt=now
    ).count()
    if open_count >= project.max_open_assignments:
        raise Conflict(
            "open_assignment_limit",
            f"You already hold {open_count} open assignments; finish or skip one first.",
        )
    recent = Assignment.objects.filter(
        user=user, created_at__gte=now - timedelta(minutes=1)
    ).count()
    if recent >= project.requests_per_minute:
        raise RateLimited(
            "rate_limited",
            f"At most {project.requests_per_minute} assignment requests a minute.",
            retry_after_seconds=60,
        )


def _initial_prompt_available(project: Project, lang: str) -> bool:
    waiting = Tree.objects.filter(
        project=project, lang=lang, state__in=[TreeState.PROMPT_REVIEW, TreeState.BACKLOG]
    ).count()
    return waiting < project.max_prompt_lottery_waiting


def _claimable(*, user: User, project: Project, lang: str, kind: str) -> QuerySet[WorkItem]:
    """Open items of ``kind`` with a free slot this person may do, best first."""
    return (
        WorkItem.objects.filter(
            project=project, lang=lang, kind=kind, state=WorkItemState.OPEN, open_slots__gt=0
        )
        .exclude(Exists(WorkItemExclusion.objects.filter(work_item=OuterRef("pk"), user=user)))
        .exclude(
            Exists(
                Assignment.objects.filter(
                    work_item=OuterRef("pk"), user=user, state__in=BARRING_STATES
                )
            )
        )
        .order_by("-priority", "pk")
    )


def _take_slot(item_id: int) -> bool:
    # The row count decides: a slot is taken only while one is free.
    return bool(
        WorkItem.objects.filter(pk=item_id, state=WorkItemState.OPEN, open_slots__gt=0).update(
            open_slots=F("open_slots") - 1
        )
    )


def _claim_item(*, user: User, project: Project, lang: str, kind: str) -> WorkItem | None:
    """Take one slot of the best open item of ``kind`` this person may do, without
    waiting for a row another transaction holds (see ``_claim_held_item``)."""
    candidates = _claimable(user=user, project=project, lang=lang, kind=kind)
    tried: list[int] = []

    def take(query: QuerySet[WorkItem]) -> WorkItem | None:
        item = query.exclude(pk__in=tried).first()
        if item is None:
            return None
        tried.append(item.pk)
        return item if _take_slot(item.pk) else None

    if not settings.IS_POSTGRESQL:
        # SQLite has no row locks; its IMMEDIATE transactions already run one at a time.
        return take(candidates)
    # PostgreSQL: skip rows other claimers hold, so concurrent claims spread over items
    # instead of queueing.
    skipping = candidates.select_for_update(skip_locked=True, no_key=True)
    for _ in range(CLAIM_ATTEMPTS_PER_KIND):
        before = len(tried)
        item = take(skipping)
        if item is not None:
            return item
        if len(tried) == before:  # nothing unlocked is left
            break
    return None


def _claim_held_item(
    *, user: User, project: Project, lang: str, kinds: list[str]
) -> tuple[str, WorkItem] | None:
    """PostgreSQL, when every item with a free slot is held by another transaction: a
    busy item must not look like "no work", so wait for the best one — once, and for
    that one row only, while holding no row lock.

    Not a blocking ``SELECT … FOR UPDATE LIMIT 1``: one that waits for a row which then
    no longer matches keeps it locked and goes on to wait for the next, and a claim
    holding one item while waiting for another deadlocked with ``tree_halt`` pausing
    all items of a tree. The conditional UPDATE waits for one row; a claim that waits
    at most once, holding nothing, can never be part of a deadlock.
    """
    for kind in kinds:
        if kind == Kind.INITIAL_PROMPT:
            continue
        item = _claimable(user=user, project=project, lang=lang, kind=kind).first()
        if item is not None:
            return (kind, item) if _take_slot(item.pk) else None
    return None


def assignment_claim_next(
    *, user: User, project: Project, lang: str, kind: str, rng: random.Random | None = None
) -> Assignment | None:
    """Reserve the next piece of work for ``user``, or return None when there is none.

    Never offers a person their own message, a ranking group holding their reply, or
    an item they already hold, did or skipped.
    """
    if lang not in project.languages:
        raise ValidationFailed(
            "lang", "invalid_language", f"{project.slug} does not collect {lang!r}."
        )
    if kind != ANY_KIND and kind not in Kind.values:
        raise ValidationFailed("kind", "invalid_kind", f"Unknown kind {kind!r}.")
    if not project.is_active:
        raise Conflict("project_inactive", f"{project.slug} is not collecting data.")
    rng = rng or random.Random()
    kinds = _weighted_kind_order(project.assignment_weights, rng) if kind == ANY_KIND else [kind]
    now = timezone.now()
    with transaction.atomic():
        _check_claim_limits(user=user, project=project, now=now)
        taken: tuple[str, WorkItem | None] | None = None
        # Every kind without waiting first; free work of another kind beats waiting.
        for candidate_kind in kinds:
            if candidate_kind == Kind.INITIAL_PROMPT:
                if _initial_prompt_available(project, lang):
                    taken = (candidate_kind, None)
                    break
            else:
                item = _claim_item(user=user, project=project, lang=lang, kind=candidate_kind)
                if item is not None:
                    taken = (candidate_kind, item)
                    break
        if taken is None and settings.IS_POSTGRESQL:
            taken = _claim_held_item(user=user, project=project, lang=lang, kinds=kinds)
        if taken is None:
            return None
        candidate_kind, item = taken
        candidate_ids = list(item.candidate_ids) if item is not None else []
        rng.shuffle(candidate_ids)
        return Assignment.objects.create(
            project=project,
            user=user,
            work_item=item,
            kind=candidate_kind,
            lang=lang,
            expires_at=now + timedelta(minutes=project.reservation_minutes),
            candidate_ids=candidate_ids,
        )


# --- Submitting -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    assignment: Assignment
    message: Message | None
    replayed_response: dict[str, Any] | None = None


def _validate_text(*, user: User, project: Project, text: Any, now: Any) -> str:
    if not isinstance(text, str):
        raise ValidationFailed("text", "required", "This assignment needs a text.")
    text = text.strip()
    if not text:
        raise ValidationFailed("text", "blank", "The text may not be blank.")
    if len(text) > project.max_message_length:
        raise ValidationFailed(
            "text",
            "too_long",
            f"At most {project.max_message_length} characters; this has {len(text)}.",
        )
    window_start = now - timedelta(hours=project.duplicate_text_window_hours)
    if Message.objects.filter(
        author=user, text_digest=text_digest(text), created_at__gte=window_start
    ).exists():
        raise ValidationFailed("text", "duplicate_text", "You already wrote this text recently.")
    recent = Message.objects.filter(author=user, created_at__gte=now - timedelta(minutes=1)).count()
    if recent >= project.replies_per_minute:
        raise RateLimited(
            "rate_limited",
            f"At most {project.replies_per_minute} messages a minute.",
            retry_after_seconds=60,
        )
    return text


def _validate_labels(*, assignment: Assignment, project: Project, labels: Any) -> dict[str, float]:
    if not isinstance(labels, dict) or not labels:
        raise ValidationFailed("labels", "required", "This assignment needs labels.")
    specs = {spec["name"]: spec for spec in label_specs_for(project, assignment.kind)}
    values: dict[str, float] = {}
    for name, raw in labels.items():
        if name not in specs:
            raise ValidationFailed(
                f"labels.{name}", "unknown_label", f"{name!r} is not asked here."
            )
        if raw is None:
            continue
        if isinstance(raw, bool):
            value = 1.0 if raw else 0.0
        elif isinstance(raw, int | float):
            value = float(raw)
        else:
            raise ValidationFailed(f"labels.{name}", "invalid_value", "A label value is a number.")
        if not 0.0 <= value <= 1.0:
            raise ValidationFailed(
                f"labels.{name}", "out_of_range", "A label value lies between 0 and 1."
            )
        if specs[name]["kind"] == "flag" and value not in (0.0, 1.0):
            raise ValidationFailed(f"labels.{name}", "invalid_value", "A flag is 0 or 1.")
        values[name] = value
    for name, spec in specs.items():
        if spec.get("mandatory") and name not in values:
            raise ValidationFailed(f"labels.{name}", "required", f"{name!r} must be answered.")
    return values


def _validate_ranking(*, assignment: Assignment, ranking: Any) -> list[int]:
    if not isinstance(ranking, list) or not all(
        isinstance(value, int) and not isinstance(value, bool) for value in ranking
    ):
        raise ValidationFailed("ranking", "required", "A ranking is a list of message ids.")
    if len(set(ranking)) != len(ranking) or sorted(ranking) != sorted(assignment.candidate_ids):
        raise ValidationFailed(
            "ranking",
            "not_a_permutation",
            "Rank every offered reply exactly once, best first.",
        )
    return list(ranking)


def _reacquire_expired(assignment: Assignment) -> None:
    """An expired reservation may still be honoured if its item has a free slot."""
    taken = 0
    if assignment.work_item_id is None:
        taken = 1
    else:
        taken = WorkItem.objects.filter(
            pk=assignment.work_item_id, state=WorkItemState.OPEN, open_slots__gt=0
        ).update(open_slots=F("open_slots") - 1)
    if not taken:
        raise Conflict(
            "assignment_expired", "This assignment expired and its place was taken by someone else."
        )
    try:
        with transaction.atomic():
            Assignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.ACTIVE)
    except IntegrityError as error:
        raise Conflict("assignment_expired", "This assignment expired.") from error
    assignment.state = AssignmentState.ACTIVE


def _complete_item(item_id: int) -> WorkItem:
    done = WorkItem.objects.filter(pk=item_id, completed_count__lt=F("required")).update(
        completed_count=F("completed_count") + 1
    )
    if not done:  # the constraints make this unreachable; fail loudly, never store a surplus
        raise Conflict("work_item_full", "This work item already has all it needs.")
    item = WorkItem.objects.get(pk=item_id)
    if item.completed_count >= item.required and item.state != WorkItemState.CLOSED:
        item.state = WorkItemState.CLOSED
        item.save(update_fields=["state"])
    return item


def assignment_submit(
    *,
    user: User,
    assignment_id: int,
    payload: Mapping[str, Any],
    idempotency_key: str | None = None,
    render: Callable[[SubmitResult], dict[str, Any]] | None = None,
) -> SubmitResult:
    """Store one submission exactly once.

    With an idempotency key the first answer (``render`` of the result) is stored in
    the same transaction and replayed for any retry with the same key. A refused
    submission rolls back completely and leaves the assignment open.
    """
    reference = (
        Assignment.objects.filter(pk=assignment_id, user=user).select_related("work_item").first()
    )
    if reference is None:
        raise NotFound("assignment_not_found", "No such assignment of yours.")
    now = timezone.now()
    with transaction.atomic():
        tree: Tree | None = None
        if reference.work_item is not None:
            tree = (
                Tree.objects.select_for_update(no_key=True, of=("self",))
                .select_related("project")
                .get(pk=reference.work_item.tree_id)
            )
        assignment = (
            Assignment.objects.select_for_update(no_key=True, of=("self",))
            .select_related("project")
            .get(pk=assignment_id)
        )
        if idempotency_key:
            record = IdempotencyRecord.objects.filter(user=user, key=idempotency_key).first()
            if record is not None:
                if record.assignment_id != assignment.pk:
                    raise ArborError(
                        "idempotency_key_reused",
                        "This Idempotency-Key was used for another assignment.",
                        status_code=422,
                    )
                return SubmitResult(assignment, assignment.result_message, record.response)
        if assignment.state == AssignmentState.EXPIRED:
            _reacquire_expired(assignment)
        elif assignment.state != AssignmentState.ACTIVE:
            raise Conflict(
                "assignment_not_active",
                f"This assignment is {assignment.state}.",
                assignment_state=assignment.state,
            )
        project = assignment.project
        message = _apply_submission(
            user=user, assignment=assignment, project=project, tree=tree, payload=payload, now=now
        )
        assignment.state = AssignmentState.SUBMITTED
        assignment.finished_at = now
        assignment.result_message = message
        assignment.save(update_fields=["state", "finished_at", "result_message"])
        audit_record(
            action=AuditAction.ASSIGNMENT_SUBMITTED,
            target_type="assignment",
            target_id=assignment.pk,
            actor_id=user.pk,
            project_id=project.pk,
            after={"kind": assignment.kind, "message": message.pk if message else None},
        )
        emit(
            AssignmentSubmitted(
                assignment_id=assignment.pk,
                user_id=user.pk,
                project_id=project.pk,
                kind=assignment.kind,
                tree_id=tree.pk if tree is not None else (message.tree_id if message else None),
                message_id=message.pk if message else None,
            )
        )
        result = SubmitResult(assignment, message)
        if idempotency_key:
            response = render(result) if render else {"assignment": assignment.pk}
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        user=user, key=idempotency_key, assignment=assignment, response=response
                    )
            except IntegrityError as error:
                raise Conflict(
                    "idempotency_key_in_use", "This Idempotency-Key is being used concurrently."
                ) from error
        return result


def _apply_submission(
    *,
    user: User,
    assignment: Assignment,
    project: Project,
    tree: Tree | None,
    payload: Mapping[str, Any],
    now: Any,
) -> Message | None:
    kind = assignment.kind
    if kind == Kind.INITIAL_PROMPT:
        text = _validate_text(user=user, project=project, text=payload.get("text"), now=now)
        return growth.tree_create_from_prompt(
            project=project, author_id=user.pk, lang=assignment.lang, text=text
        )
    assert tree is not None and assignment.work_item_id is not None
    item = WorkItem.objects.select_related("target").get(pk=assignment.work_item_id)
    if item.state == WorkItemState.CLOSED or tree.state == TreeState.HALTED:
        raise Conflict("work_item_closed", "This work is no longer needed.")
    if kind in REPLY_KINDS:
        text = _validate_text(user=user, project=project, text=payload.get("text"), now=now)
        if tree.state != TreeState.GROWING or item.target.is_deleted:
            raise Conflict("work_item_closed", "This conversation no longer takes replies.")
        message = growth.message_create_reply(
            tree=tree, parent=item.target, author_id=user.pk, text=text
        )
        _complete_item(item.pk)
        growth.tree_advance_locked(tree)
        return message
    if kind in LABEL_KINDS:
        values = _validate_labels(
            assignment=assignment, project=project, labels=payload.get("labels")
        )
        target = Message.objects.select_for_update(no_key=True).get(pk=item.target_id)
        LabelVote.objects.bulk_create(
            [
                LabelVote(message=target, user=user, assignment=assignment, label=name, value=value)
                for name, value in sorted(values.items())
            ]
        )
        target.review_count = F("review_count") + 1
        target.save(update_fields=["review_count"])
        target.refresh_from_db(fields=["review_count"])
        completed = _complete_item(item.pk)
        if completed.completed_count >= completed.required and target.review_result is None:
            growth.message_review_finish(tree=tree, message=target)
        return None
    if kind in RANK_KINDS:
        ranking = _validate_ranking(assignment=assignment, ranking=payload.get("ranking"))
        current = sorted(
            Message.objects.filter(
                parent_id=item.target_id, is_deleted=False, review_result=True
            ).values_list("pk", flat=True)
        )
        if current != sorted(item.candidate_ids):
            raise Conflict(
                "candidates_changed",
                "The replies to rank changed since this assignment was made; request a new one.",
                current_candidates=current,
            )
        RankingVote.objects.create(
            parent_id=item.target_id,
            work_item_id=item.pk,
            user=user,
            assignment=assignment,
            ranking=ranking,
        )
        completed = _complete_item(item.pk)
        if completed.completed_count >= completed.required:
            # Every ballot is in: score the group at once (Celery, after commit). The
            # tree's scoring scores it anyway; this makes results show sooner.
            enqueue(SCORE_RANKING_GROUP_TASK, item.target_id, item.pk)
        growth.tree_advance_locked(tree)
        return None
    raise ValidationFailed("kind", "invalid_kind", f"Unknown kind {kind!r}.")


# --- Skipping and expiring ------------------------------------------------------------


def assignment_skip(*, user: User, assignment_id: int, reason: str = "") -> Assignment:
    """Give the slot back; the person is never offered this item again."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(no_key=True)
            .filter(pk=assignment_id, user=user)
            .first()
        )
        if assignment is None:
            raise NotFound("assignment_not_found", "No such assignment of yours.")
        if assignment.state != AssignmentState.ACTIVE:
            raise Conflict(
                "assignment_not_active",
                f"This assignment is {assignment.state}.",
                assignment_state=assignment.state,
            )
        assignment.state = AssignmentState.SKIPPED
        assignment.finished_at = timezone.now()
        assignment.skip_reason = reason[:500]
        assignment.save(update_fields=["state", "finished_at", "skip_reason"])
        if assignment.work_item_id is not None:
            WorkItem.objects.filter(pk=assignment.work_item_id).update(
                open_slots=F("open_slots") + 1
            )
        audit_record(
            action=AuditAction.ASSIGNMENT_SKIPPED,
            target_type="assignment",
            target_id=assignment.pk,
            actor_id=user.pk,
            project_id=assignment.project_id,
            reason=assignment.skip_reason,
        )
        tree_id = (
            WorkItem.objects.filter(pk=assignment.work_item_id)
            .values_list("tree_id", flat=True)
            .first()
            if assignment.work_item_id is not None
            else None
        )
        emit(
            AssignmentSkipped(
                assignment_id=assignment.pk,
                user_id=user.pk,
                project_id=assignment.project_id,
                kind=assignment.kind,
                tree_id=tree_id,
            )
        )
        return assignment


def assignments_expire_overdue(*, now: Any = None, batch_size: int = 500) -> int:
    """Expire reservations past their time and give their slots back to the pool."""
    now = now or timezone.now()
    expired = 0
    overdue = list(
        Assignment.objects.filter(state=AssignmentState.ACTIVE, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", "user_id", "work_item_id", "project_id")[:batch_size]
    )
    for assignment_id, user_id, work_item_id, project_id in overdue:
        with transaction.atomic():
            # The conditional update decides: a concurrent submit or skip wins cleanly.
            changed = Assignment.objects.filter(
                pk=assignment_id, state=AssignmentState.ACTIVE
            ).update(state=AssignmentState.EXPIRED, finished_at=now)
            if not changed:
                continue
            if work_item_id is not None:
                WorkItem.objects.filter(pk=work_item_id).update(open_slots=F("open_slots") + 1)
            audit_record(
                action=AuditAction.ASSIGNMENT_EXPIRED,
                target_type="assignment",
                target_id=assignment_id,
                project_id=project_id,
            )
            send_user_event_on_commit(
                user_id, "assignment.expired", {"assignment_id": assignment_id}
            )
            expired += 1
    return expired
