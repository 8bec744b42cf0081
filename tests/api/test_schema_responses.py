"""The answers of the main endpoints match the OpenAPI schema, errors included, and
the schema generates without a warning."""

from __future__ import annotations

import warnings

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.api.openapi_check import SchemaChecker, published_schema
from tests.api.scenario import claim_ok

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings_or_errors(capsys):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SchemaGenerator().get_schema(request=None, public=True)

    assert (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache) == ({}, {})
    assert "Warning" not in capsys.readouterr().err


@pytest.fixture
def checker() -> SchemaChecker:
    return SchemaChecker(published_schema())


def test_answers_match_the_schema(world_at, make_user, client_for, checker):
    world = world_at("ranking")
    slug = world.project.slug
    volunteer = world.client(world.dave)
    moderator = client_for(make_user("moderator"))
    admin_user = make_user()
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    admin = client_for(admin_user)
    reply = world.replies[0]
    assignment = claim_ok(volunteer, slug, "rank_assistant_replies")

    calls = [
        # (client, method, template, path, body)
        (volunteer, "get", "/api/v1/assignments/", "/api/v1/assignments/", None),
        (volunteer, "get", "/api/v1/trees/{tree_id}", f"/api/v1/trees/{world.tree.pk}", None),
        (volunteer, "get", "/api/v1/trees/{tree_id}", "/api/v1/trees/999999", None),
        (volunteer, "get", "/api/v1/messages/{message_id}", f"/api/v1/messages/{reply.pk}", None),
        (volunteer, "get", "/api/v1/projects/", "/api/v1/projects/", None),
        (volunteer, "get", "/api/v1/projects/{slug}", f"/api/v1/projects/{slug}", None),
        (volunteer, "get", "/api/v1/projects/{slug}/stats", f"/api/v1/projects/{slug}/stats", None),
        (volunteer, "get", "/api/v1/users/me", "/api/v1/users/me", None),
        (volunteer, "get", "/api/v1/leaderboard/", "/api/v1/leaderboard/", None),
        (volunteer, "get", "/api/v1/leaderboard/", "/api/v1/leaderboard/?limit=0", None),
        (volunteer, "get", "/api/v1/leaderboard/", "/api/v1/leaderboard/?window=", None),
        (client_for(None), "get", "/api/v1/users/me", "/api/v1/users/me", None),
        (volunteer, "get", "/api/v1/moderation/queue", "/api/v1/moderation/queue", None),
        (
            volunteer,
            "post",
            "/api/v1/messages/{message_id}/reactions",
            f"/api/v1/messages/{reply.pk}/reactions",
            {"emoji": "+1"},
        ),
        (
            volunteer,
            "post",
            "/api/v1/messages/{message_id}/reports",
            f"/api/v1/messages/{reply.pk}/reports",
            {"reason": "spam"},
        ),
        (
            volunteer,
            "post",
            "/api/v1/assignments/{assignment_id}/submit",
            f"/api/v1/assignments/{assignment['id']}/submit",
            {"ranking": [1]},
        ),
        (
            volunteer,
            "post",
            "/api/v1/assignments/{assignment_id}/submit",
            f"/api/v1/assignments/{assignment['id']}/submit",
            {"ranking": sorted(c["id"] for c in assignment["candidates"])},
        ),
        (volunteer, "post", "/api/v1/assignments/", "/api/v1/assignments/", {"project": slug}),
        (moderator, "get", "/api/v1/moderation/queue", "/api/v1/moderation/queue", None),
        (moderator, "get", "/api/v1/moderation/queue", "/api/v1/moderation/queue?state=", None),
        (moderator, "get", "/api/v1/moderation/trollboard", "/api/v1/moderation/trollboard", None),
        (moderator, "get", "/api/v1/audit-log", "/api/v1/audit-log?limit=5", None),
        (moderator, "get", "/api/v1/trees/{tree_id}", f"/api/v1/trees/{world.tree.pk}", None),
        (
            moderator,
            "get",
            "/api/v1/messages/{message_id}/revisions",
            f"/api/v1/messages/{reply.pk}/revisions",
            None,
        ),
        (
            moderator,
            "post",
            "/api/v1/messages/{message_id}/delete",
            f"/api/v1/messages/{reply.pk}/delete",
            {"reason": "spam"},
        ),
        (
            moderator,
            "post",
            "/api/v1/messages/{message_id}/delete",
            f"/api/v1/messages/{reply.pk}/delete",
            {"reason": "again"},
        ),
        (
            moderator,
            "post",
            "/api/v1/trees/{tree_id}/halt",
            f"/api/v1/trees/{world.tree.pk}/halt",
            {"reason": "look"},
        ),
        (
            moderator,
            "post",
            "/api/v1/users/{user_id}/ban",
            f"/api/v1/users/{world.carol.pk}/ban",
            {"reason": "abuse"},
        ),
        (
            moderator,
            "post",
            "/api/v1/users/{user_id}/unban",
            f"/api/v1/users/{world.carol.pk}/unban",
            {},
        ),
        (
            admin,
            "get",
            "/api/v1/projects/{slug}/agreement",
            f"/api/v1/projects/{slug}/agreement",
            None,
        ),
        (admin, "get", "/api/v1/exports/", "/api/v1/exports/", None),
    ]
    seen = []
    for client, method, template, path, body in calls:
        response = (
            getattr(client, method)(path, body, format="json")
            if body is not None
            else (getattr(client, method)(path))
        )
        checker.check(template, method, response)
        seen.append(response.status_code)

    assert {200, 201, 400, 401, 403, 404, 409} <= set(seen)


def test_every_operation_documents_the_common_errors(checker):
    schema = checker.schema
    error_ref = "#/components/schemas/Error"
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "429", "500"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
            if "{" in path:
                assert "404" in responses, (method, path)
            if method == "post":
                assert "409" in responses, (method, path)
            if path != "/api/v1/leaderboard/formula":
                assert {"401", "403"} <= set(responses), (method, path)
            for status in ("400", "429", "500"):
                body = responses[status]["content"]["application/json"]["schema"]
                assert body == {"$ref": error_ref}, (method, path, status)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail"]
