"""The points formula, levels and streaks. Pure: no ORM, integers in and out.

Open-Assistant's leaderboard could not be checked by the people on it. Ours is a
handful of integer rules that anyone can re-apply to the raw data (messages, label
votes, ranking votes, the audit log) and get the same ledger, entry for entry:
``FORMULA`` below is what ``GET /api/v1/leaderboard/formula`` returns and what
docs/community.md explains. Change a number here and the next full recompute
(``points_ledger_update(full=True)``, run nightly) re-prices every entry.

Every rule yields an integer: fractions are floored with integer division, never
rounded, so there is no float or rounding mode to argue about.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

FORMULA_VERSION = 1


class Reason(StrEnum):
    # Contributions: earned when the work is submitted; they are the activity that
    # keeps a streak going.
    PROMPT_WRITTEN = "prompt_written"
    REPLY_WRITTEN = "reply_written"
    REVIEW_SUBMITTED = "review_submitted"
    RANKING_SUBMITTED = "ranking_submitted"
    # Outcomes: earned when consensus decides, often days later.
    PROMPT_ACCEPTED = "prompt_accepted"
    REPLY_ACCEPTED = "reply_accepted"
    MESSAGE_REJECTED = "message_rejected"
    REPLY_RANKED = "reply_ranked"
    RANKING_AGREEMENT = "ranking_agreement"


CONTRIBUTION_REASONS = (
    Reason.PROMPT_WRITTEN,
    Reason.REPLY_WRITTEN,
    Reason.REVIEW_SUBMITTED,
    Reason.RANKING_SUBMITTED,
)

POINTS: dict[Reason, int] = {
    Reason.PROMPT_WRITTEN: 4,
    Reason.REPLY_WRITTEN: 4,
    Reason.REVIEW_SUBMITTED: 1,
    Reason.RANKING_SUBMITTED: 2,
    Reason.PROMPT_ACCEPTED: 4,
    Reason.REPLY_ACCEPTED: 2,
    # Larger than what writing the message earned: spam costs more than it pays.
    Reason.MESSAGE_REJECTED: -10,
}
# The best of n ranked siblings earns this much, the last one 0, linearly between.
RANK_BONUS_MAX = 10
# A ranking in full agreement with the group's final order (τ = 1) earns this much.
AGREEMENT_BONUS_MAX = 5

# Rolling windows, ending at the moment the leaderboard was computed.
WINDOW_LENGTHS: dict[str, timedelta | None] = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "all": None,
}

# (level, points needed), by total points over every project and all time.
LEVEL_THRESHOLDS: tuple[tuple[int, int], ...] = (
    (1, 0),
    (2, 25),
    (3, 75),
    (4, 150),
    (5, 300),
    (6, 600),
    (7, 1200),
    (8, 2500),
    (9, 5000),
    (10, 10000),
)

STREAK_GRACE = timedelta(hours=36)


# --- Messages -------------------------------------------------------------------------


def rank_bonus(*, rank: int, ranked_siblings: int) -> int:
    """⌊RANK_BONUS_MAX · (n − 1 − rank) / (n − 1)⌋ for the reply at ``rank`` of n."""
    if ranked_siblings < 2 or not 0 <= rank < ranked_siblings:
        return 0
    return RANK_BONUS_MAX * (ranked_siblings - 1 - rank) // (ranked_siblings - 1)


def message_points(
    *,
    is_prompt: bool,
    review_result: bool | None,
    rank: int | None,
    ranked_siblings: int,
) -> dict[Reason, tuple[int, dict[str, Any]]]:
    """What the author of one (not deleted, not synthetic) message earns, by reason,
    with the inputs of each rule (stored on the entry so it can be checked)."""
    earned: dict[Reason, tuple[int, dict[str, Any]]] = {}
    written = Reason.PROMPT_WRITTEN if is_prompt else Reason.REPLY_WRITTEN
    earned[written] = (POINTS[written], {})
    if review_result is True:
        accepted = Reason.PROMPT_ACCEPTED if is_prompt else Reason.REPLY_ACCEPTED
        earned[accepted] = (POINTS[accepted], {})
    elif review_result is False:
        earned[Reason.MESSAGE_REJECTED] = (POINTS[Reason.MESSAGE_REJECTED], {})
    if not is_prompt and rank is not None and ranked_siblings >= 2:
        earned[Reason.REPLY_RANKED] = (
            rank_bonus(rank=rank, ranked_siblings=ranked_siblings),
            {"rank": rank, "ranked_siblings": ranked_siblings},
        )
    return earned


# --- Rankings -------------------------------------------------------------------------


def kendall_tau(ballot: Sequence[Hashable], consensus: Sequence[Hashable]) -> Fraction | None:
    """Kendall's τ between two strict orders, over the items both contain.

    τ = (concordant − discordant) / pairs, exactly (a ``Fraction``); None when fewer
    than two items are shared. Without ties it equals scipy's ``kendalltau``.
    """
    position = {item: index for index, item in enumerate(ballot)}
    shared = [item for item in consensus if item in position]
    pairs = len(shared) * (len(shared) - 1) // 2
    if pairs == 0:
        return None
    concordant = sum(
        1
        for first in range(len(shared))
        for second in range(first + 1, len(shared))
        if position[shared[first]] < position[shared[second]]
    )
    return Fraction(concordant - (pairs - concordant), pairs)


def agreement_bonus(tau: Fraction) -> int:
    """⌊AGREEMENT_BONUS_MAX · max(τ, 0)⌋: agreeing pays, disagreeing costs nothing
    (the trollboard, not the leaderboard, deals with bad rankers)."""
    if tau <= 0:
        return 0
    return int(AGREEMENT_BONUS_MAX * tau.numerator // tau.denominator)


def ranking_points(
    *, ballot: Sequence[Hashable], consensus: Sequence[Hashable] | None
) -> dict[Reason, tuple[int, dict[str, Any]]]:
    """What one ranking earns; ``consensus`` is the group's final order (best first)
    once the tree is scored, else None."""
    earned: dict[Reason, tuple[int, dict[str, Any]]] = {
        Reason.RANKING_SUBMITTED: (POINTS[Reason.RANKING_SUBMITTED], {})
    }
    if consensus is not None:
        tau = kendall_tau(ballot, consensus)
        if tau is not None:
            earned[Reason.RANKING_AGREEMENT] = (
                agreement_bonus(tau),
                {"tau": str(tau), "consensus": list(consensus)},
            )
    return earned


# --- Levels and streaks ---------------------------------------------------------------


def level_for(points: int) -> int:
    level = LEVEL_THRESHOLDS[0][0]
    for candidate, needed in LEVEL_THRESHOLDS:
        if points >= needed:
            level = candidate
    return level


def streak_days(active_days: Sequence[tuple[datetime, datetime]], *, now: datetime) -> int:
    """Consecutive active UTC days, from each active day's (first, last) activity,
    oldest day first.

    Each active day adds one; a gap of more than ``STREAK_GRACE`` (36 h) between the
    last activity of one active day and the first of the next starts over at 1, and
    more than 36 h since the last activity at all makes the streak 0. The grace is
    longer than a day so that someone active every evening in UTC−10 and every
    morning in UTC+10 keeps their streak.
    """
    streak = 0
    previous_last: datetime | None = None
    for first, last in active_days:
        if previous_last is None or first - previous_last > STREAK_GRACE:
            streak = 1
        else:
            streak += 1
        previous_last = last
    if previous_last is None or now - previous_last > STREAK_GRACE:
        return 0
    return streak


# --- The formula as data --------------------------------------------------------------

FORMULA: dict[str, Any] = {
    "version": FORMULA_VERSION,
    "rules": [
        {
            "reason": Reason.PROMPT_WRITTEN,
            "points": POINTS[Reason.PROMPT_WRITTEN],
            "earned_at": "when the prompt was written",
            "description": "Writing an initial prompt.",
        },
        {
            "reason": Reason.REPLY_WRITTEN,
            "points": POINTS[Reason.REPLY_WRITTEN],
            "earned_at": "when the reply was written",
            "description": "Writing a reply, as the assistant or as the user.",
        },
        {
            "reason": Reason.REVIEW_SUBMITTED,
            "points": POINTS[Reason.REVIEW_SUBMITTED],
            "earned_at": "when the first label of the review was given",
            "description": "Reviewing (labelling) one message.",
        },
        {
            "reason": Reason.RANKING_SUBMITTED,
            "points": POINTS[Reason.RANKING_SUBMITTED],
            "earned_at": "when the ranking was submitted",
            "description": "Ranking the replies to one message.",
        },
        {
            "reason": Reason.PROMPT_ACCEPTED,
            "points": POINTS[Reason.PROMPT_ACCEPTED],
            "earned_at": "when the review accepted it",
            "description": "Your prompt was accepted by its reviewers.",
        },
        {
            "reason": Reason.REPLY_ACCEPTED,
            "points": POINTS[Reason.REPLY_ACCEPTED],
            "earned_at": "when the review accepted it",
            "description": "Your reply was accepted by its reviewers.",
        },
        {
            "reason": Reason.MESSAGE_REJECTED,
            "points": POINTS[Reason.MESSAGE_REJECTED],
            "earned_at": "when the review rejected it",
            "description": "Your prompt or reply was rejected (spam or wrong language).",
        },
        {
            "reason": Reason.REPLY_RANKED,
            "points": f"floor({RANK_BONUS_MAX} * (n - 1 - rank) / (n - 1))",
            "max_points": RANK_BONUS_MAX,
            "earned_at": "when the tree was scored (became ready for export)",
            "description": (
                "Your reply's consensus rank among its n ranked siblings: rank 0 (the best) "
                f"earns {RANK_BONUS_MAX}, the last 0, linearly in between."
            ),
        },
        {
            "reason": Reason.RANKING_AGREEMENT,
            "points": f"floor({AGREEMENT_BONUS_MAX} * max(tau, 0))",
            "max_points": AGREEMENT_BONUS_MAX,
            "earned_at": "when the tree was scored (became ready for export)",
            "description": (
                "Agreement of your ranking with the group's final order: Kendall's tau "
                "(concordant minus discordant pairs, divided by all pairs) over the replies "
                "both orders contain. Disagreement costs nothing."
            ),
        },
    ],
    "not_counted": [
        "messages deleted by a moderator (no points and no penalty while deleted)",
        "synthetic messages, and imported ones (an import has no author)",
    ],
    "windows": {
        name: None if length is None else int(length.total_seconds())
        for name, length in WINDOW_LENGTHS.items()
    },
    "windows_note": (
        "A window sums the points earned in the last day (24 h), week (7 days) or month "
        "(30 days) before the leaderboard was computed; an outcome counts in the window "
        "it was earned in, not the one the message was written in."
    ),
    "ranking_note": (
        "Rank 1 has the most points; people with equal points share a rank and the next "
        "rank skips (1, 2, 2, 4). People who chose not to be shown, and banned accounts, "
        "are left out of the ranking but still earn points."
    ),
    "levels": [{"level": level, "min_points": needed} for level, needed in LEVEL_THRESHOLDS],
    "levels_note": "Your level follows your total points over every project and all time.",
    "streak": {
        "grace_hours": int(STREAK_GRACE.total_seconds() // 3600),
        "description": (
            "One more day for every UTC day with a contribution (a prompt, reply, review "
            "or ranking). More than 36 hours without a contribution resets it."
        ),
    },
}
