"""Contract of GET /api/v1/projects/, /projects/{slug} and /projects/{slug}/stats."""

from __future__ import annotations

import pytest

from backend.projects.models import Project
from backend.projects.services import project_create
from tests.api.scenario import claim_ok, db_snapshot

pytestmark = pytest.mark.django_db

DEFAULT_SETTINGS = {
    "goal_tree_size": 15,
    "max_depth": 5,
    "max_children": 3,
    "num_reviews_initial_prompt": 3,
    "num_reviews_reply": 3,
    "acceptance_threshold": 0.6,
    "num_required_rankings": 3,
    "max_active_trees": 10,
    "lonely_children_count": 2,
    "p_lonely_child_extension": 0.75,
    "reservation_minutes": 60,
    "max_open_assignments": 8,
    "max_message_length": 2000,
    "min_message_length": 10,
    "requests_per_minute": 60,
    "replies_per_minute": 6,
    "duplicate_text_window_hours": 24,
    "max_prompt_lottery_waiting": 1000,
    "assignment_weights": {
        "initial_prompt": 0.1,
        "prompter_reply": 1.0,
        "assistant_reply": 1.0,
        "label_initial_prompt": 1.0,
        "label_prompter_reply": 1.0,
        "label_assistant_reply": 1.0,
        "rank_prompter_replies": 1.0,
        "rank_assistant_replies": 1.0,
    },
    "labelling_mode": "full",
    "auto_delete_red_flags": 4,
    "auto_halt_reply_skips": 25,
    "queue_reply_skips": 10,
    "acceptance_rule": "mean",
    "own_edit_window_minutes": 10,
    "on_account_deletion": "anonymise",
    "vote_weighting": "none",
    "quality_toxicity_threshold": 0.8,
    "quality_near_duplicate_threshold": 0.8,
    "quality_leakage_threshold": 20.0,
    "qualification": {},
    "gold_rate": 0.05,
    "gold_min_accuracy": 0.5,
    "quality_lang_min_confidence": 0.9,
}
DEFAULT_LABEL_SCHEMA = [
    {"name": "spam", "kind": "flag", "mandatory": True},
    *(
        {"name": name, "kind": "flag", "mandatory": False}
        for name in (
            "fails_task", "lang_mismatch", "pii", "not_appropriate", "hate_speech",
            "sexual_content", "moral_judgement", "political_content",
        )
    ),
    *(
        {"name": name, "kind": "likert", "mandatory": False}
        for name in ("quality", "toxicity", "humor", "helpfulness", "creativity", "violence")
    ),
]  # fmt: skip
NO_WORK = {
    "prompter_reply": 0,
    "assistant_reply": 0,
    "label_initial_prompt": 0,
    "label_prompter_reply": 0,
    "label_assistant_reply": 0,
    "rank_prompter_replies": 0,
    "rank_assistant_replies": 0,
    "compare_model_replies": 0,  # the arena's kind (backend/arena) is registered too
}


@pytest.fixture
def volunteer(make_user, client_for):  # type: ignore[no-untyped-def]
    return client_for(make_user())


def test_list_shows_active_projects_by_slug_with_settings_and_labels(volunteer):
    project_create(
        slug="zeta", name="Zeta", languages=["en", "de"], guidelines="# Be kind\nAlways."
    )
    project_create(slug="alpha", settings={"goal_tree_size": 4, "labelling_mode": "simple"})
    project_create(slug="retired")
    Project.objects.filter(slug="retired").update(is_active=False)

    response = volunteer.get("/api/v1/projects/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "alpha",
            "name": "alpha",
            "guidelines": "",
            "guidelines_translations": {},
            "kind_instructions": {},
            "languages": ["en"],
            "is_active": True,
            "settings": {**DEFAULT_SETTINGS, "goal_tree_size": 4, "labelling_mode": "simple"},
            "label_schema": DEFAULT_LABEL_SCHEMA,
        },
        {
            "slug": "zeta",
            "name": "Zeta",
            "guidelines": "# Be kind\nAlways.",
            "guidelines_translations": {},
            "kind_instructions": {},
            "languages": ["en", "de"],
            "is_active": True,
            "settings": DEFAULT_SETTINGS,
            "label_schema": DEFAULT_LABEL_SCHEMA,
        },
    ]


def test_list_is_empty_without_projects(volunteer):
    assert volunteer.get("/api/v1/projects/").json() == []


def test_project_detail(volunteer):
    project_create(slug="demo", name="Demo", languages=["de"], settings={"max_depth": 2})
    response = volunteer.get("/api/v1/projects/demo")
    assert response.status_code == 200
    assert response.json() == {
        "slug": "demo",
        "name": "Demo",
        "guidelines": "",
        "guidelines_translations": {},
        "kind_instructions": {},
        "languages": ["de"],
        "is_active": True,
        "settings": {**DEFAULT_SETTINGS, "max_depth": 2},
        "label_schema": DEFAULT_LABEL_SCHEMA,
    }


@pytest.mark.parametrize("suffix", ["", "/stats"])
def test_unknown_project_is_404(volunteer, suffix):
    response = volunteer.get(f"/api/v1/projects/nothing-here{suffix}")
    assert response.status_code == 404
    assert response.json() == {"code": "project_not_found", "detail": "No such project."}


STATS_BEFORE_THE_DASHBOARD = {
    "project",
    "trees_by_state",
    "messages",
    "work_available",
    "agreement",
}


def test_stats_of_an_empty_project(volunteer):
    project_create(slug="fresh", languages=["en", "de"])
    response = volunteer.get("/api/v1/projects/fresh/stats")
    assert response.status_code == 200
    body = response.json()
    # The dashboard's figures over time: tests/web/test_project_dashboard.py.
    assert body.pop("acceptance") == {
        "prompts": {"accepted": 0, "decided": 0, "rate": None},
        "replies": {"accepted": 0, "decided": 0, "rate": None},
    }
    assert body.pop("active_volunteers") == {"last_24_hours": 0, "last_7_days": 0}
    assert body.pop("median_seconds_per_kind") == {}
    assert body.pop("trees_by_language") == {}
    assert body.pop("agreement_over_time") == []
    assert body.pop("moderation_backlog")["open"] == 0
    assert sum(body.pop("activity")["daily"]["messages"]) == 0
    assert body.pop("generated_at")
    assert body == {
        "project": "fresh",
        "trees_by_state": {},
        "messages": {
            "total": 0,
            "accepted": 0,
            "rejected": 0,
            "under_review": 0,
            "ranked": 0,
            "deleted": 0,
            "contributors": 0,
        },
        "work_available": {"en": NO_WORK, "de": NO_WORK},
        "agreement": None,
        "quality": {
            "computed": 0,
            "flags": {
                flag: {"count": 0, "rate": None}
                for flag in (
                    "lang_mismatch",
                    "toxicity",
                    "pii",
                    "near_duplicate",
                    "exact_duplicate",
                    "leakage",
                )
            },
            "by_language": {},
        },
    }


def test_stats_while_replies_await_review(world_at):
    world = world_at("replies_in_review")
    body = world.client(world.dave).get(f"/api/v1/projects/{world.project.slug}/stats").json()
    # Quality signals are computed after commit (tests/community/test_quality_stats.py).
    assert set(body.pop("quality")) == {"computed", "flags", "by_language"}
    body = {key: value for key, value in body.items() if key in STATS_BEFORE_THE_DASHBOARD}
    assert body == {
        "project": world.project.slug,
        "trees_by_state": {"growing": 1},
        "messages": {
            "total": 3,
            "accepted": 1,
            "rejected": 0,
            "under_review": 2,
            "ranked": 0,
            "deleted": 0,
            "contributors": 3,
        },
        "work_available": {"en": {**NO_WORK, "label_assistant_reply": 2}},
        "agreement": None,
    }


def test_stats_count_open_slots_not_reserved_ones(world_at):
    world = world_at("ranking", num_required_rankings=2)
    url = f"/api/v1/projects/{world.project.slug}/stats"
    body = world.client(world.dave).get(url).json()
    assert body["trees_by_state"] == {"ranking": 1}
    assert body["messages"]["accepted"] == 3
    assert body["work_available"] == {"en": {**NO_WORK, "rank_assistant_replies": 2}}
    claim_ok(world.client(world.dave), world.project.slug, "rank_assistant_replies")
    body = world.client(world.dave).get(url).json()
    assert body["work_available"] == {"en": {**NO_WORK, "rank_assistant_replies": 1}}


def test_volunteers_cannot_change_projects(volunteer):
    """Only researchers and admins create or change projects (tests/projects/
    test_management_api.py); what no one may do answers 405."""
    project_create(slug="demo")
    before = db_snapshot()
    refused = {
        ("/api/v1/projects/", "post"): (403, "permission_denied"),
        ("/api/v1/projects/demo", "patch"): (403, "permission_denied"),
    }
    for path in ("/api/v1/projects/", "/api/v1/projects/demo", "/api/v1/projects/demo/stats"):
        for method in ("post", "put", "patch", "delete"):
            response = getattr(volunteer, method)(path, {"slug": "x"}, format="json")
            expected = refused.get((path, method), (405, "method_not_allowed"))
            assert (response.status_code, response.json()["code"]) == expected, (method, path)
    assert db_snapshot() == before
