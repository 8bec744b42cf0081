"""The materialised leaderboards: windows, overall and per project, ranking, who is
shown, levels and streaks (all with fixed timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from backend.accounts.models import User
from backend.community.formula import Reason
from backend.community.models import LeaderboardEntry, UserStats
from backend.community.selectors import leaderboard_page, user_community_summary
from backend.community.services import leaderboards_rebuild, points_ledger_update
from tests.community.builders import ledger_entry, raw_prompt
from tests.factories import UserFactory, small_project

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def board(window: str, project=None) -> list[tuple[str, int | None, int]]:  # type: ignore[no-untyped-def]
    rows = LeaderboardEntry.objects.filter(window=window, project=project).order_by(
        F("rank").asc(nulls_last=True), "user_id"
    )
    return [(row.user.username, row.rank, row.points) for row in rows.select_related("user")]


def test_windows_count_what_was_earned_inside_them():
    project = small_project()
    person = UserFactory(username="windows")
    at = {
        "a second ago": (NOW - timedelta(seconds=1), 1),
        "23:59:59 ago": (NOW - timedelta(days=1) + timedelta(seconds=1), 2),
        "exactly a day ago": (NOW - timedelta(days=1), 4),
        "exactly a week ago": (NOW - timedelta(days=7), 8),
        "29 days ago": (NOW - timedelta(days=29), 16),
        "exactly 30 days ago": (NOW - timedelta(days=30), 32),
        "a year ago": (NOW - timedelta(days=365), 64),
        "a second later": (NOW + timedelta(seconds=1), 128),  # not earned yet as of NOW
    }
    for moment, points in at.values():
        ledger_entry(person, project, moment, points)
    leaderboards_rebuild(now=NOW)
    assert board("day") == [("windows", 1, 1 + 2)]
    assert board("week") == [("windows", 1, 1 + 2 + 4)]
    assert board("month") == [("windows", 1, 1 + 2 + 4 + 8 + 16)]
    assert board("all") == [("windows", 1, 1 + 2 + 4 + 8 + 16 + 32 + 64)]
    # Later, the same ledger gives other windows.
    leaderboards_rebuild(now=NOW + timedelta(days=1))
    assert board("day") == [("windows", 1, 128)]


def test_overall_and_per_project_boards():
    first, second = small_project(), small_project()
    ada, bob, cy = (UserFactory(username=name) for name in ("ada", "bob", "cy"))
    ledger_entry(ada, first, NOW, 10)
    ledger_entry(bob, first, NOW, 6)
    ledger_entry(bob, second, NOW, 6)
    ledger_entry(cy, second, NOW, 7)
    leaderboards_rebuild(now=NOW)
    assert board("all") == [("bob", 1, 12), ("ada", 2, 10), ("cy", 3, 7)]
    assert board("all", first) == [("ada", 1, 10), ("bob", 2, 6)]
    assert board("all", second) == [("cy", 1, 7), ("bob", 2, 6)]
    assert LeaderboardEntry.objects.count() == 4 * (3 + 2 + 2)


def test_equal_points_share_a_rank():
    project = small_project()
    for name, points in [("d", 5), ("c", 9), ("b", 5), ("a", 5), ("e", 1)]:
        ledger_entry(UserFactory(username=name), project, NOW, points)
    leaderboards_rebuild(now=NOW)
    # Ties are listed by user id (creation order here).
    assert board("all") == [("c", 1, 9), ("d", 2, 5), ("b", 2, 5), ("a", 2, 5), ("e", 5, 1)]


def test_contribution_counts_per_window():
    project = small_project()
    person = UserFactory()
    for reason, count in [
        (Reason.PROMPT_WRITTEN, 1),
        (Reason.REPLY_WRITTEN, 2),
        (Reason.REVIEW_SUBMITTED, 3),
        (Reason.RANKING_SUBMITTED, 4),
    ]:
        for _ in range(count):
            ledger_entry(person, project, NOW, reason=reason)
    ledger_entry(person, project, NOW - timedelta(days=2), reason=Reason.REPLY_WRITTEN)
    ledger_entry(person, project, NOW, reason=Reason.REPLY_ACCEPTED)  # an outcome, not a count
    leaderboards_rebuild(now=NOW)
    day = LeaderboardEntry.objects.get(window="day", project=None)
    week = LeaderboardEntry.objects.get(window="week", project=None)
    assert (day.prompts, day.replies, day.reviews, day.rankings) == (1, 2, 3, 4)
    assert (week.prompts, week.replies, week.reviews, week.rankings) == (1, 3, 3, 4)
    assert day.points == 4 + 2 * 4 + 3 * 1 + 4 * 2 + 2


def test_people_who_opt_out_or_are_banned_are_not_shown_but_keep_their_points():
    project = small_project()
    shy = UserFactory(username="shy", show_on_leaderboard=False)
    banned = UserFactory(username="banned", is_banned=True)
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    for person, points in [(shy, 50), (banned, 40), (ada, 30), (bob, 20)]:
        ledger_entry(person, project, NOW, points)
    leaderboards_rebuild(now=NOW)
    assert board("all") == [("ada", 1, 30), ("bob", 2, 20), ("shy", None, 50), ("banned", None, 40)]
    page = leaderboard_page(window="all", project=None, viewer=shy, now=NOW)
    assert [row["display_name"] for row in page["results"]] == ["ada", "bob"]
    assert page["count"] == 2
    assert (page["me"]["rank"], page["me"]["points"]) == (None, 50)


def test_opting_out_hides_at_once_and_ranks_close_up_at_the_next_rebuild():
    project = small_project()
    ada, bob, cy = (UserFactory(username=name) for name in ("ada", "bob", "cy"))
    for person, points in [(ada, 3), (bob, 2), (cy, 1)]:
        ledger_entry(person, project, NOW, points)
    leaderboards_rebuild(now=NOW)
    User.objects.filter(pk=ada.pk).update(show_on_leaderboard=False)
    page = leaderboard_page(window="all", project=None, viewer=cy, now=NOW)
    assert [(row["display_name"], row["rank"]) for row in page["results"]] == [
        ("bob", 2),
        ("cy", 3),
    ]
    leaderboards_rebuild(now=NOW)
    page = leaderboard_page(window="all", project=None, viewer=cy, now=NOW)
    assert [(row["display_name"], row["rank"]) for row in page["results"]] == [
        ("bob", 1),
        ("cy", 2),
    ]


def _prompts_at(person: User, *moments: datetime) -> None:
    project = small_project()
    for moment in moments:
        raw_prompt(project, person, moment)


def test_streak_grows_per_active_day_and_resets_after_36_hours():
    person = UserFactory()
    day = datetime(2026, 6, 10, tzinfo=UTC)
    _prompts_at(
        person,
        day + timedelta(hours=10),
        day + timedelta(days=1, hours=9),
        day + timedelta(days=1, hours=11),  # same day: no extra
        day + timedelta(days=2, hours=20),
    )
    last = day + timedelta(days=2, hours=20)
    points_ledger_update(now=last + timedelta(hours=1))
    stats = UserStats.objects.get(user=person)
    assert (stats.streak_days, stats.last_active_at, stats.points) == (3, last, 16)
    assert (
        user_community_summary(user_id=person.pk, now=last + timedelta(hours=36))["streak_days"]
        == 3
    )
    # Past 36 hours the reader shows 0 at once, and the next pass stores 0.
    late = last + timedelta(hours=36, seconds=1)
    assert user_community_summary(user_id=person.pk, now=late)["streak_days"] == 0
    points_ledger_update(now=late)
    assert UserStats.objects.get(user=person).streak_days == 0
    # Coming back starts again at 1.
    back = day + timedelta(days=6)
    _prompts_at(person, back)
    points_ledger_update(now=back + timedelta(minutes=1), full=True)
    assert UserStats.objects.get(user=person).streak_days == 1


def test_outcomes_are_not_activity_for_streaks():
    project = small_project()
    person = UserFactory()
    ledger_entry(person, project, NOW - timedelta(days=3))
    ledger_entry(person, project, NOW - timedelta(hours=1), reason=Reason.PROMPT_ACCEPTED)
    from backend.community.services import _refresh_user_stats

    _refresh_user_stats({person.pk}, now=NOW)
    stats = UserStats.objects.get(user=person)
    assert (stats.points, stats.streak_days, stats.last_active_at) == (
        8,
        0,
        NOW - timedelta(days=3),
    )


@pytest.mark.parametrize(
    ("points", "level"), [(0, 1), (24, 1), (25, 2), (74, 2), (75, 3), (-6, 1), (10000, 10)]
)
def test_level_follows_total_points(points, level):
    project = small_project()
    person = UserFactory()
    ledger_entry(person, project, NOW, points)
    from backend.community.services import _refresh_user_stats

    _refresh_user_stats({person.pk}, now=NOW)
    assert UserStats.objects.get(user=person).level == level
    assert user_community_summary(user_id=person.pk, now=NOW)["level"] == level
