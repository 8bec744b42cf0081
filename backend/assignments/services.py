"""Claiming, submitting, skipping and expiring assignments.

The guarantee every function here keeps: a work item never collects more
completions than it needs and nobody holds or completes one item twice. It is
enforced by the database, not by timing:

- a claim takes a slot with ``UPDATE … SET open_slots = open_slots - 1 WHERE
  open_slots > 0`` and only the row count decides (on PostgreSQL the candidate row is
  also picked with ``FOR NO KEY UPDATE SKIP LOCKED`` so claimers spread over items
  instead of queueing on one; on SQLite transactions are IMMEDIATE and so serialised);
- a completion is ``UPDATE … SET completed_count = completed_count + 1 WHERE
  completed_count < required``;
- check constraints (``open_slots + completed_count <= required``) and a partial
  unique index (one live assignment per person and item) back both up.

The request path is written for the database (``backend.assignments.claims``): a
claim is one statement on PostgreSQL, a label submit eight, and both answers are
drawn from what these statements returned. What each kind validates and stores is its
spec's (``backend.assignments.kinds``).

Lock order: tree → assignment → work item (see ``backend.assignments.needs``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Subquery
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments import claims
from backend.assignments.claims import Turn
from backend.assignments.gates import (
    KindLocked,
    is_substituted,
    kinds_locked_for,
    substituted_shown,
    substituted_submit,
    substitutes,
)
from backend.assignments.kinds import KindSpec, SubmitContext, all_kinds, get_kind
from backend.assignments.metrics import claims_counted, submits_counted
from backend.assignments.models import (
    Assignment,
    AssignmentState,
    IdempotencyRecord,
    WorkItem,
    WorkItemState,
)
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import (
    ArborError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from backend.common.events import AssignmentSkipped, AssignmentSubmitted, emit
from backend.common.prepared import execute_prepared, model_columns, model_from_row
from backend.projects.models import Project
from backend.realtime.events import send_user_event_on_commit
from backend.trees.models import Message, Tree, TreeState

ANY_KIND = "any"
BIGINT_MAX = 2**63 - 1
IDEMPOTENCY_KEY_MAX_LENGTH = 200


@dataclass
class Shown:
    """What an assignment shows, as the claim or submit read it."""

    tree_id: int | None
    conversation: list[Turn] = field(default_factory=list)
    candidates: list[Turn] = field(default_factory=list)


@dataclass
class ClaimResult:
    assignment: Assignment
    shown: Shown


def kinds_in_weighted_order(weights: Mapping[str, float], rng: random.Random) -> list[str]:
    """A random order of the registered kinds where heavier kinds tend to come first
    (weighted sampling without replacement, Efraimidis–Spirakis keys). A kind the
    project does not weigh gets its spec's default weight; weight 0 leaves it out."""
    keyed = []
    for spec in all_kinds():
        weight = float(weights.get(spec.name, spec.default_weight))
        if weight > 0:
            keyed.append((rng.random() ** (1.0 / weight), spec.name))
    return [kind for _, kind in sorted(keyed, reverse=True)]


def _segments(kinds: list[str]) -> list[tuple[KindSpec | None, list[str]]]:
    """The kinds in order, runs of work-item kinds grouped (one claim statement each),
    kinds without work items on their own: [(None, [kinds…]) | (spec, [spec.name])]."""
    segments: list[tuple[KindSpec | None, list[str]]] = []
    for name in kinds:
        spec = get_kind(name)
        assert spec is not None
        if not spec.uses_work_item:
            segments.append((spec, [name]))
        elif segments and segments[-1][0] is None:
            segments[-1][1].append(name)
        else:
            segments.append((None, [name]))
    return segments


def _limits_refuse(*, project: Project, open_count: int, recent_count: int, banned: bool) -> None:
    if banned:
        raise Forbidden("banned", "Your account is banned.")
    if open_count >= project.max_open_assignments:
        raise Conflict(
            "open_assignment_limit",
            f"You already hold {open_count} open assignments; finish or skip one first.",
        )
    if recent_count >= project.requests_per_minute:
        raise RateLimited(
            "rate_limited",
            f"At most {project.requests_per_minute} assignment requests a minute.",
            retry_after_seconds=60,
        )


def _limits_check(*, user: User, project: Project, now: datetime) -> None:
    """The same limits the claim statement checks, for a claim that starts with a kind
    without work items: one query."""
    counts = Assignment.objects.filter(user=user).aggregate(
        open_count=_count(state=AssignmentState.ACTIVE, expires_at__gt=now),
        recent_count=_count(created_at__gte=now - timedelta(minutes=1)),
    )
    _limits_refuse(
        project=project,
        open_count=counts["open_count"],
        recent_count=counts["recent_count"],
        banned=False,
    )


def _count(**conditions: Any) -> Count:
    return Count("pk", filter=Q(**conditions))


def assignment_claim_next(
    *, user: User, project: Project, lang: str, kind: str, rng: random.Random | None = None
) -> Assignment | None:
    """``assignment_claim`` for callers that need only the assignment."""
    result = assignment_claim(user=user, project=project, lang=lang, kind=kind, rng=rng)
    return result.assignment if result is not None else None


@claims_counted
def assignment_claim(
    *, user: User, project: Project, lang: str, kind: str, rng: random.Random | None = None
) -> ClaimResult | None:
    """Reserve the next piece of work for ``user``, or return None when there is none.

    Never offers a person their own message, a ranking group holding their reply, or
    an item they already hold, did or skipped (the exclusions written with each item).
    """
    if lang not in project.languages:
        raise ValidationFailed(
            "lang", "invalid_language", f"{project.slug} does not collect {lang!r}."
        )
    if kind != ANY_KIND and get_kind(kind) is None:
        raise ValidationFailed("kind", "invalid_kind", f"Unknown kind {kind!r}.")
    if not project.is_active:
        raise Conflict("project_inactive", f"{project.slug} is not collecting data.")
    rng = rng or random.Random()
    kinds = kinds_in_weighted_order(project.assignment_weights, rng) if kind == ANY_KIND else [kind]
    # Kinds a gate locks for this person (qualifications), decided in Python before
    # the claim statement; free when the project locks nothing.
    locked = kinds_locked_for(user=user, project=project, kinds=kinds)
    if locked:
        if kind != ANY_KIND:
            raise KindLocked(kind)
        kinds = [name for name in kinds if name not in locked]
    now = timezone.now()
    expires = now + timedelta(minutes=project.reservation_minutes)
    # Work handed out in place of real work (gold items), decided in Python before the
    # claim statement: an ordinary claim does not pay for it.
    for substitute in substitutes():
        picked = substitute.pick(user=user, project=project, lang=lang, kinds=kinds, rng=rng)
        if picked is None:
            continue
        if user.is_banned:
            raise Forbidden("banned", "Your account is banned.")
        with transaction.atomic():
            _limits_check(user=user, project=project, now=now)
            assignment, conversation, candidates = substitute.create(
                picked=picked, user=user, project=project, lang=lang, expires=expires
            )
        return ClaimResult(assignment, Shown(None, conversation, candidates))
    with transaction.atomic():
        limits_checked = False
        item_kinds: list[str] = []
        for spec, names in _segments(kinds):
            if spec is not None:  # work without an item: available, or on to the next
                if not limits_checked:
                    _limits_check(user=user, project=project, now=now)
                    limits_checked = True
                if spec.is_available(project=project, lang=lang):
                    assignment = Assignment.objects.create(
                        project=project,
                        user=user,
                        kind=spec.name,
                        lang=lang,
                        expires_at=expires,
                        candidate_ids=[],
                    )
                    return ClaimResult(assignment, Shown(tree_id=None))
                continue
            item_kinds.extend(names)
            result = _claim_item(
                user=user,
                project=project,
                lang=lang,
                kinds=names,
                now=now,
                expires=expires,
                check_limits=not limits_checked,
            )
            limits_checked = True
            if result is not None:
                return result
        if settings.IS_POSTGRESQL and item_kinds:
            return _claim_busy_item(
                user=user, project=project, lang=lang, kinds=item_kinds, expires=expires
            )
        return None


def _own_candidates(kind: str, work_item_id: int | None, shown: Shown) -> Shown:
    """``shown`` with the candidates of a kind that draws its own (arena battles)."""
    spec = get_kind(kind)
    if spec is None or not spec.has_own_candidates or work_item_id is None:
        return shown
    return Shown(
        tree_id=shown.tree_id,
        conversation=shown.conversation,
        candidates=spec.own_candidates(work_item_id=work_item_id),
    )


def _claim_item(
    *,
    user: User,
    project: Project,
    lang: str,
    kinds: list[str],
    now: datetime,
    expires: datetime,
    check_limits: bool,
) -> ClaimResult | None:
    """One claim statement for ``kinds`` (PostgreSQL: it checks the limits itself,
    every time, at no extra cost; SQLite: ``check_limits`` says whether to)."""
    if settings.IS_POSTGRESQL:
        claimed = claims.claim_postgresql(
            user_id=user.pk,
            project_id=project.pk,
            lang=lang,
            kinds=kinds,
            now=now,
            minute_ago=now - timedelta(minutes=1),
            expires=expires,
            max_open=project.max_open_assignments,
            per_minute=project.requests_per_minute,
        )
        if claimed.assignment is None:
            _limits_refuse(
                project=project,
                open_count=claimed.open_count,
                recent_count=claimed.recent_count,
                banned=claimed.is_banned,
            )
            return None
        claimed.assignment.project = project
        claimed.assignment.user = user
        shown = Shown(claimed.tree_id, claimed.conversation, claimed.candidates)
        shown = _own_candidates(claimed.assignment.kind, claimed.assignment.work_item_id, shown)
        return ClaimResult(claimed.assignment, shown)
    # SQLite: IMMEDIATE transactions run one at a time, so a plain pick is safe.
    if check_limits:
        _limits_check(user=user, project=project, now=now)
    item = claims.claimable(user_id=user.pk, project_id=project.pk, lang=lang, kinds=kinds).first()
    if item is None or not claims.slot_take(item.pk):
        return None
    return _assignment_for_item(user=user, project=project, lang=lang, item=item, expires=expires)


def _claim_busy_item(
    *, user: User, project: Project, lang: str, kinds: list[str], expires: datetime
) -> ClaimResult | None:
    item = claims.busy_item_take(
        user_id=user.pk, project_id=project.pk, lang=lang, kinds=kinds, tried=[]
    )
    if item is None:
        return None
    return _assignment_for_item(user=user, project=project, lang=lang, item=item, expires=expires)


def _assignment_for_item(
    *, user: User, project: Project, lang: str, item: WorkItem, expires: datetime
) -> ClaimResult:
    candidate_ids = list(item.candidate_ids)
    random.shuffle(candidate_ids)
    assignment = Assignment.objects.create(
        project=project,
        user=user,
        work_item=item,
        kind=item.kind,
        lang=lang,
        expires_at=expires,
        candidate_ids=candidate_ids,
    )
    shown = Shown(
        tree_id=item.tree_id,
        conversation=claims.conversation_turns(item.target_id),
        candidates=claims.candidate_turns(candidate_ids),
    )
    return ClaimResult(assignment, _own_candidates(item.kind, item.pk, shown))


# --- Submitting -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    assignment: Assignment
    message: Message | None
    shown: Shown | None = None
    # A retry with the same Idempotency-Key: the exact body first answered.
    replayed_body: bytes | None = None
    # What the kind reveals once the answer is in (``KindSpec.outcome``).
    outcome: dict[str, Any] | None = None


def request_digest(payload: Mapping[str, Any]) -> str:
    """What identifies a submission's content, whatever the order of its keys."""
    import json

    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def idempotency_key_check(key: str | None) -> str | None:
    """The key as stored, or a 400: printable, at most 200 characters (never cut: two
    keys sharing a prefix must not collide)."""
    if key is None or key == "":
        return None
    if not key.isprintable() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationFailed(
            "Idempotency-Key",
            "invalid_idempotency_key",
            "An Idempotency-Key is printable text of at most "
            f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
        )
    return key


_TREE_OF_ASSIGNMENT_POSTGRESQL = """
SELECT t.*,
  (WITH RECURSIVE path(id, parent_id, role, text, depth) AS (
     SELECT m.id, m.parent_id, m.role, m.text, m.depth FROM trees_message m WHERE m.id = w.target_id
     UNION ALL
     SELECT m.id, m.parent_id, m.role, m.text, m.depth FROM trees_message m
     JOIN path p ON m.id = p.parent_id)
   SELECT jsonb_agg(jsonb_build_array(id, role, text) ORDER BY depth) FROM path)
    AS shown_conversation,
  (SELECT jsonb_agg(jsonb_build_array(m.id, m.role, m.text) ORDER BY c.position)
     FROM jsonb_array_elements_text(a.candidate_ids) WITH ORDINALITY c(id, position)
     JOIN trees_message m ON m.id = c.id::bigint) AS shown_candidates
FROM assignments_assignment a
JOIN assignments_workitem w ON w.id = a.work_item_id
JOIN trees_tree t ON t.id = w.tree_id
WHERE a.id = %(assignment)s AND a.user_id = %(user)s
FOR NO KEY UPDATE OF t
"""


def _lock_tree_of(*, assignment_id: int, user_id: int) -> tuple[Tree | None, Shown | None]:
    """The tree of the assignment, locked (first in the lock order), and what the
    assignment shows, read in the same statement on PostgreSQL."""
    if settings.IS_POSTGRESQL:
        with connection.cursor() as cursor:
            execute_prepared(
                cursor,
                name="arbor_tree_of_assignment",
                sql=_TREE_OF_ASSIGNMENT_POSTGRESQL,
                types={"assignment": "bigint", "user": "bigint"},
                params={"assignment": assignment_id, "user": user_id},
            )
            columns = [column[0] for column in cursor.description]
            row = cursor.fetchone()
        if row is None:
            return None, None
        values = dict(zip(columns, row, strict=True))
        conversation, candidates = values.pop("shown_conversation"), values.pop("shown_candidates")
        fields = [field.attname for field in Tree._meta.concrete_fields]
        tree = Tree.from_db(connection.alias, fields, [values[name] for name in fields])
        tree.project = _project(tree.project_id)  # shared, read-only: no query
        return tree, Shown(
            tree_id=tree.pk,
            conversation=claims.turns(conversation),
            candidates=claims.turns(candidates),
        )
    found = (
        Tree.objects.select_for_update(no_key=True, of=("self",))
        .filter(work_items__assignments__pk=assignment_id, work_items__assignments__user_id=user_id)
        .first()
    )
    return found, None


@submits_counted
def assignment_submit(
    *,
    user: User,
    assignment_id: int,
    payload: Mapping[str, Any],
    idempotency_key: str | None = None,
    render: Callable[[SubmitResult], bytes] | None = None,
) -> SubmitResult:
    """Store one submission exactly once.

    With an idempotency key the first answer (``render`` of the result, as the exact
    bytes sent) is stored in the same transaction and replayed for any retry with the
    same key and the same content; the same key with other content answers 422
    ``idempotency_key_reused``. A refused submission rolls back completely and leaves
    the assignment open.
    """
    key = idempotency_key_check(idempotency_key)
    if not 0 < assignment_id <= BIGINT_MAX:  # no such row can exist
        raise NotFound("assignment_not_found", "No such assignment of yours.")
    digest = request_digest(payload) if key else ""
    now = timezone.now()
    with transaction.atomic():
        tree, shown = _lock_tree_of(assignment_id=assignment_id, user_id=user.pk)
        assignment = _lock_assignment(assignment_id=assignment_id, user_id=user.pk, key=key or "")
        if assignment is None:
            raise NotFound("assignment_not_found", "No such assignment of yours.")
        if assignment.user_is_banned:  # type: ignore[attr-defined]
            raise Forbidden("banned", "Your account is banned.")
        if key and assignment.replay_assignment is not None:  # type: ignore[attr-defined]
            return _replay(assignment, digest)
        if assignment.state == AssignmentState.EXPIRED:
            _reacquire_expired(assignment)
        elif assignment.state != AssignmentState.ACTIVE:
            raise Conflict(
                "assignment_not_active",
                f"This assignment is {assignment.state}.",
                assignment_state=assignment.state,
            )
        project = _project_of(assignment, tree)
        spec = get_kind(assignment.kind)
        if spec is None:
            raise ValidationFailed("kind", "invalid_kind", f"Unknown kind {assignment.kind!r}.")
        item = assignment.work_item
        substituted = is_substituted(assignment)
        if spec.uses_work_item and not substituted:
            assert tree is not None and item is not None
            if item.state == WorkItemState.CLOSED or tree.state == TreeState.HALTED:
                raise Conflict("work_item_closed", "This work is no longer needed.")
        context = SubmitContext(
            user=user, assignment=assignment, project=project, tree=tree, item=item, now=now
        )
        message: Message | None = None
        if substituted:  # a gold item: scored by its substitute, never stored as a vote
            substituted_submit(context, spec, payload)
        else:
            message = spec.apply(context, spec.validate(context, payload))
        Assignment.objects.filter(pk=assignment.pk).update(
            state=AssignmentState.SUBMITTED, finished_at=now, result_message=message
        )
        assignment.state = AssignmentState.SUBMITTED
        assignment.finished_at = now
        assignment.result_message = message
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
                is_prompt=message is not None and message.parent_id is None,
                is_substitute=substituted,
            )
        )
        if shown is None:
            shown = assignment_shown(assignment)
        else:
            shown = _own_candidates(assignment.kind, assignment.work_item_id, shown)
        result = SubmitResult(assignment, message, shown, outcome=spec.outcome(assignment))
        if key:
            body = render(result) if render else b"{}"
            if not _idempotency_record_insert(
                user_id=user.pk,
                key=key,
                assignment_id=assignment.pk,
                digest=digest,
                body=body.decode(),
                now=now,
            ):
                raise Conflict(
                    "idempotency_key_in_use", "This Idempotency-Key is being used concurrently."
                )
        return result


def _idempotency_record_insert(
    *, user_id: int, key: str, assignment_id: int, digest: str, body: str, now: datetime
) -> bool:
    """Store the first answer; False when the key is taken (a concurrent submit with the
    same key got there first), without a savepoint: ``ON CONFLICT DO NOTHING``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assignments_idempotencyrecord"
            " (user_id, key, assignment_id, request_digest, body, response, created_at)"
            " VALUES (%s, %s, %s, %s, %s, NULL, %s)"
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, assignment_id, digest, body, now],
        )
        return cursor.fetchone() is not None


def _assignment_lock_statement() -> str:
    return f"""
SELECT {model_columns(Assignment, "a")}, {model_columns(WorkItem, "w")},
  {model_columns(Message, "m")}, u.is_banned AS user_is_banned,
  r.assignment_id AS replay_assignment, r.request_digest AS replay_digest,
  r.body AS replay_body
FROM assignments_assignment a
JOIN accounts_user u ON u.id = a.user_id
LEFT JOIN assignments_workitem w ON w.id = a.work_item_id
LEFT JOIN trees_message m ON m.id = w.target_id
LEFT JOIN assignments_idempotencyrecord r ON r.user_id = a.user_id AND r.key = %(key)s
WHERE a.id = %(assignment)s AND a.user_id = %(user)s
FOR NO KEY UPDATE OF a
"""


def _lock_assignment(*, assignment_id: int, user_id: int, key: str) -> Assignment | None:
    """The person's assignment, locked (after its tree), with its work item, the item's
    message, whether the person is banned and the idempotency record of ``key``: one
    prepared statement on PostgreSQL (the ORM's on SQLite, where the raw rows would need
    its type conversions). The extra facts are attributes of the assignment."""
    if not settings.IS_POSTGRESQL:
        records = IdempotencyRecord.objects.filter(user_id=user_id, key=key)
        return (
            Assignment.objects.select_related("work_item__target")
            .filter(pk=assignment_id, user_id=user_id)
            .annotate(
                user_is_banned=F("user__is_banned"),
                replay_assignment=Subquery(records.values("assignment_id")[:1]),
                replay_digest=Subquery(records.values("request_digest")[:1]),
                replay_body=Subquery(records.values("body")[:1]),
            )
            .first()
        )
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            name="arbor_assignment_lock",
            sql=_assignment_lock_statement(),
            types={"key": "text", "assignment": "bigint", "user": "bigint"},
            params={"key": key, "assignment": assignment_id, "user": user_id},
        )
        columns = [column[0] for column in cursor.description]
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(columns, row, strict=True))
    assignment: Any = model_from_row(Assignment, "a", values)
    item = model_from_row(WorkItem, "w", values)
    if item is not None:
        item.target = model_from_row(Message, "m", values)
    assignment.work_item = item
    assignment.user_is_banned = values["user_is_banned"]
    assignment.replay_assignment = values["replay_assignment"]
    assignment.replay_digest = values["replay_digest"]
    assignment.replay_body = values["replay_body"]
    return assignment


def _replay(assignment: Assignment, digest: str) -> SubmitResult:
    stored_digest = assignment.replay_digest  # type: ignore[attr-defined]
    if assignment.replay_assignment != assignment.pk or (  # type: ignore[attr-defined]
        stored_digest and stored_digest != digest
    ):
        raise ArborError(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another submission.",
            status_code=422,
        )
    body = str(assignment.replay_body or "")  # type: ignore[attr-defined]
    if not body:  # stored before answers were kept as bytes
        import json

        record = IdempotencyRecord.objects.get(user_id=assignment.user_id, assignment=assignment)
        body = json.dumps(record.response)
    return SubmitResult(assignment, None, None, replayed_body=body.encode())


def _project(project_id: int) -> Project:
    from backend.projects.selectors import project_cached

    return project_cached(project_id=project_id)


def _project_of(assignment: Assignment, tree: Tree | None) -> Project:
    return tree.project if tree is not None else _project(assignment.project_id)


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


def assignment_shown(assignment: Assignment) -> Shown:
    """What an assignment shows, read again: for lists, skips, and submits on SQLite
    (on PostgreSQL the submit read it with the tree lock). A new prompt shows nothing
    yet (its tree is in the message)."""
    item = assignment.work_item
    if item is None:
        if is_substituted(assignment):
            conversation, candidates = substituted_shown(assignment)
            return Shown(tree_id=None, conversation=conversation, candidates=candidates)
        return Shown(tree_id=None)
    shown = Shown(
        tree_id=item.tree_id,
        conversation=claims.conversation_turns(item.target_id),
        candidates=claims.candidate_turns(list(assignment.candidate_ids)),
    )
    return _own_candidates(assignment.kind, item.pk, shown)


__all__: Sequence[str] = (
    "ANY_KIND",
    "ClaimResult",
    "Shown",
    "SubmitResult",
    "assignment_claim",
    "assignment_claim_next",
    "assignment_shown",
    "assignment_skip",
    "assignment_submit",
    "assignments_expire_overdue",
)


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
