from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from backend.accounts.models import Role
from backend.arena.models import ModelEndpoint
from backend.arena.secrets import secret_decrypt
from backend.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

BODY = {
    "name": "gpt-small",
    "base_url": "https://api.example.org/v1",
    "model": "gpt-4o-mini",
    "api_key": "sk-test-123",
    "params": {"temperature": 0.2, "max_tokens": 300, "system_prompt": "Be brief."},
    "enabled": True,
}


def test_researcher_registers_a_model_with_its_key_encrypted(make_user, client_for) -> None:
    researcher = make_user(Role.RESEARCHER)
    response = client_for(researcher).post("/api/v1/models/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "gpt-small"
    assert body["has_api_key"] is True
    assert "sk-test-123" not in response.content.decode()
    assert body["params"]["temperature"] == 0.2
    assert body["params"]["max_tokens"] == 300
    assert body["health"] == "new"
    stored = ModelEndpoint.objects.get(name="gpt-small")
    assert "sk-test-123" not in stored.api_key_encrypted
    assert secret_decrypt(stored.api_key_encrypted) == "sk-test-123"
    event = AuditEvent.objects.get(action="model.created")
    assert event.actor_id == researcher.pk
    assert event.after["has_api_key"] is True
    assert "sk-test-123" not in str(event.after)
    listed = client_for(researcher).get("/api/v1/models/").json()
    assert [row["name"] for row in listed] == ["gpt-small"]
    assert listed[0]["last_error"] == ""
    assert listed[0]["breaker"] == "closed"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": "Not A Slug"}, "name", "invalid"),
        ({"base_url": "ftp://x.org"}, "base_url", "invalid"),
        ({"params": {"temperature": 5}}, "params.temperature", "max_value"),
        ({"params": {"max_tokens": "many"}}, "params.max_tokens", "invalid"),
        ({"api_key_env": "OPENAI_KEY"}, "api_key", "ambiguous"),
        ({"enabled": "yes"}, "enabled", "invalid"),
    ],
)
def test_bad_input_is_a_400_with_the_field(make_user, client_for, change, field, code) -> None:
    researcher = make_user(Role.RESEARCHER)
    response = client_for(researcher).post("/api/v1/models/", {**BODY, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert ModelEndpoint.objects.count() == 0


def test_a_name_is_unique(make_user, client_for) -> None:
    client = client_for(make_user(Role.RESEARCHER))
    assert client.post("/api/v1/models/", BODY, format="json").status_code == 201
    again = client.post("/api/v1/models/", BODY, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "unique"
    assert ModelEndpoint.objects.count() == 1


def test_volunteers_may_neither_list_nor_add(make_user, client_for) -> None:
    client = client_for(make_user(Role.VOLUNTEER))
    assert client.get("/api/v1/models/").status_code == 403
    assert client.post("/api/v1/models/", BODY, format="json").status_code == 403
    assert ModelEndpoint.objects.count() == 0


def test_patch_turns_a_model_off(make_user, client_for) -> None:
    client = client_for(make_user(Role.RESEARCHER))
    client.post("/api/v1/models/", BODY, format="json")
    response = client.patch("/api/v1/models/gpt-small", {"enabled": False}, format="json")
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response.json()["health"] == "off"
    assert client.patch("/api/v1/models/nope", {"enabled": False}, format="json").status_code == 404


def test_model_add_command_names_the_key_variable(db) -> None:
    out = io.StringIO()
    call_command(
        "model_add",
        "local-llama",
        "--base-url",
        "http://127.0.0.1:11434/v1",
        "--model",
        "llama3.1",
        "--api-key-env",
        "OLLAMA_KEY",
        stdout=out,
    )
    endpoint = ModelEndpoint.objects.get(name="local-llama")
    assert endpoint.api_key_env == "OLLAMA_KEY"
    assert endpoint.api_key_encrypted == ""
    assert endpoint.base_url == "http://127.0.0.1:11434/v1"
    assert "Registered model local-llama" in out.getvalue()


def test_the_models_page_adds_and_lists(make_user, client) -> None:
    client.force_login(make_user(Role.RESEARCHER))
    response = client.post(
        "/models/",
        {
            "action": "add",
            "name": "page-model",
            "base_url": "http://127.0.0.1:11434/v1",
            "model": "llama3.1",
            "temperature": "0.3",
        },
    )
    assert response.status_code == 302
    endpoint = ModelEndpoint.objects.get(name="page-model")
    assert (endpoint.model, endpoint.temperature) == ("llama3.1", 0.3)
    page = client.get("/models/").content.decode()
    assert 'data-model-row="page-model"' in page
    bad = client.post(
        "/models/", {"action": "add", "name": "x", "base_url": "nope", "model": "m"}, follow=True
    )
    assert "An http(s) address" in bad.content.decode()
    assert ModelEndpoint.objects.count() == 1
    client.post("/models/", {"action": "disable", "name": "page-model"})
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False


def test_volunteers_do_not_get_the_models_page(make_user, client) -> None:
    client.force_login(make_user(Role.VOLUNTEER))
    assert client.get("/models/").status_code == 403
