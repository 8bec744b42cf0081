"""Beat may start a refresh while another is still running (a slow pass, two beat
processes by mistake): the passes queue on their checkpoint rows and the result is
the same as one pass."""

from __future__ import annotations

from typing import Any

import pytest

from backend.community.models import LeaderboardEntry, PointsEntry
from backend.community.services import community_refresh
from tests.community.scenario import EXPECTED_POINTS, play_history
from tests.concurrency.threads import describe, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def ledger() -> list[tuple[Any, ...]]:
    return list(
        PointsEntry.objects.order_by("source_type", "source_id", "user_id", "reason").values_list(
            "user_id", "reason", "source_type", "source_id", "points", "earned_at"
        )
    )


def test_concurrent_refreshes_give_the_ledger_of_one():
    history = play_history()
    credited_at_submission = PointsEntry.objects.count()  # what the work itself earned
    outcome = run_together(4, lambda index: community_refresh())
    assert not outcome.raised, describe(outcome.raised)
    assert sum(result["full"] for result in outcome.results) >= 1
    assert sum(result["created"] for result in outcome.results) == 24 - credited_at_submission
    assert PointsEntry.objects.count() == 24
    concurrent = ledger()
    community_refresh(full=True)
    assert ledger() == concurrent
    best = LeaderboardEntry.objects.get(window="all", project=None, user=history.best)
    assert (best.rank, best.points) == (1, EXPECTED_POINTS["best"])
    assert LeaderboardEntry.objects.filter(window="all", project=None).count() == 9
