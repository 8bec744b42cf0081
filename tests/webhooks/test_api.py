"""The webhooks API: who may use it, what it checks, what it records."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.webhooks.models import Delivery, Webhook
from tests.factories import small_project

pytestmark = pytest.mark.django_db

GOOD = {"url": "https://8.8.8.8/arbor", "events": ["tree.ready_for_export"]}


@pytest.fixture
def project():
    return small_project()


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("volunteer", 403), ("moderator", 403), ("researcher", 201), ("admin", 201)],
)
def test_only_researchers_and_admins_add_webhooks(project, make_user, client_for, role, status):
    user = make_user(role) if role else None
    answer = client_for(user).post(f"/api/v1/projects/{project.slug}/webhooks", GOOD, format="json")
    assert answer.status_code == status, answer.content
    assert Webhook.objects.count() == (1 if status == 201 else 0)
    if status != 201:
        assert answer.json()["code"] in ("not_authenticated", "permission_denied")
        assert not AuditEvent.objects.filter(action__startswith="webhook.").exists()


@pytest.mark.parametrize("role", ["volunteer", "moderator"])
def test_others_can_neither_read_nor_change_a_webhook(project, make_user, client_for, role):
    researcher = make_user("researcher")
    created = (
        client_for(researcher)
        .post(f"/api/v1/projects/{project.slug}/webhooks", GOOD, format="json")
        .json()
    )
    client = client_for(make_user(role))
    base = f"/api/v1/webhooks/{created['id']}"
    assert client.get(f"/api/v1/projects/{project.slug}/webhooks").status_code == 403
    assert client.get(base).status_code == 403
    assert client.patch(base, {"is_active": False}, format="json").status_code == 403
    assert client.delete(base).status_code == 403
    assert client.post(f"{base}/test").status_code == 403
    assert client.get(f"{base}/deliveries").status_code == 403
    webhook = Webhook.objects.get()
    assert (webhook.is_active, Delivery.objects.count()) == (True, 0)


def test_creating_answers_the_webhook_with_its_secret_and_audits_it(project, make_user, client_for):
    researcher = make_user("researcher")
    answer = client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/webhooks", GOOD, format="json"
    )
    body = answer.json()
    assert set(body) == {
        "id",
        "project",
        "url",
        "events",
        "secret",
        "is_active",
        "disabled_reason",
        "consecutive_failures",
        "created_at",
    }
    assert (body["project"], body["url"], body["events"], body["is_active"]) == (
        project.slug,
        GOOD["url"],
        GOOD["events"],
        True,
    )
    assert body["secret"].startswith("whsec_")
    event = AuditEvent.objects.get(action="webhook.created")
    assert (event.actor_id, event.project_id, event.target_id) == (
        researcher.pk,
        project.pk,
        str(body["id"]),
    )
    assert event.after == {"url": GOOD["url"], "events": GOOD["events"], "is_active": True}
    assert "secret" not in str(event.after)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "https://8.8.8.8/x", "events": ["tree.exploded"]}, "events.0", "invalid_choice"),
        ({"url": "https://8.8.8.8/x", "events": []}, "events", "empty"),
        ({"url": "not a url", "events": ["message.created"]}, "url", "invalid"),
        (
            {"url": "http://127.0.0.1:9/x", "events": ["message.created"]},
            "url",
            "webhook_private_target",
        ),
        (
            {"url": "http://169.254.169.254/", "events": ["message.created"]},
            "url",
            "webhook_private_target",
        ),
        ({"events": ["message.created"]}, "url", "required"),
    ],
)
def test_bad_input_gets_field_errors_and_stores_nothing(
    project, make_user, client_for, body, field, code
):
    answer = client_for(make_user("researcher")).post(
        f"/api/v1/projects/{project.slug}/webhooks", body, format="json"
    )
    assert answer.status_code == 400, answer.content
    problems = answer.json()["fields"][field]
    assert [problem["code"] for problem in problems][:1] == [code]
    assert Webhook.objects.count() == 0


def test_unknown_project_and_webhook_are_404(make_user, client_for):
    client = client_for(make_user("researcher"))
    assert client.get("/api/v1/projects/nope/webhooks").json()["code"] == "project_not_found"
    assert client.get("/api/v1/webhooks/999").json()["code"] == "webhook_not_found"
    assert client.post("/api/v1/webhooks/999/test").status_code == 404
    assert client.post("/api/v1/webhooks/999/deliveries/1/redeliver").status_code == 404


def test_change_test_list_redeliver_and_delete(project, make_user, client_for):
    researcher = make_user("researcher")
    client = client_for(researcher)
    webhook = client.post(f"/api/v1/projects/{project.slug}/webhooks", GOOD, format="json").json()
    base = f"/api/v1/webhooks/{webhook['id']}"

    changed = client.patch(base, {"events": ["message.created"], "is_active": False}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["is_active"]) == (["message.created"], False)
    update = AuditEvent.objects.get(action="webhook.updated")
    assert update.before == {"url": GOOD["url"], "events": GOOD["events"], "is_active": True}
    assert update.after == {"url": GOOD["url"], "events": ["message.created"], "is_active": False}

    tested = client.post(f"{base}/test")
    assert tested.status_code == 202
    assert (tested.json()["event"], tested.json()["state"]) == ("ping", "pending")
    [listed] = client.get(f"{base}/deliveries").json()
    assert listed["event_id"] == tested.json()["event_id"]
    redelivered = client.post(f"{base}/deliveries/{listed['id']}/redeliver")
    assert redelivered.status_code == 202
    assert redelivered.json()["event_id"] == listed["event_id"]

    assert client.delete(base).status_code == 204
    assert not Webhook.objects.exists()
    deleted = AuditEvent.objects.get(action="webhook.deleted")
    assert deleted.before["events"] == ["message.created"]


def test_the_webhooks_api_is_in_the_schema(client_for):
    import yaml

    document = yaml.safe_load(client_for(None).get("/api/schema/").content)
    assert {
        "/api/v1/projects/{slug}/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/test",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    } <= set(document["paths"])
