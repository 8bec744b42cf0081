"""The webhooks pages: a researcher adds, tests, turns off and deletes a webhook
without the API; everyone else is refused and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.audit.models import AuditEvent
from backend.webhooks.models import Delivery, Webhook
from tests.factories import small_project

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["volunteer", "moderator"])
def test_other_roles_are_refused(make_user, role):
    project = small_project()
    client = _client(make_user(role))
    assert client.get("/webhooks/").status_code == 403
    posted = client.post(
        "/webhooks/",
        {"project": project.slug, "url": "https://8.8.8.8/x", "events": ["message.created"]},
    )
    assert posted.status_code == 403
    assert not Webhook.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in():
    answer = Client().get("/webhooks/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_a_researcher_manages_a_webhook_from_the_pages(make_user):
    project = small_project()
    researcher = make_user("researcher")
    client = _client(researcher)
    page = client.get("/webhooks/").content.decode()
    assert "No webhooks yet." in page and f'value="{project.slug}"' in page
    assert 'href="/webhooks/"' in page  # in the site's menu

    added = client.post(
        "/webhooks/",
        {
            "project": project.slug,
            "url": "https://8.8.8.8/arbor",
            "events": ["tree.ready_for_export", "export.finished"],
        },
    )
    webhook = Webhook.objects.get()
    assert added.status_code == 302 and added["Location"] == f"/webhooks/{webhook.pk}/"
    assert webhook.events == ["tree.ready_for_export", "export.finished"]
    detail = client.get(added["Location"]).content.decode()
    assert webhook.secret in detail and 'data-webhook-state="on"' in detail

    assert client.post(added["Location"], {"action": "test"}).status_code == 302
    assert list(Delivery.objects.values_list("event", flat=True)) == ["ping"]
    client.post(added["Location"], {"action": "disable"})
    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert 'data-webhook-state="off"' in client.get(added["Location"]).content.decode()
    client.post(added["Location"], {"action": "delete"})
    assert not Webhook.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__startswith="webhook.").values_list("action", flat=True)
    ) == ["webhook.created", "webhook.tested", "webhook.updated", "webhook.deleted"]


def test_a_refused_address_is_explained_and_nothing_is_stored(make_user):
    project = small_project()
    client = _client(make_user("researcher"))
    answer = client.post(
        "/webhooks/",
        {"project": project.slug, "url": "http://127.0.0.1/x", "events": ["message.created"]},
        follow=True,
    )
    assert "private, loopback or reserved address" in answer.content.decode()
    assert not Webhook.objects.exists()
