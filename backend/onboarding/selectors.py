"""Reads: training items, a person's tour and practice progress, qualifications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from backend.accounts.models import User
from backend.assignments.kinds import KindSpec, all_kinds, get_kind
from backend.onboarding.models import (
    GOLD_USES,
    PRACTICE_USES,
    PracticeRecord,
    QualificationAttempt,
    TourProgress,
    TrainingItem,
)
from backend.projects.models import Project

# The answers a training item can carry: label values or a ranking.
GRADEABLE_FIELDS = ("labels", "ranking")


def gradeable_kinds() -> list[KindSpec]:
    """The registered kinds a training item may be of (answered by labels or a ranking),
    in the order pages list them."""
    return [spec for spec in all_kinds() if spec.payload_field in GRADEABLE_FIELDS]


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


def kinds_locked(user: User, project: Project, kinds: list[str]) -> set[str]:
    """The claim gate: of ``kinds``, those the project requires a qualification for that
    ``user`` has not passed. No query when the project requires none of them."""
    rules = project.qualification or {}
    wanted = [kind for kind in kinds if kind in rules]
    if not wanted:
        return set()
    passed = set(
        QualificationAttempt.objects.filter(
            user=user, project=project, kind__in=wanted, is_passed=True
        ).values_list("kind", flat=True)
    )
    return set(wanted) - passed


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
