"""Gold items in the stream: a share of label and ranking claims (the project's
``gold_rate``) is answered with one of the project's gold items instead of real work.

It is a substitute of the engine (``backend.assignments.gates``): the claim asks it
first, and it decides with a dice roll in Python, so an ordinary claim runs no extra
statement. A gold assignment is a real ``Assignment`` (same id space, expiry, limits,
skip, REST contract and task page) without a work item; what it shows comes from the
item, with message ids of their own. Its submit is checked with the kind's own
``validate``, compared with the known answer and recorded as a ``GoldResult`` — never a
label vote or a ranking vote, so it never enters consensus or exports as a vote.

A person whose recent gold answers of a kind (the last ``ROLLING_WINDOW`` since their
last pause was lifted, once there are ``ROLLING_MIN``) fall below the project's
``gold_min_accuracy`` is paused from that kind (``GoldPause``) until they finish the
practice again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from backend.accounts.models import User
from backend.assignments.claims import Turn
from backend.assignments.kinds import KindSpec, SubmitContext, get_kind
from backend.assignments.models import Assignment
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict
from backend.onboarding import scoring
from backend.onboarding.models import (
    GOLD_USES,
    GoldAssignment,
    GoldPause,
    GoldResult,
    TrainingItem,
)
from backend.onboarding.selectors import GRADEABLE_FIELDS, person_gates_forget
from backend.projects.models import Project

# Message ids a gold item shows: far above any real message's, one block per item
# (its conversation from slot 0, its candidates from ``CANDIDATE_SLOT``).
GOLD_MESSAGE_ID_BASE = 1 << 52
ITEM_SLOTS = 64
CANDIDATE_SLOT = 32


def is_gold_message_id(message_id: int) -> bool:
    """Is this one of the ids a gold item shows (never a real message's)?"""
    return message_id >= GOLD_MESSAGE_ID_BASE


ROLLING_WINDOW = 10
ROLLING_MIN = 5
# Which gold items a project has, per language and kind: read once per process for
# this long (only when the dice say "gold").
GOLD_ITEMS_CACHE_SECONDS = 30.0

_gold_items: dict[tuple[int, str], tuple[float, dict[str, list[int]]]] = {}
_lock = threading.Lock()


def gold_items_forget() -> None:
    with _lock:
        _gold_items.clear()


def gold_item_ids(project_id: int, lang: str) -> dict[str, list[int]]:
    now = time.monotonic()
    hit = _gold_items.get((project_id, lang))
    if hit is not None and hit[0] > now:
        return hit[1]
    by_kind: dict[str, list[int]] = {}
    rows = TrainingItem.objects.filter(
        project_id=project_id, lang=lang, is_active=True, use__in=GOLD_USES
    ).values_list("kind", "pk")
    for kind, pk in rows.order_by("pk"):
        by_kind.setdefault(kind, []).append(pk)
    with _lock:
        _gold_items[(project_id, lang)] = (now + GOLD_ITEMS_CACHE_SECONDS, by_kind)
    return by_kind


def message_id(item_id: int, slot: int) -> int:
    return GOLD_MESSAGE_ID_BASE + item_id * ITEM_SLOTS + slot


def candidate_number(item_id: int, shown_id: int) -> int:
    """The candidate's number as the item's author wrote it (1, 2, …)."""
    return shown_id - GOLD_MESSAGE_ID_BASE - item_id * ITEM_SLOTS - CANDIDATE_SLOT + 1


def _turns(item: TrainingItem, candidate_ids: list[int]) -> tuple[list[Turn], list[Turn]]:
    conversation = [
        Turn(id=message_id(item.pk, index), role=turn["role"], text=turn["text"])
        for index, turn in enumerate(item.conversation)
    ]
    candidates = []
    for shown_id in candidate_ids:
        number = candidate_number(item.pk, int(shown_id))
        if 1 <= number <= len(item.candidates):
            turn = item.candidates[number - 1]
            candidates.append(Turn(id=int(shown_id), role=turn["role"], text=turn["text"]))
    return conversation, candidates


class GoldStream:
    """The substitute onboarding registers with the engine."""

    def pick(
        self, *, user: User, project: Project, lang: str, kinds: list[str], rng: random.Random
    ) -> tuple[str, int] | None:
        rate = float(project.gold_rate or 0.0)
        if rate <= 0.0 or rng.random() >= rate:
            return None  # the ordinary case: no statement run
        gradeable = [
            kind
            for kind in kinds
            if (spec := get_kind(kind)) is not None and spec.payload_field in GRADEABLE_FIELDS
        ]
        if not gradeable:
            return None
        by_kind = gold_item_ids(project.pk, lang)
        offered = [kind for kind in gradeable if by_kind.get(kind)]
        if not offered:
            return None
        every_id = [pk for kind in offered for pk in by_kind[kind]]
        seen = set(
            GoldAssignment.objects.filter(assignment__user=user, item_id__in=every_id).values_list(
                "item_id", flat=True
            )
        )
        for kind in offered:
            fresh = [pk for pk in by_kind[kind] if pk not in seen]
            if fresh:
                return kind, rng.choice(fresh)
        return None

    def create(
        self, *, picked: tuple[str, int], user: User, project: Project, lang: str, expires: datetime
    ) -> tuple[Assignment, list[Turn], list[Turn]]:
        kind, item_id = picked
        item = TrainingItem.objects.get(pk=item_id)
        candidate_ids = [
            message_id(item.pk, CANDIDATE_SLOT + index) for index in range(len(item.candidates))
        ]
        random.shuffle(candidate_ids)  # as a real ranking shuffles its candidates
        assignment = Assignment.objects.create(
            project=project,
            user=user,
            kind=kind,
            lang=lang,
            expires_at=expires,
            candidate_ids=candidate_ids,
        )
        GoldAssignment.objects.create(assignment=assignment, item=item)
        conversation, candidates = _turns(item, candidate_ids)
        return assignment, conversation, candidates

    def shown(self, assignment: Assignment) -> tuple[list[Turn], list[Turn]]:
        gold = GoldAssignment.objects.select_related("item").filter(assignment=assignment).first()
        if gold is None:
            return [], []
        return _turns(gold.item, list(assignment.candidate_ids))

    def submit(self, context: SubmitContext, spec: KindSpec, payload: Mapping[str, Any]) -> None:
        gold = (
            GoldAssignment.objects.select_related("item")
            .filter(assignment_id=context.assignment.pk)
            .first()
        )
        if gold is None:
            raise Conflict("work_item_closed", "This work is no longer needed.")
        item = gold.item
        value = spec.validate(context, payload)
        if spec.payload_field == "ranking":
            numbers = [candidate_number(item.pk, shown_id) for shown_id in value]
            score = scoring.ranking_score(numbers, item.answer_ranking)
        else:
            kinds = {label["name"]: label["kind"] for label in spec.labels(context.project)}
            score = scoring.labels_score(value, item.answer_labels, kinds)
        GoldResult.objects.create(
            user=context.user,
            item=item,
            project=context.project,
            kind=context.assignment.kind,
            assignment=context.assignment,
            is_correct=score.is_correct,
            created_at=context.now,
        )
        gold_pause_check(
            user=context.user,
            project=context.project,
            kind=context.assignment.kind,
            now=context.now,
        )

    def undo(self, assignment: Assignment) -> None:
        """The answer is taken back (undo): its result goes. A pause it caused stays
        (lifted by the practice)."""
        GoldResult.objects.filter(assignment=assignment).delete()


def rolling_gold(*, user_id: int, project_id: int, kind: str) -> tuple[int, int]:
    """(right, answered) over the person's last ``ROLLING_WINDOW`` gold items of the
    kind in the stream, since their last pause of that kind was lifted."""
    lifted = GoldPause.objects.filter(
        user_id=user_id, project_id=project_id, kind=kind, lifted_at__isnull=False
    ).aggregate(last=Max("lifted_at"))["last"]
    results = GoldResult.objects.filter(
        user_id=user_id, project_id=project_id, kind=kind, assignment__isnull=False
    )
    if lifted is not None:
        results = results.filter(created_at__gt=lifted)
    recent = list(results.order_by("-id").values_list("is_correct", flat=True)[:ROLLING_WINDOW])
    return sum(recent), len(recent)


def gold_pause_check(*, user: User, project: Project, kind: str, now: datetime) -> GoldPause | None:
    """Pause the person from ``kind`` when their rolling gold accuracy is too low."""
    right, answered = rolling_gold(user_id=user.pk, project_id=project.pk, kind=kind)
    if answered < ROLLING_MIN:
        return None
    accuracy = scoring.accuracy(right, answered)
    if accuracy >= project.gold_min_accuracy:
        return None
    if GoldPause.objects.filter(
        user=user, project=project, kind=kind, lifted_at__isnull=True
    ).exists():
        return None
    pause = GoldPause.objects.create(
        user=user, project=project, kind=kind, accuracy=accuracy, paused_at=now
    )
    audit_record(
        action=AuditAction.GOLD_PAUSED,
        target_type="user",
        target_id=user.pk,
        project_id=project.pk,
        after={"kind": kind, "right": right, "answered": answered},
        is_automatic=True,
    )
    # Now (this transaction's own reads) and after the commit (others').
    person_gates_forget(user_id=user.pk)
    transaction.on_commit(lambda: person_gates_forget(user_id=user.pk))
    return pause
