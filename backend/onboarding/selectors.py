"""Reads: training items, a person's tour and practice progress, qualifications."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models import QuerySet, Value

from backend.accounts.models import User
from backend.assignments.kinds import KindSpec, all_kinds, get_kind
from backend.onboarding.models import (
    GOLD_USES,
    PRACTICE_USES,
    GoldPause,
    PracticeRecord,
    QualificationAttempt,
    TourProgress,
    TrainingItem,
)
from backend.projects.models import Project

# The answers a training item can carry and score: label values or a ranking.
GRADEABLE_FIELDS = ("labels", "ranking")
# Replies written under a conversation: practice only (with an example good reply).
REPLY_PRACTICE_KINDS = ("assistant_reply", "prompter_reply")


def is_training_kind(spec: KindSpec) -> bool:
    """May a training item be of this kind: a gradeable one, or a reply kind (practice
    only)?"""
    return spec.payload_field in GRADEABLE_FIELDS or spec.name in REPLY_PRACTICE_KINDS


def training_kinds() -> list[KindSpec]:
    """The kinds a training item may be of, in the order pages list them."""
    return [spec for spec in all_kinds() if is_training_kind(spec)]


def _kind_order() -> dict[str, int]:
    return {spec.name: index for index, spec in enumerate(all_kinds())}


def training_items_of(*, project: Project) -> QuerySet[TrainingItem]:
    return TrainingItem.objects.filter(project=project).order_by("-is_active", "kind", "id")


def practice_items(*, project: Project, lang: str) -> list[TrainingItem]:
    """The tour's practice items: one run through the kinds in page order."""
    order = _kind_order()
    items = TrainingItem.objects.filter(
        project=project, lang=lang, is_active=True, use__in=PRACTICE_USES
    )
    return sorted(
        (item for item in items if get_kind(item.kind) is not None),
        key=lambda item: (order.get(item.kind, len(order)), item.pk),
    )


def has_practice(*, project: Project, lang: str) -> bool:
    return TrainingItem.objects.filter(
        project=project, lang=lang, is_active=True, use__in=PRACTICE_USES
    ).exists()


def practice_next(
    *, user: User, project: Project, lang: str
) -> tuple[TrainingItem | None, int, int]:
    """The next practice item this person has not answered, with how many they have
    answered and how many there are."""
    items = practice_items(project=project, lang=lang)
    done = set(
        PracticeRecord.objects.filter(user=user, item__in=items).values_list("item_id", flat=True)
    )
    remaining = [item for item in items if item.pk not in done]
    return (remaining[0] if remaining else None), len(items) - len(remaining), len(items)


def tour_progress(*, user: User) -> TourProgress | None:
    return TourProgress.objects.filter(user=user).first()


def gold_items(*, project: Project, lang: str, kind: str) -> QuerySet[TrainingItem]:
    return TrainingItem.objects.filter(
        project=project, lang=lang, kind=kind, is_active=True, use__in=GOLD_USES
    ).order_by("id")


def qualification_rule(project: Project, kind: str) -> dict[str, Any] | None:
    rule = (project.qualification or {}).get(kind)
    return dict(rule) if isinstance(rule, dict) else None


# A person's passed qualifications and pauses, per project, kept by each process for a
# few seconds (the claim asks on every request; a change made in this process is seen at
# once, another process sees it within ``PERSON_GATES_SECONDS``, as with projects).
PERSON_GATES_SECONDS = 5.0
PERSON_GATES_MAX = 20_000
_person_gates: dict[tuple[int, int], tuple[float, frozenset[str], frozenset[str]]] = {}
_gates_lock = threading.Lock()


def person_gates(*, user_id: int, project_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """(kinds qualified for, kinds paused from) of a person in a project."""
    now = time.monotonic()
    hit = _person_gates.get((user_id, project_id))
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    # One statement: the kinds passed, and the kinds paused.
    rows = (
        QualificationAttempt.objects.filter(user_id=user_id, project_id=project_id, is_passed=True)
        .annotate(is_pause=Value(False))
        .order_by()
        .values_list("kind", "is_pause")
        .union(
            GoldPause.objects.filter(user_id=user_id, project_id=project_id, lifted_at__isnull=True)
            .annotate(is_pause=Value(True))
            .order_by()
            .values_list("kind", "is_pause")
        )
    )
    found = list(rows)
    passed = frozenset(kind for kind, is_pause in found if not is_pause)
    paused = frozenset(kind for kind, is_pause in found if is_pause)
    with _gates_lock:
        if len(_person_gates) >= PERSON_GATES_MAX:
            _person_gates.clear()
        _person_gates[(user_id, project_id)] = (now + PERSON_GATES_SECONDS, passed, paused)
    return passed, paused


def person_gates_forget(*, user_id: int | None = None) -> None:
    with _gates_lock:
        if user_id is None:
            _person_gates.clear()
        else:
            for key in [key for key in _person_gates if key[0] == user_id]:
                del _person_gates[key]


def kinds_locked(user: User, project: Project, kinds: list[str]) -> set[str]:
    """The claim gate: of ``kinds``, those the project requires a qualification for that
    ``user`` has not passed, and those they are paused from (low gold accuracy). Read
    from this process's short-lived cache of the person's gates (no statement while it
    is fresh)."""
    if not kinds:
        return set()
    passed, paused = person_gates(user_id=user.pk, project_id=project.pk)
    rules = project.qualification or {}
    return {kind for kind in kinds if (kind in rules and kind not in passed) or kind in paused}


def gold_pause_of(*, user: User, project: Project, kind: str) -> GoldPause | None:
    return GoldPause.objects.filter(
        user=user, project=project, kind=kind, lifted_at__isnull=True
    ).first()


def qualification_open_attempt(
    *, user: User, project: Project, kind: str
) -> QualificationAttempt | None:
    return QualificationAttempt.objects.filter(
        user=user, project=project, kind=kind, finished_at__isnull=True
    ).first()


def qualification_last_attempt(
    *, user: User, project: Project, kind: str
) -> QualificationAttempt | None:
    return (
        QualificationAttempt.objects.filter(user=user, project=project, kind=kind)
        .order_by("-id")
        .first()
    )


def qualification_next_item(attempt: QualificationAttempt) -> TrainingItem | None:
    """The next gold item of the attempt: one it has not asked yet."""
    asked = attempt.results.values_list("item_id", flat=True)
    return (
        gold_items(project=attempt.project, lang=attempt.lang, kind=attempt.kind)
        .exclude(pk__in=asked)
        .first()
    )
