"""The points formula, levels and streaks as pure functions, with exact values."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from scipy.stats import kendalltau

from backend.community.formula import (
    FORMULA,
    LEVEL_THRESHOLDS,
    Reason,
    agreement_bonus,
    kendall_tau,
    level_for,
    message_points,
    rank_bonus,
    ranking_points,
    streak_days,
)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("siblings", "bonuses"),
    [
        (2, [10, 0]),
        (3, [10, 5, 0]),
        (4, [10, 6, 3, 0]),
        (5, [10, 7, 5, 2, 0]),
    ],
)
def test_rank_bonus_is_linear_and_floored(siblings, bonuses):
    assert [rank_bonus(rank=rank, ranked_siblings=siblings) for rank in range(siblings)] == bonuses


def test_rank_bonus_needs_a_group():
    assert rank_bonus(rank=0, ranked_siblings=1) == 0
    assert rank_bonus(rank=3, ranked_siblings=3) == 0


def test_message_points_for_each_outcome():
    assert message_points(is_prompt=True, review_result=None, rank=None, ranked_siblings=0) == {
        Reason.PROMPT_WRITTEN: (4, {})
    }
    assert message_points(is_prompt=True, review_result=True, rank=None, ranked_siblings=0) == {
        Reason.PROMPT_WRITTEN: (4, {}),
        Reason.PROMPT_ACCEPTED: (4, {}),
    }
    assert message_points(is_prompt=False, review_result=False, rank=None, ranked_siblings=0) == {
        Reason.REPLY_WRITTEN: (4, {}),
        Reason.MESSAGE_REJECTED: (-10, {}),
    }
    assert message_points(is_prompt=False, review_result=True, rank=0, ranked_siblings=3) == {
        Reason.REPLY_WRITTEN: (4, {}),
        Reason.REPLY_ACCEPTED: (2, {}),
        Reason.REPLY_RANKED: (10, {"rank": 0, "ranked_siblings": 3}),
    }


def test_kendall_tau_exact_values():
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == 1
    assert kendall_tau([3, 2, 1], [1, 2, 3]) == -1
    assert kendall_tau([1, 3, 2], [1, 2, 3]) == Fraction(1, 3)
    assert kendall_tau([2, 1, 3, 4], [1, 2, 3, 4]) == Fraction(2, 3)
    # Only shared items count; fewer than two shared: no τ.
    assert kendall_tau([9, 1, 2], [1, 2, 7]) == 1
    assert kendall_tau([1, 9], [1, 2]) is None


def test_kendall_tau_matches_scipy():
    rng = random.Random(7)
    for size in range(2, 8):
        for _ in range(20):
            consensus = list(range(size))
            ballot = consensus[:]
            rng.shuffle(ballot)
            position = [ballot.index(item) for item in consensus]
            expected = kendalltau(list(range(size)), position).statistic
            assert float(kendall_tau(ballot, consensus)) == pytest.approx(expected)


def test_agreement_bonus_is_floored_and_never_negative():
    assert [agreement_bonus(Fraction(n, 6)) for n in range(-6, 7)] == [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5,
    ]  # fmt: skip
    assert agreement_bonus(Fraction(1, 3)) == 1


def test_ranking_points_before_and_after_scoring():
    assert ranking_points(ballot=[5, 6], consensus=None) == {Reason.RANKING_SUBMITTED: (2, {})}
    assert ranking_points(ballot=[5, 6, 7], consensus=[5, 7, 6]) == {
        Reason.RANKING_SUBMITTED: (2, {}),
        Reason.RANKING_AGREEMENT: (1, {"tau": "1/3", "consensus": [5, 7, 6]}),
    }


def test_levels_follow_the_documented_thresholds():
    assert level_for(-50) == 1
    for level, needed in LEVEL_THRESHOLDS:
        assert level_for(needed) == level
        if needed > 0:
            assert level_for(needed - 1) == level - 1
    assert level_for(10**9) == 10
    assert FORMULA["levels"][:3] == [
        {"level": 1, "min_points": 0},
        {"level": 2, "min_points": 25},
        {"level": 3, "min_points": 75},
    ]


def _days(*moments: datetime) -> list[tuple[datetime, datetime]]:
    """(first, last) per UTC day, as the ledger's per-day aggregate gives them."""
    by_day: dict[object, list[datetime]] = {}
    for moment in sorted(moments):
        by_day.setdefault(moment.date(), []).append(moment)
    return [(times[0], times[-1]) for _, times in sorted(by_day.items())]


def test_streak_grows_by_one_per_active_utc_day():
    moments = [T0 + timedelta(days=day) for day in range(5)]
    # Several contributions on one day count once.
    moments += [T0 + timedelta(hours=3), T0 + timedelta(days=2, hours=5)]
    assert streak_days(_days(*moments), now=moments[4] + timedelta(hours=1)) == 5


def test_streak_counts_days_not_24_hour_periods():
    late = datetime(2026, 3, 10, 23, 50, tzinfo=UTC)
    early = datetime(2026, 3, 11, 0, 10, tzinfo=UTC)  # 20 minutes later, another UTC day
    assert streak_days(_days(late, early), now=early) == 2


def test_streak_survives_36_hours_and_resets_after():
    first = T0
    within = first + timedelta(hours=36)  # exactly 36 h: still going
    assert streak_days(_days(first, within), now=within) == 2
    beyond = first + timedelta(hours=36, seconds=1)
    assert streak_days(_days(first, beyond), now=beyond) == 1


def test_streak_is_zero_after_36_idle_hours():
    days = _days(T0, T0 + timedelta(days=1))
    last = T0 + timedelta(days=1)
    assert streak_days(days, now=last + timedelta(hours=36)) == 2
    assert streak_days(days, now=last + timedelta(hours=36, seconds=1)) == 0
    assert streak_days([], now=T0) == 0


def test_a_gap_day_within_the_grace_does_not_reset():
    # 23:00 on day 1, then 01:00 on day 3: 26 h apart, a new active day.
    day_one = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    day_three = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
    assert streak_days(_days(day_one, day_three), now=day_three) == 2


def test_formula_document_lists_every_reason_once():
    reasons = [rule["reason"] for rule in FORMULA["rules"]]
    assert sorted(reasons) == sorted(reason.value for reason in Reason)
    assert FORMULA["windows"] == {"day": 86400, "week": 604800, "month": 2592000, "all": None}
    assert FORMULA["streak"]["grace_hours"] == 36


@pytest.mark.parametrize("size", [2, 3, 4])
def test_every_permutation_has_a_bonus_between_0_and_5(size):
    consensus = list(range(size))
    for ballot in itertools.permutations(consensus):
        tau = kendall_tau(list(ballot), consensus)
        assert tau is not None
        assert 0 <= agreement_bonus(tau) <= 5
