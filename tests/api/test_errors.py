"""Cross-cutting error contract: authentication, bans, malformed bodies, and a fuzz.

Every error is JSON ``{"code", "detail"[, "fields"]}`` with a stable code; bad input is
a 4xx, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.assignments.models import Kind
from tests.api.scenario import World, claim_ok, db_snapshot

pytestmark = pytest.mark.django_db

WRITE = "write"
READ = "read"


def endpoints(world: World, assignment_id: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, method, path, a valid body) for every v1 operation."""
    slug = world.project.slug
    return [
        (WRITE, "post", "/api/v1/assignments/", {"project": slug}),
        (WRITE, "post", f"/api/v1/assignments/{assignment_id}/submit", {"ranking": []}),
        (WRITE, "post", f"/api/v1/assignments/{assignment_id}/skip", {}),
        (WRITE, "post", f"/api/v1/messages/{world.root.pk}/reactions", {"emoji": "+1"}),
        (READ, "get", "/api/v1/assignments/", {}),
        (READ, "get", f"/api/v1/trees/{world.tree.pk}", {}),
        (READ, "get", f"/api/v1/messages/{world.root.pk}", {}),
        (READ, "get", "/api/v1/projects/", {}),
        (READ, "get", f"/api/v1/projects/{slug}", {}),
        (READ, "get", f"/api/v1/projects/{slug}/stats", {}),
        (READ, "get", "/api/v1/users/me", {}),
    ]


@pytest.fixture
def ranking_world(world_at) -> tuple[World, int]:  # type: ignore[no-untyped-def]
    world = world_at("ranking")
    assignment = claim_ok(world.client(world.dave), world.project.slug, "rank_assistant_replies")
    return world, assignment["id"]


def call(client: APIClient, method: str, path: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    if method == "get":
        return client.get(path)
    return client.post(path, body, format="json")


def assert_error_shape(body: dict[str, Any]) -> None:
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]


# --- Authentication and bans ----------------------------------------------------------


def test_anonymous_is_401_everywhere(ranking_world):
    world, assignment_id = ranking_world
    before = db_snapshot()
    for _, method, path, body in endpoints(world, assignment_id):
        response = call(APIClient(), method, path, body)
        assert response.status_code == 401, path
        assert response.json() == {
            "code": "not_authenticated",
            "detail": "Authentication credentials were not provided.",
        }, path
    assert db_snapshot() == before


def test_a_bad_token_is_401_everywhere(ranking_world):
    world, assignment_id = ranking_world
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    before = db_snapshot()
    for _, method, path, body in endpoints(world, assignment_id):
        response = call(client, method, path, body)
        assert response.status_code == 401, path
        assert response.json() == {"code": "authentication_failed", "detail": "Invalid token."}
    assert db_snapshot() == before


def test_a_banned_user_gets_403_banned_on_every_write_but_can_read(ranking_world):
    world, assignment_id = ranking_world
    User.objects.filter(pk=world.dave.pk).update(is_banned=True)
    client = world.client(world.dave)
    client.force_authenticate(User.objects.get(pk=world.dave.pk))
    before = db_snapshot()
    for kind, method, path, body in endpoints(world, assignment_id):
        response = call(client, method, path, body)
        if kind == WRITE:
            assert response.status_code == 403, path
            assert response.json() == {"code": "banned", "detail": "Your account is banned."}
        else:
            assert response.status_code == 200, path
    assert db_snapshot() == before


# --- Malformed bodies -----------------------------------------------------------------


def write_paths(world: World, assignment_id: int) -> list[str]:
    return [path for kind, _, path, _ in endpoints(world, assignment_id) if kind == WRITE]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"project": }',
        b"{'project': 'single quotes'}",
        b'{"text": "unterminated}',
        b'{"labels": {"spam": NaN}}',
        b'{"labels": {"spam": Infinity}}',
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"text": "\\ud800 lone surrogate"}',
        b'{"project": "\\udfff"}',
        b'{"kind": "\\ud83d"}',
        b'{"labels": {"\\ud800": 1}}',
        b'{"ranking": [1, {"\\udc00": 2}]}',
    ],
)
def test_malformed_json_is_400_parse_error(ranking_world, raw):
    world, assignment_id = ranking_world
    client = world.client(world.dave)
    before = db_snapshot()
    for path in write_paths(world, assignment_id):
        response = client.generic("POST", path, raw, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:200])
        body = response.json()
        assert body["code"] == "parse_error"
        assert set(body) == {"code", "detail"}
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"null", "null"),
        (b"[]", "invalid"),
        (b'["project"]', "invalid"),
        (b'"a string"', "invalid"),
        (b"42", "invalid"),
        (b"true", "invalid"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(ranking_world, raw, code):
    world, assignment_id = ranking_world
    client = world.client(world.dave)
    before = db_snapshot()
    for path in write_paths(world, assignment_id):
        response = client.generic("POST", path, raw, content_type="application/json")
        assert response.status_code == 400, path
        body = response.json()
        assert_error_shape(body)
        assert body["code"] == code
        assert [entry["code"] for entry in body["fields"]["non_field_errors"]] == [code]
    assert db_snapshot() == before


def test_unsupported_media_types_are_415(ranking_world):
    world, assignment_id = ranking_world
    client = world.client(world.dave)
    before = db_snapshot()
    for path in write_paths(world, assignment_id):
        response = client.generic("POST", path, b"project=x", content_type="text/plain")
        assert response.status_code == 415, path
        assert response.json()["code"] == "unsupported_media_type"
    assert db_snapshot() == before


def test_an_empty_json_body_counts_as_empty_input(ranking_world):
    world, _ = ranking_world
    response = world.client(world.dave).generic(
        "POST", "/api/v1/assignments/", b"", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["project"][0]["code"] == "required"


def test_wrong_methods_are_405(ranking_world):
    world, assignment_id = ranking_world
    client = world.client(world.dave)
    before = db_snapshot()
    for path in (
        f"/api/v1/assignments/{assignment_id}/submit",
        f"/api/v1/assignments/{assignment_id}/skip",
        f"/api/v1/messages/{world.root.pk}/reactions",
    ):
        for method in ("get", "put", "patch", "delete"):
            response = getattr(client, method)(path)
            assert response.status_code == 405, (method, path)
            body = response.json()
            assert body["code"] == "method_not_allowed"
            assert set(body) == {"code", "detail"}
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/assignments/").status_code == 405
    assert db_snapshot() == before


def test_unknown_api_paths_are_404(ranking_world):
    world, _ = ranking_world
    client = world.client(world.dave)
    for path in ("/api/v1/nothing", "/api/v1/assignments/abc/submit", "/api/v2/assignments/"):
        assert client.get(path).status_code == 404


# --- Fuzz: random bodies never answer 5xx ---------------------------------------------

LABEL_NAMES = ["spam", "lang_mismatch", "quality", "fails_task", "helpfulness", "bogus", ""]
KINDS = ["any", *Kind.values, "ANY", ""]

# Lone surrogates are valid JSON escapes but not text (they cannot be encoded as UTF-8).
odd_text = st.text(st.characters(categories=["Cs", "Ll", "Nd"]), min_size=1, max_size=3)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | odd_text
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | odd_text, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def fuzz_request(draw, targets: dict[str, Any]):  # type: ignore[no-untyped-def]
    """(client index, path, raw body, headers) aimed at claim, submit or skip."""
    client_index = draw(st.integers(min_value=0, max_value=len(targets["clients"]) - 1))
    endpoint = draw(st.sampled_from(["claim", "submit", "skip"]))
    if endpoint == "claim":
        path = "/api/v1/assignments/"
    else:
        assignment_id = draw(
            st.sampled_from(targets["assignment_ids"])
            | st.integers(min_value=-5, max_value=2**70).filter(lambda value: value >= 0)
        )
        path = f"/api/v1/assignments/{assignment_id}/{endpoint}"
    candidate_ids = targets["message_ids"]
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "project": st.sampled_from(targets["slugs"]) | json_value,
            "lang": st.sampled_from(["en", "de", ""]) | json_value,
            "kind": st.sampled_from(KINDS) | odd_text | json_value,
            "text": st.text(max_size=60) | json_value,
            "labels": st.dictionaries(
                st.sampled_from(LABEL_NAMES) | odd_text, json_leaf, max_size=5
            )
            | json_value,
            "ranking": st.lists(st.sampled_from(candidate_ids) | json_leaf, max_size=4)
            | json_value,
            "reason": st.text(max_size=600) | json_value,
        },
    )
    kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "any_json", "bytes"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=80))
    else:
        raw = json.dumps(draw(shaped if kind == "shaped" else json_value)).encode()
    headers = {}
    key = draw(
        st.none()
        | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=220)
        | st.text(st.characters(max_codepoint=0xFF), max_size=8)  # control bytes, latin-1
    )
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client_index, path, raw, headers


@pytest.fixture
def fuzz_targets(world_at) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Open assignments of every family (text, labels, ranking) for two people."""
    limits = {"max_open_assignments": 1000, "max_prompt_lottery_waiting": 1000}
    ranking = world_at("ranking", num_required_rankings=5, **limits)
    growing = world_at("growing", goal_tree_size=10, max_children=5, **limits)
    review = world_at("prompt_review", num_reviews_initial_prompt=5, **limits)
    people = [(ranking, ranking.dave), (growing, growing.carol), (review, review.dave)]
    kinds = ["rank_assistant_replies", "assistant_reply", "label_initial_prompt"]
    assignment_ids = []
    for (world, user), kind in zip(people, kinds, strict=True):
        assignment_ids.append(claim_ok(world.client(user), world.project.slug, kind)["id"])
        assignment_ids.append(
            claim_ok(world.client(user), world.project.slug, "initial_prompt")["id"]
        )
    return {
        "clients": [world.client(user) for world, user in people],
        "assignment_ids": assignment_ids,
        "slugs": [world.project.slug for world, _ in people] + ["no-such-project"],
        "message_ids": [m.pk for world, _ in people for m in (world.root, *world.replies)],
    }


def test_fuzzed_bodies_never_answer_5xx(fuzz_targets):
    statuses: dict[int, int] = {}

    @settings(
        max_examples=200,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=fuzz_request(fuzz_targets))
    def run(request: tuple[int, str, bytes, dict[str, str]]) -> None:
        client_index, path, raw, headers = request
        client = fuzz_targets["clients"][client_index]
        response = client.generic("POST", path, raw, content_type="application/json", **headers)
        assert response.status_code < 500, (path, raw, response.content[:300])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code >= 400:
            assert_error_shape(response.json())

    run()
    # The fuzz reached past validation too, not only 400s.
    assert set(statuses) & {200, 201, 204, 409}, statuses
