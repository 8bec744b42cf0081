"""Every answer under /api/ is JSON, whoever produced it: a URL no route matches, a
body Django refuses before DRF sees it, an unexpected exception (500, with the
request id that the log line carries too)."""

from __future__ import annotations

import json
import logging

import pytest
from rest_framework.test import APIClient

from tests.api.scenario import db_snapshot

pytestmark = pytest.mark.django_db


def json_body(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)


@pytest.fixture
def world(world_at):  # type: ignore[no-untyped-def]
    return world_at("growing")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/trees/abc",
        "/api/v1/trees/-1",
        "/api/v1/trees/1.5",
        "/api/v1/messages/abc",
        "/api/v1/assignments/x/submit",
        "/api/v1/no-such-endpoint",
    ],
)
def test_a_path_that_matches_no_route_is_a_json_404(world, path):
    response = world.client(world.dave).get(path)

    assert response.status_code == 404
    assert json_body(response) == {"code": "not_found", "detail": "Not found."}


def test_pages_outside_the_api_keep_their_html_404(world):
    response = world.client(world.dave).get("/trees/abc/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_size_limit_is_a_json_400_and_changes_nothing(world, settings):
    before = db_snapshot()
    body = json.dumps({"emoji": "+1", "padding": "x" * (10 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = world.client(world.dave).post(
        f"/api/v1/messages/{world.root.pk}/reactions", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert json_body(response)["code"] == "request_too_large"
    assert db_snapshot() == before


def test_a_form_with_too_many_fields_is_a_json_400_and_changes_nothing(world):
    before = db_snapshot()
    body = "&".join(f"k{index}=1" for index in range(200_000))

    response = world.client(world.dave).post(
        f"/api/v1/messages/{world.root.pk}/reactions",
        body,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert json_body(response)["code"] == "too_many_fields"
    assert db_snapshot() == before


def test_a_json_object_with_200k_keys_is_a_json_400_and_changes_nothing(world, settings):
    before = db_snapshot()
    body = json.dumps({f"k{index}": 1 for index in range(200_000)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = world.client(world.dave).post(
        f"/api/v1/messages/{world.root.pk}/reactions", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert json_body(response)["code"] == "request_too_large"
    assert db_snapshot() == before


def test_an_unexpected_error_is_a_json_500_with_the_logged_request_id(world, monkeypatch, caplog):
    def broken(**_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the selector broke")

    monkeypatch.setattr("backend.consensus.trees_api.tree_with_messages", broken)
    client = world.client(world.dave)
    client.raise_request_exception = False

    with caplog.at_level(logging.ERROR, logger="backend.common.middleware"):
        response = client.get(f"/api/v1/trees/{world.tree.pk}")

    assert response.status_code == 500
    body = json_body(response)
    assert set(body) == {"code", "detail", "request_id"}
    assert body["code"] == "server_error"
    assert len(body["request_id"]) == 32
    assert response["X-Request-ID"] == body["request_id"]
    logged = [record for record in caplog.records if body["request_id"] in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "the selector broke" in str(logged[0].exc_info[1])


def test_every_answer_carries_a_request_id_and_a_plain_incoming_one_is_kept(world):
    client = world.client(world.dave)

    generated = client.get("/api/v1/users/me")
    kept = client.get("/api/v1/users/me", HTTP_X_REQUEST_ID="proxy-42.a_b")
    replaced = client.get("/api/v1/users/me", HTTP_X_REQUEST_ID="bad id\nwith a newline")

    assert len(generated["X-Request-ID"]) == 32
    assert kept["X-Request-ID"] == "proxy-42.a_b"
    assert len(replaced["X-Request-ID"]) == 32


def test_an_anonymous_404_under_the_api_is_json_too():
    response = APIClient().get("/api/v1/trees/abc")

    assert response.status_code == 404
    assert json_body(response)["code"] == "not_found"
