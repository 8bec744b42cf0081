"""What onboarding holds about a person, for "Download my data" (registered in
``OnboardingConfig.ready``; see ``backend.accounts.selfservice``)."""

from __future__ import annotations

from typing import Any

from backend.onboarding.models import (
    GoldPause,
    GoldResult,
    PracticeRecord,
    QualificationAttempt,
    TourProgress,
)


def onboarding_of_person(user_id: int) -> dict[str, Any]:
    tour = TourProgress.objects.filter(user_id=user_id).first()
    return {
        "tour": (
            {"state": tour.state, "started_at": tour.started_at, "ended_at": tour.ended_at}
            if tour is not None
            else None
        ),
        "practice": [
            {"item_id": item_id, "is_correct": is_correct, "answered_at": answered_at}
            for item_id, is_correct, answered_at in PracticeRecord.objects.filter(user_id=user_id)
            .order_by("answered_at", "pk")
            .values_list("item_id", "is_correct", "answered_at")
        ],
        "qualifications": [
            {
                "project": slug,
                "kind": kind,
                "answered": answered,
                "correct": correct,
                "is_passed": is_passed,
                "started_at": started_at,
                "finished_at": finished_at,
            }
            for slug, kind, answered, correct, is_passed, started_at, finished_at in (
                QualificationAttempt.objects.filter(user_id=user_id)
                .order_by("pk")
                .values_list(
                    "project__slug",
                    "kind",
                    "answered",
                    "correct",
                    "is_passed",
                    "started_at",
                    "finished_at",
                )
            )
        ],
        "gold_results": [
            {"project": slug, "kind": kind, "is_correct": is_correct, "at": created_at}
            for slug, kind, is_correct, created_at in GoldResult.objects.filter(user_id=user_id)
            .order_by("pk")
            .values_list("project__slug", "kind", "is_correct", "created_at")
        ],
        "pauses": [
            {"project": slug, "kind": kind, "paused_at": paused_at, "lifted_at": lifted_at}
            for slug, kind, paused_at, lifted_at in GoldPause.objects.filter(user_id=user_id)
            .order_by("pk")
            .values_list("project__slug", "kind", "paused_at", "lifted_at")
        ],
    }
