"""Deliveries against a real HTTP receiver on localhost: what is sent, signed, retried,
given up and turned off, and which domain events become deliveries."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from werkzeug import Request, Response

from backend.audit.models import AuditEvent
from backend.common.events import MessageCreated, emit
from backend.common.models import OutboxMessage
from backend.common.outbox import outbox_relay
from backend.exports.services import export_job_create, export_job_run
from backend.trees.lifecycle import tree_lock, tree_transition
from backend.trees.models import Emoji, Tree, TreeState
from backend.trees.services import message_react
from backend.webhooks import signing
from backend.webhooks.models import Delivery, DeliveryState, Webhook
from backend.webhooks.services import (
    delivery_attempt,
    delivery_redeliver,
    webhook_create,
    webhook_send_test,
)
from tests.factories import people, small_project, write_prompt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]


def _hook(httpserver, project, events, user) -> Webhook:
    return webhook_create(
        project=project, url=httpserver.url_for("/hook"), events=events, actor_id=user.pk
    )


def _received(httpserver) -> list[tuple[Any, dict[str, Any]]]:
    return [(request, json.loads(request.data)) for request, _ in httpserver.log]


def _due_now() -> None:
    OutboxMessage.objects.update(available_at=timezone.now())


def test_a_new_message_is_delivered_signed_with_its_delivery_id(httpserver, make_user):
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)
    researcher = make_user("researcher")
    project = small_project()
    webhook = _hook(httpserver, project, ["message.created"], researcher)
    author = people(1)[0]

    prompt = write_prompt(project, author, text="What makes a good cup of tea?")
    assert Delivery.objects.filter(webhook=webhook).count() == 1
    _due_now()  # with a broker the commit hook would have sent it; here the relay does
    assert outbox_relay() >= 1

    [(request, body)] = _received(httpserver)
    delivery = Delivery.objects.get(webhook=webhook)
    assert body == {
        "id": str(delivery.event_id),
        "event": "message.created",
        "created_at": delivery.created_at.isoformat(),
        "project": project.slug,
        "data": {
            "message_id": prompt.pk,
            "tree_id": prompt.tree_id,
            "is_root": True,
            "url": f"/api/v1/messages/{prompt.pk}",
        },
    }
    assert request.headers["Arbor-Delivery"] == str(delivery.event_id)
    assert request.headers["Arbor-Event"] == "message.created"
    assert signing.verify(
        webhook.secret, request.headers["Arbor-Signature"], request.data, now=int(time.time())
    )
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 1
    [attempt] = delivery.tries.all()
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (200, "thanks", "")
    assert attempt.latency_ms is not None and attempt.latency_ms >= 0


def test_a_failed_delivery_is_retried_with_the_same_id_and_then_succeeds(httpserver, make_user):
    httpserver.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=204)
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.next_attempt_at is not None
    # The retry is owed durably, through the outbox.
    assert OutboxMessage.objects.filter(task_name="tasks.webhooks.deliver").count() == 2
    _due_now()
    outbox_relay()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SUCCEEDED, 2)
    ids = [request.headers["Arbor-Delivery"] for request, _ in _received(httpserver)]
    assert ids == [str(delivery.event_id)] * 2
    assert [a.status_code for a in delivery.tries.order_by("id")] == [500, 204]
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_a_failing_receiver_turns_the_webhook_off_and_says_why(httpserver, make_user, settings):
    settings.ARBOR_WEBHOOK_DISABLE_AFTER = 3
    settings.ARBOR_WEBHOOK_MAX_ATTEMPTS = 10
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)

    for _ in range(5):
        _due_now()
        outbox_relay()

    webhook.refresh_from_db()
    delivery.refresh_from_db()
    assert len(httpserver.log) == 3
    assert webhook.is_active is False
    assert "3 failed deliveries in a row" in webhook.disabled_reason
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 3)
    disabled = AuditEvent.objects.get(action="webhook.disabled", target_id=str(webhook.pk))
    assert disabled.is_automatic and disabled.after == {"is_active": False}
    # Events of a webhook that is off are not delivered.
    emit(MessageCreated(1, 1, webhook.project_id, None, True))
    assert Delivery.objects.filter(webhook=webhook, event="message.created").count() == 0


def test_redirects_are_not_followed(httpserver, make_user, settings):
    settings.ARBOR_WEBHOOK_MAX_ATTEMPTS = 1
    httpserver.expect_request("/hook").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.FAILED
    assert [request.path for request, _ in httpserver.log] == ["/hook"]
    attempt = delivery.tries.get()
    assert (attempt.status_code, attempt.error) == (302, "Redirects are not followed.")


def test_a_slow_receiver_times_out(httpserver, make_user, settings):
    settings.ARBOR_WEBHOOK_TIMEOUT_SECONDS = 0.3
    settings.ARBOR_WEBHOOK_MAX_ATTEMPTS = 1
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(10)
        return Response("late")

    httpserver.expect_request("/hook").respond_with_handler(slow)
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.FAILED
    attempt = delivery.tries.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("ReadTimeout")
    release.set()  # let the receiver finish before the next test uses it
    for _ in range(100):
        if httpserver.log:
            break
        time.sleep(0.05)


def test_a_private_target_is_refused_when_not_allowed(httpserver, make_user, settings):
    settings.ARBOR_WEBHOOK_MAX_ATTEMPTS = 1
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)
    settings.ARBOR_WEBHOOKS_ALLOW_PRIVATE = False  # the operator changed their mind

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.FAILED
    assert httpserver.log == []
    assert delivery.tries.get().error.startswith("webhook_private_target")


def test_a_redelivery_keeps_the_delivery_id_and_a_twin_task_sends_nothing(httpserver, make_user):
    httpserver.expect_request("/hook").respond_with_data("ok")
    researcher = make_user("researcher")
    webhook = _hook(httpserver, small_project(), ["message.created"], researcher)
    delivery = webhook_send_test(webhook_id=webhook.pk, actor_id=researcher.pk)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.SUCCEEDED
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.SUCCEEDED  # twin
    assert len(httpserver.log) == 1

    delivery_redeliver(delivery_id=delivery.pk, actor_id=researcher.pk)
    _due_now()
    outbox_relay()

    ids = [request.headers["Arbor-Delivery"] for request, _ in _received(httpserver)]
    assert ids == [str(delivery.event_id)] * 2
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SUCCEEDED, 2)
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1


def test_events_become_deliveries_only_for_subscribed_active_webhooks(httpserver, make_user):
    researcher = make_user("researcher")
    project, other = small_project(), small_project()
    trees = _hook(httpserver, project, ["tree.ready_for_export", "tree.state_changed"], researcher)
    messages = _hook(httpserver, project, ["message.created", "message.flagged"], researcher)
    elsewhere = _hook(httpserver, other, ["message.created"], researcher)
    author, reviewer = people(2)

    prompt = write_prompt(project, author, text="How do tides work, in simple words?")
    message_react(message_id=prompt.pk, user_id=reviewer.pk, emoji=Emoji.RED_FLAG)
    with transaction.atomic():
        tree = tree_lock(prompt.tree_id)
        tree_transition(tree, TreeState.HALTED, reason="test")

    assert list(
        Delivery.objects.filter(webhook=messages).values_list("event", flat=True).order_by("id")
    ) == [
        "message.created",
        "message.flagged",
    ]
    flagged = Delivery.objects.get(webhook=messages, event="message.flagged")
    assert flagged.payload["by"] == "red_flag" and flagged.payload["message_id"] == prompt.pk
    assert list(Delivery.objects.filter(webhook=trees).values_list("event", flat=True)) == [
        "tree.state_changed"
    ]
    assert Delivery.objects.get(webhook=trees).payload == {
        "tree_id": prompt.tree_id,
        "url": f"/api/v1/trees/{prompt.tree_id}",
        "before": "prompt_review",
        "after": "halted",
    }
    assert not Delivery.objects.filter(webhook=elsewhere).exists()


def test_a_tree_ready_for_export_and_a_finished_export_are_delivered(httpserver, make_user):
    researcher = make_user("researcher")
    project = small_project()
    webhook = _hook(httpserver, project, ["tree.ready_for_export", "export.finished"], researcher)
    prompt = write_prompt(project, people(1)[0])
    # Scoring is done elsewhere; here the tree is put just before its last step.
    Tree.objects.filter(pk=prompt.tree_id).update(state=TreeState.SCORING)
    with transaction.atomic():
        tree_transition(tree_lock(prompt.tree_id), TreeState.READY_FOR_EXPORT, reason="test")

    job = export_job_create(user=researcher, project_slug=project.slug, format="sft", filters={})
    assert export_job_run(job_id=job.pk) == "succeeded"

    events = list(Delivery.objects.filter(webhook=webhook).order_by("id"))
    assert [d.event for d in events] == ["tree.ready_for_export", "export.finished"]
    assert events[0].payload == {
        "tree_id": prompt.tree_id,
        "url": f"/api/v1/trees/{prompt.tree_id}",
    }
    assert events[1].payload == {
        "job_id": job.pk,
        "state": "succeeded",
        "format": "sft",
        "url": f"/api/v1/exports/{job.pk}",
    }


def test_nothing_is_owed_when_the_change_rolls_back(httpserver, make_user):
    researcher = make_user("researcher")
    project = small_project()
    _hook(httpserver, project, ["message.created"], researcher)

    with pytest.raises(RuntimeError), transaction.atomic():
        emit(MessageCreated(1, 1, project.pk, None, True))
        assert Delivery.objects.count() == 1
        raise RuntimeError("the change failed")

    assert Delivery.objects.count() == 0
    assert not OutboxMessage.objects.filter(task_name="tasks.webhooks.deliver").exists()
