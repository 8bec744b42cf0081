"""Writes: training items (audited), the tour, practice answers and qualifications.

Practice answers are checked with the kind's own ``validate`` (the same rules as a real
submit) and compared with the known answer; only whether they matched is kept
(``PracticeRecord``) — never a message, a label vote or a ranking vote.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.kinds import KindSpec, SubmitContext, get_kind
from backend.assignments.models import Assignment
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, NotFound, ValidationFailed
from backend.onboarding import scoring
from backend.onboarding.models import (
    GOLD_USES,
    PRACTICE_USES,
    GoldPause,
    GoldResult,
    PracticeRecord,
    QualificationAttempt,
    TourProgress,
    TourState,
    TrainingItem,
    TrainingUse,
)
from backend.onboarding.selectors import (
    REPLY_PRACTICE_KINDS,
    gold_items,
    is_training_kind,
    person_gates_forget,
    qualification_next_item,
    qualification_open_attempt,
    qualification_rule,
)
from backend.projects.models import Project

MAX_TURNS = 20
MAX_CANDIDATES = 10
MAX_EXPLANATION = 5000
ROLES = ("prompter", "assistant")
# Which turn a built-in review asks about, and whose replies a built-in ranking ranks:
# the item's conversation must end the way a real task of its kind would.
LAST_ROLE = {
    "label_initial_prompt": "prompter",
    "label_prompter_reply": "prompter",
    "label_assistant_reply": "assistant",
    "rank_assistant_replies": "prompter",
    "rank_prompter_replies": "assistant",
    "assistant_reply": "prompter",
    "prompter_reply": "assistant",
}
CANDIDATE_ROLE = {"rank_assistant_replies": "assistant", "rank_prompter_replies": "prompter"}
EDITABLE = (
    "kind",
    "lang",
    "conversation",
    "candidates",
    "answer_labels",
    "answer_ranking",
    "answer_text",
    "explanation",
    "use",
    "is_active",
)


def _spec(kind: Any) -> KindSpec:
    spec = get_kind(kind) if isinstance(kind, str) else None
    if spec is None or not is_training_kind(spec):
        raise ValidationFailed(
            "kind", "invalid_kind", "A training item is a review, a ranking or a reply kind."
        )
    return spec


def _turns(field: str, raw: Any, *, max_length: int, limit: int, role: str = "") -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(field, "required", "At least one message.")
    if len(raw) > limit:
        raise ValidationFailed(field, "too_many", f"At most {limit} messages.")
    turns = []
    for index, turn in enumerate(raw):
        if isinstance(turn, str):
            turn = {"text": turn}
        if not isinstance(turn, dict) or set(turn) - {"role", "text"}:
            raise ValidationFailed(f"{field}.{index}", "invalid", "A message is {role, text}.")
        turn_role = turn.get("role") or role
        if turn_role not in ROLES:
            raise ValidationFailed(
                f"{field}.{index}.role", "invalid_role", "The role is prompter or assistant."
            )
        text = turn.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed(f"{field}.{index}.text", "required", "A message needs text.")
        if len(text) > max_length:
            raise ValidationFailed(
                f"{field}.{index}.text", "too_long", f"At most {max_length} characters."
            )
        turns.append({"role": turn_role, "text": text.strip()})
    return turns


def _practice_context(
    *, user: User | None, project: Project, candidate_ids: list[int]
) -> SubmitContext:
    """What a kind's ``validate`` reads, for an answer that is never stored: an unsaved
    assignment offering ``candidate_ids``."""
    assignment = Assignment(project=project, candidate_ids=candidate_ids)
    return SubmitContext(
        user=user or User(),
        assignment=assignment,
        project=project,
        tree=None,
        item=None,
        now=timezone.now(),
    )


def _clean(project: Project, data: Mapping[str, Any]) -> dict[str, Any]:
    """A training item's fields, checked as a whole (the first problem is raised)."""
    spec = _spec(data.get("kind"))
    lang = data.get("lang")
    if lang not in project.languages:
        raise ValidationFailed("lang", "invalid_language", f"{project.slug} has no {lang!r}.")
    use = data.get("use", TrainingUse.PRACTICE)
    if use not in TrainingUse.values:
        raise ValidationFailed("use", "invalid", "practice, gold or both.")
    conversation = _turns(
        "conversation",
        data.get("conversation"),
        max_length=project.max_message_length,
        limit=MAX_TURNS,
    )
    expected = LAST_ROLE.get(spec.name)
    if expected and conversation[-1]["role"] != expected:
        raise ValidationFailed(
            "conversation", "wrong_last_role", f"This kind's conversation ends with a {expected}."
        )
    if spec.name == "label_initial_prompt" and len(conversation) != 1:
        raise ValidationFailed("conversation", "invalid", "A prompt review shows the prompt alone.")
    if spec.name == "label_prompter_reply" and len(conversation) < 3:
        raise ValidationFailed("conversation", "invalid", "A user reply follows an assistant.")
    explanation = data.get("explanation", "")
    if not isinstance(explanation, str) or len(explanation) > MAX_EXPLANATION:
        raise ValidationFailed(
            "explanation", "invalid", f"Text of at most {MAX_EXPLANATION} characters."
        )
    if use in PRACTICE_USES and not explanation.strip():
        raise ValidationFailed(
            "explanation", "required", "Practice shows an explanation after each answer."
        )
    cleaned: dict[str, Any] = {
        "kind": spec.name,
        "lang": lang,
        "use": use,
        "conversation": conversation,
        "explanation": explanation.strip(),
        "candidates": [],
        "answer_labels": {},
        "answer_ranking": [],
        "answer_text": "",
        "is_active": bool(data.get("is_active", True)),
    }
    if spec.name in REPLY_PRACTICE_KINDS:
        if use != TrainingUse.PRACTICE:
            raise ValidationFailed(
                "use", "practice_only", "A written reply cannot be scored: practice only."
            )
        example = data.get("answer_text")
        if not isinstance(example, str) or not example.strip():
            raise ValidationFailed(
                "answer_text", "required", "An example of a good reply, shown after the answer."
            )
        if len(example) > project.max_message_length:
            raise ValidationFailed(
                "answer_text", "too_long", f"At most {project.max_message_length} characters."
            )
        cleaned["answer_text"] = example.strip()
    elif spec.payload_field == "ranking":
        candidates = _turns(
            "candidates",
            data.get("candidates"),
            max_length=project.max_message_length,
            limit=MAX_CANDIDATES,
            role=CANDIDATE_ROLE.get(spec.name, ""),
        )
        if len(candidates) < 2:
            raise ValidationFailed("candidates", "too_few", "A ranking needs two replies or more.")
        numbers = list(range(1, len(candidates) + 1))
        ranking = data.get("answer_ranking")
        try:
            spec.validate(
                _practice_context(user=None, project=project, candidate_ids=numbers),
                {"ranking": ranking},
            )
        except ValidationFailed as error:
            raise ValidationFailed(
                "answer_ranking",
                error.code,
                "Number every reply once (1 is the first written), best first.",
            ) from None
        cleaned.update(candidates=candidates, answer_ranking=list(ranking or []))
    else:
        try:
            values = spec.validate(
                _practice_context(user=None, project=project, candidate_ids=[]),
                {"labels": data.get("answer_labels")},
            )
        except ValidationFailed as error:
            field = next(iter(error.fields), "labels")
            raise ValidationFailed("answer_" + field, error.code, error.detail) from None
        cleaned["answer_labels"] = values
    return cleaned


def _item_state(item: TrainingItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in EDITABLE}


def training_item_create(
    *, project: Project, data: Mapping[str, Any], actor_id: int | None
) -> TrainingItem:
    """A new practice or gold item; its known answer fits the kind's own rules."""
    cleaned = _clean(project, data)
    with transaction.atomic():
        item = TrainingItem.objects.create(project=project, created_by_id=actor_id, **cleaned)
        audit_record(
            action=AuditAction.TRAINING_ITEM_CREATED,
            target_type="training_item",
            target_id=item.pk,
            actor_id=actor_id,
            project_id=project.pk,
            after={"kind": item.kind, "lang": item.lang, "use": item.use},
        )
    return item


def training_item_update(
    *, item_id: int, changes: Mapping[str, Any], actor_id: int | None
) -> TrainingItem:
    """Change an item (checked as a whole); ``is_active: false`` retires it — its gold
    results stay."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "not_editable", "This cannot be changed.")
    with transaction.atomic():
        item = (
            TrainingItem.objects.select_for_update()
            .select_related("project")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise NotFound("training_item_not_found", "No such training item.")
        before = _item_state(item)
        cleaned = _clean(item.project, {**before, **changes})
        after = {name: cleaned[name] for name in EDITABLE}
        changed = [name for name in EDITABLE if before[name] != after[name]]
        if not changed:
            return item
        for name in changed:
            setattr(item, name, after[name])
        item.save(update_fields=[*changed, "updated_at"])
        audit_record(
            action=AuditAction.TRAINING_ITEM_UPDATED,
            target_type="training_item",
            target_id=item.pk,
            actor_id=actor_id,
            project_id=item.project_id,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return item


# --- Showing an item as a task -------------------------------------------------------


@dataclass(frozen=True)
class ShownTurn:
    """A message as a practice page draws it (the task templates read ``pk``)."""

    pk: int
    role: str
    text: str


def item_conversation(item: TrainingItem) -> list[ShownTurn]:
    return [
        ShownTurn(pk=-(index + 1), role=turn["role"], text=turn["text"])
        for index, turn in enumerate(item.conversation)
    ]


def item_candidates(item: TrainingItem, *, user_id: int) -> list[ShownTurn]:
    """The candidates numbered as written (1, 2, …), in an order shuffled per person and
    item, as a real ranking shuffles them."""
    shown = [
        ShownTurn(pk=index + 1, role=turn["role"], text=turn["text"])
        for index, turn in enumerate(item.candidates)
    ]
    random.Random(f"{user_id}:{item.pk}").shuffle(shown)
    return shown


@dataclass(frozen=True)
class Outcome:
    item: TrainingItem
    score: scoring.Score


def _score(*, user: User, item: TrainingItem, payload: Mapping[str, Any]) -> scoring.Score:
    """The answer checked by the kind's rules (a 400 as a real submit would give) and
    compared with the known answer."""
    spec = _spec(item.kind)
    numbers = list(range(1, len(item.candidates) + 1))
    context = _practice_context(user=user, project=item.project, candidate_ids=numbers)
    value = spec.validate(context, payload)
    if spec.name in REPLY_PRACTICE_KINDS:
        return scoring.Score(is_correct=True)  # a fitting reply; the example shows more
    if spec.payload_field == "ranking":
        return scoring.ranking_score(value, item.answer_ranking)
    kinds = {label["name"]: label["kind"] for label in spec.labels(item.project)}
    return scoring.labels_score(value, item.answer_labels, kinds)


# --- The tour and practice ------------------------------------------------------------


def tour_start(*, user: User) -> TourProgress:
    """Start (or restart) the tour: practice begins again from the first item."""
    now = timezone.now()
    with transaction.atomic():
        progress = TourProgress.objects.select_for_update().filter(user=user).first()
        if progress is not None and progress.state == TourState.STARTED:
            return progress
        if progress is None:
            progress = TourProgress.objects.create(user=user, started_at=now)
        else:
            progress.state = TourState.STARTED
            progress.started_at = now
            progress.ended_at = None
            progress.save(update_fields=["state", "started_at", "ended_at"])
            PracticeRecord.objects.filter(user=user).delete()
        audit_record(
            action=AuditAction.TOUR_STARTED,
            target_type="user",
            target_id=user.pk,
            actor_id=user.pk,
        )
    return progress


def _tour_end(*, user: User, state: TourState, action: AuditAction) -> TourProgress:
    now = timezone.now()
    with transaction.atomic():
        progress = TourProgress.objects.select_for_update().filter(user=user).first()
        if progress is None:
            progress = TourProgress(user=user, started_at=now)
        elif progress.state == state:
            return progress
        progress.state = state
        progress.ended_at = now
        progress.save()
        audit_record(action=action, target_type="user", target_id=user.pk, actor_id=user.pk)
    return progress


def tour_skip(*, user: User) -> TourProgress:
    """The person does not want the tour now (the dashboard offers it again)."""
    return _tour_end(user=user, state=TourState.SKIPPED, action=AuditAction.TOUR_SKIPPED)


def tour_finish(*, user: User) -> TourProgress:
    """The practice is done: any pause from a kind (low gold accuracy) is lifted."""
    with transaction.atomic():
        progress = _tour_end(user=user, state=TourState.FINISHED, action=AuditAction.TOUR_FINISHED)
        now = timezone.now()
        for pause in GoldPause.objects.select_for_update().filter(
            user=user, lifted_at__isnull=True
        ):
            pause.lifted_at = now
            pause.save(update_fields=["lifted_at"])
            audit_record(
                action=AuditAction.GOLD_PAUSE_LIFTED,
                target_type="user",
                target_id=user.pk,
                actor_id=user.pk,
                project_id=pause.project_id,
                after={"kind": pause.kind},
            )
        # Now (this transaction's own reads) and after the commit (others').
        person_gates_forget(user_id=user.pk)
        transaction.on_commit(lambda: person_gates_forget(user_id=user.pk))
    return progress


def practice_answer(*, user: User, item_id: int, payload: Mapping[str, Any]) -> Outcome:
    """Check one practice answer and remember only whether it matched. Answering an
    item again replaces the record."""
    item = (
        TrainingItem.objects.select_related("project")
        .filter(pk=item_id, is_active=True, use__in=PRACTICE_USES)
        .first()
    )
    if item is None:
        raise NotFound("training_item_not_found", "No such practice item.")
    score = _score(user=user, item=item, payload=payload)
    PracticeRecord.objects.update_or_create(
        user=user,
        item=item,
        defaults={"is_correct": score.is_correct, "answered_at": timezone.now()},
    )
    return Outcome(item=item, score=score)


# --- Qualifications -------------------------------------------------------------------


def qualification_start(
    *, user: User, project: Project, kind: str, lang: str
) -> QualificationAttempt:
    """Open an attempt at ``kind``'s qualification (or return the open one)."""
    rule = qualification_rule(project, kind)
    if rule is None:
        raise Conflict("qualification_not_required", "This kind needs no qualification here.")
    if lang not in project.languages:
        raise ValidationFailed("lang", "invalid_language", f"{project.slug} has no {lang!r}.")
    with transaction.atomic():
        open_attempt = qualification_open_attempt(user=user, project=project, kind=kind)
        if open_attempt is not None:
            return open_attempt
        if QualificationAttempt.objects.filter(
            user=user, project=project, kind=kind, is_passed=True
        ).exists():
            raise Conflict("already_qualified", "You have passed this qualification.")
        items = int(rule["items"])
        if gold_items(project=project, lang=lang, kind=kind).count() < items:
            raise Conflict(
                "qualification_unavailable",
                "This qualification has too few gold items yet; the project team adds them.",
            )
        try:
            with transaction.atomic():
                attempt = QualificationAttempt.objects.create(
                    user=user,
                    project=project,
                    kind=kind,
                    lang=lang,
                    items_required=items,
                    min_accuracy=float(rule.get("min_accuracy", 0.8)),
                    started_at=timezone.now(),
                )
        except IntegrityError:  # a concurrent start won
            found = qualification_open_attempt(user=user, project=project, kind=kind)
            assert found is not None
            return found
        audit_record(
            action=AuditAction.QUALIFICATION_STARTED,
            target_type="user",
            target_id=user.pk,
            actor_id=user.pk,
            project_id=project.pk,
            after={"kind": kind, "items": items},
        )
    return attempt


def qualification_answer(
    *, user: User, attempt_id: int, item_id: int, payload: Mapping[str, Any]
) -> QualificationAttempt:
    """Score one answer of an open attempt; the last one decides it (passed when the
    share right reaches the rule's ``min_accuracy``)."""
    with transaction.atomic():
        attempt = (
            QualificationAttempt.objects.select_for_update()
            .select_related("project")
            .filter(pk=attempt_id, user=user)
            .first()
        )
        if attempt is None:
            raise NotFound("qualification_not_found", "No such qualification of yours.")
        if attempt.finished_at is not None:
            raise Conflict("qualification_finished", "This qualification is over.")
        item = qualification_next_item(attempt)
        if item is None or item.pk != item_id:
            raise Conflict("qualification_item_changed", "Answer the item shown now.")
        item.project = attempt.project
        score = _score(user=user, item=item, payload=payload)
        now = timezone.now()
        GoldResult.objects.create(
            user=user,
            item=item,
            project=attempt.project,
            kind=attempt.kind,
            attempt=attempt,
            is_correct=score.is_correct,
            created_at=now,
        )
        attempt.answered += 1
        attempt.correct += int(score.is_correct)
        fields = ["answered", "correct"]
        if attempt.answered >= attempt.items_required:
            attempt.finished_at = now
            attempt.is_passed = (
                scoring.accuracy(attempt.correct, attempt.answered) >= attempt.min_accuracy - 1e-9
            )
            fields += ["finished_at", "is_passed"]
            audit_record(
                action=(
                    AuditAction.QUALIFICATION_PASSED
                    if attempt.is_passed
                    else AuditAction.QUALIFICATION_FAILED
                ),
                target_type="user",
                target_id=user.pk,
                actor_id=user.pk,
                project_id=attempt.project_id,
                after={
                    "kind": attempt.kind,
                    "correct": attempt.correct,
                    "answered": attempt.answered,
                },
            )
        attempt.save(update_fields=fields)
        if attempt.is_passed:
            # Now (this transaction's own reads) and after the commit (others').
            person_gates_forget(user_id=user.pk)
            transaction.on_commit(lambda: person_gates_forget(user_id=user.pk))
    return attempt


__all__ = ["GOLD_USES", "Outcome", "ShownTurn"]
