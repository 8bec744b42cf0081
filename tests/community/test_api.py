"""GET /api/v1/leaderboard/, /api/v1/leaderboard/formula and the points in
/api/v1/users/me."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backend.community.formula import FORMULA
from backend.community.services import community_refresh, leaderboards_rebuild
from tests.community.builders import ledger_entry
from tests.community.scenario import EXPECTED_POINTS, play_history
from tests.factories import UserFactory, small_project

pytestmark = pytest.mark.django_db

URL = "/api/v1/leaderboard/"


def test_the_leaderboard_of_a_scripted_history(client_for):
    history = play_history()
    community_refresh()
    body = client_for(history.partly).get(URL, {"window": "week"}).json()
    assert body["window"] == "week"
    assert body["project"] is None
    assert body["count"] == 9
    assert (body["limit"], body["offset"]) == (50, 0)
    assert body["computed_at"] is not None
    top = body["results"][0]
    assert top == {
        "rank": 1,
        "user_id": history.best.pk,
        "display_name": history.best.username,
        "points": EXPECTED_POINTS["best"],
        "level": 1,
        "streak_days": 1,
        "contributions": {"prompts": 0, "replies": 1, "reviews": 0, "rankings": 0},
    }
    assert [row["points"] for row in body["results"]] == [16, 11, 8, 7, 7, 6, 5, 3, -6]
    assert [row["rank"] for row in body["results"]] == [1, 2, 3, 4, 4, 6, 7, 8, 9]
    assert body["me"]["user_id"] == history.partly.pk
    assert body["me"]["rank"] == 8
    assert body["me"]["contributions"] == {"prompts": 0, "replies": 0, "reviews": 0, "rankings": 1}
    reviewer = next(row for row in body["results"] if row["user_id"] == history.reviewer.pk)
    assert reviewer["contributions"]["reviews"] == 5
    # The same board for the project.
    per_project = client_for(history.partly).get(
        URL, {"window": "all", "project": history.project.slug}
    )
    assert per_project.status_code == 200
    assert per_project.json()["project"] == history.project.slug
    assert per_project.json()["results"] == body["results"]


def test_me_is_included_when_off_the_page(client_for):
    project = small_project()
    people = [UserFactory(username=f"p{points}") for points in (30, 20, 10)]
    for person, points in zip(people, (30, 20, 10), strict=True):
        ledger_entry(person, project, timezone.now() - timedelta(minutes=1), points)
    leaderboards_rebuild()
    body = client_for(people[2]).get(URL, {"window": "day", "limit": 2}).json()
    assert [row["display_name"] for row in body["results"]] == ["p30", "p20"]
    assert body["count"] == 3
    assert (body["me"]["rank"], body["me"]["points"], body["me"]["display_name"]) == (3, 10, "p10")
    second_page = client_for(people[2]).get(URL, {"window": "day", "limit": 2, "offset": 2}).json()
    assert [row["display_name"] for row in second_page["results"]] == ["p10"]


def test_someone_without_points_gets_an_empty_own_row(client_for):
    newcomer = UserFactory(username="newcomer", display_name="New Comer")
    body = client_for(newcomer).get(URL).json()
    assert body["window"] == "all"
    assert body["results"] == []
    assert body["computed_at"] is None
    assert body["me"] == {
        "rank": None,
        "user_id": newcomer.pk,
        "display_name": "New Comer",
        "points": 0,
        "level": 1,
        "streak_days": 0,
        "contributions": {"prompts": 0, "replies": 0, "reviews": 0, "rankings": 0},
    }


def test_page_loads_only_read_what_the_beat_task_computed(client_for):
    history = play_history()
    body = client_for(history.best).get(URL).json()
    assert body["results"] == []  # nothing computed yet: the request computes nothing
    community_refresh()
    assert client_for(history.best).get(URL).json()["me"]["rank"] == 1


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"window": "year"}, "window", "invalid_choice"),
        ({"window": "DAY"}, "window", "invalid_choice"),
        ({"limit": "0"}, "limit", "min_value"),
        ({"limit": "1000"}, "limit", "max_value"),
        ({"offset": "-1"}, "offset", "min_value"),
        ({"offset": "x"}, "offset", "invalid"),
    ],
)
def test_bad_queries_are_400(client_for, query, field, code):
    response = client_for(UserFactory()).get(URL, query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["fields"][field][0]["code"] == code


def test_an_unknown_project_is_404(client_for):
    response = client_for(UserFactory()).get(URL, {"project": "no-such-project"})
    assert response.status_code == 404
    assert response.json() == {"code": "project_not_found", "detail": "No such project."}


def test_the_leaderboard_needs_a_login_but_the_formula_is_public(db):
    assert APIClient().get(URL).status_code == 401
    response = APIClient().get("/api/v1/leaderboard/formula")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == FORMULA["version"]
    assert {rule["reason"]: rule["points"] for rule in body["rules"]} == {
        "prompt_written": 4,
        "reply_written": 4,
        "review_submitted": 1,
        "ranking_submitted": 2,
        "prompt_accepted": 4,
        "reply_accepted": 2,
        "message_rejected": -10,
        "reply_ranked": "floor(10 * (n - 1 - rank) / (n - 1))",
        "ranking_agreement": "floor(5 * max(tau, 0))",
    }
    assert body["levels"][-1] == {"level": 10, "min_points": 10000}
    assert body["streak"]["grace_hours"] == 36


def test_the_leaderboard_is_read_only(client_for):
    client = client_for(UserFactory())
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(URL, {}, format="json")
        assert response.status_code == 405


def test_users_me_shows_points_level_and_streak(client_for):
    history = play_history()
    community_refresh()
    body = client_for(history.best).get("/api/v1/users/me").json()
    assert (body["points"], body["level"], body["streak_days"]) == (16, 1, 1)
    spammer = client_for(history.spammer).get("/api/v1/users/me").json()
    assert (spammer["points"], spammer["level"], spammer["streak_days"]) == (-6, 1, 1)
