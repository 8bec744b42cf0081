"""Model calls against a real local OpenAI-compatible server: what is stored, retries,
timeouts, malformed answers, limits and the circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.arena.calls import ModelUnavailable, model_call
from backend.arena.client import ModelCallFailed
from backend.arena.models import ModelEndpoint
from backend.arena.services import model_endpoint_create
from backend.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ASK = [{"role": "user", "content": "Why is the sky blue?"}]


def endpoint(server, model: str, **params) -> ModelEndpoint:
    return model_endpoint_create(
        name=model.replace("/", "-"),
        base_url=server.base_url,
        model=model,
        params={"timeout_seconds": 1.0, **params},
    )


def test_a_fast_model_answers_and_is_healthy(fake_models) -> None:
    model = endpoint(fake_models, "fast-one", system_prompt="Be brief.")
    completion = model_call(endpoint_id=model.pk, messages=ASK)
    assert completion.text.startswith("[Canned demo reply, not a real model]")
    assert "Why is the sky blue?" in completion.text
    assert fake_models.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    model.refresh_from_db()
    assert (model.calls_succeeded, model.calls_failed, model.in_flight) == (1, 0, 0)
    assert model.last_success_at is not None
    assert model.breaker_state == "closed"


def test_an_error_is_retried_then_counted_once(fake_models) -> None:
    model = endpoint(fake_models, "error-one")
    with pytest.raises(ModelCallFailed) as failure:
        model_call(endpoint_id=model.pk, messages=ASK)
    assert failure.value.reason.startswith("HTTP 500")
    assert fake_models.calls["error-one"] == 3  # the first try and two retries
    model.refresh_from_db()
    assert (model.calls_failed, model.consecutive_failures, model.in_flight) == (1, 1, 0)
    assert model.last_error.startswith("HTTP 500")
    assert model.breaker_state == "closed"


def test_a_flaky_model_succeeds_on_its_retry(fake_models) -> None:
    model = endpoint(fake_models, "flaky-one")
    completion = model_call(endpoint_id=model.pk, messages=ASK)
    assert completion.text.startswith("[Canned demo reply, not a real model]")
    assert fake_models.calls["flaky-one"] == 2
    model.refresh_from_db()
    assert (model.calls_succeeded, model.calls_failed, model.consecutive_failures) == (1, 0, 0)


def test_malformed_json_is_a_failure(fake_models) -> None:
    model = endpoint(fake_models, "malformed-one")
    with pytest.raises(ModelCallFailed) as failure:
        model_call(endpoint_id=model.pk, messages=ASK)
    assert failure.value.reason == "malformed answer: not a chat completion"


def test_a_hanging_model_times_out(fake_models, settings) -> None:
    settings.ARBOR_MODEL_RETRIES = 0
    model = endpoint(fake_models, "hang-one", timeout_seconds=0.3)
    started = timezone.now()
    with pytest.raises(ModelCallFailed) as failure:
        model_call(endpoint_id=model.pk, messages=ASK)
    assert failure.value.reason == "timed out after 0.3 s"
    assert timezone.now() - started < timedelta(seconds=2)
    model.refresh_from_db()
    assert model.in_flight == 0


def test_the_breaker_opens_after_failures_and_closes_after_a_trial(fake_models) -> None:
    model = endpoint(fake_models, "error-two")
    for _ in range(3):
        with pytest.raises(ModelCallFailed):
            model_call(endpoint_id=model.pk, messages=ASK)
    model.refresh_from_db()
    assert model.breaker_state == "open"
    assert model.breaker_reason.startswith("3 failed calls in a row; last: HTTP 500")
    assert AuditEvent.objects.filter(action="model.breaker_opened").count() == 1
    calls_before = fake_models.calls["error-two"]
    with pytest.raises(ModelUnavailable) as paused:
        model_call(endpoint_id=model.pk, messages=ASK)
    assert paused.value.reason.startswith("paused: 3 failed calls")
    assert fake_models.calls["error-two"] == calls_before  # not asked while open
    # The endpoint is fixed (now points at a healthy model) and the cool-down passed.
    ModelEndpoint.objects.filter(pk=model.pk).update(
        model="fast-fixed", breaker_opened_at=timezone.now() - timedelta(seconds=61)
    )
    completion = model_call(endpoint_id=model.pk, messages=ASK)
    assert completion.text.startswith("[Canned demo reply, not a real model]")
    assert fake_models.requests[-1]["model"] == "fast-fixed"
    model.refresh_from_db()
    assert (model.breaker_state, model.breaker_reason, model.consecutive_failures) == (
        "closed",
        "",
        0,
    )
    assert AuditEvent.objects.filter(action="model.breaker_closed").count() == 1


def test_a_failed_trial_opens_the_breaker_again(fake_models) -> None:
    model = endpoint(fake_models, "error-three")
    ModelEndpoint.objects.filter(pk=model.pk).update(
        breaker_state="open",
        breaker_reason="earlier",
        consecutive_failures=3,
        breaker_opened_at=timezone.now() - timedelta(seconds=61),
    )
    with pytest.raises(ModelCallFailed):
        model_call(endpoint_id=model.pk, messages=ASK)
    model.refresh_from_db()
    assert model.breaker_state == "open"
    assert model.consecutive_failures == 4
    assert timezone.now() - model.breaker_opened_at < timedelta(seconds=5)


def test_the_concurrency_and_rate_limits_hold(fake_models) -> None:
    model = endpoint(fake_models, "fast-limited", max_concurrency=1, requests_per_minute=2)
    ModelEndpoint.objects.filter(pk=model.pk).update(
        in_flight=1, last_call_started_at=timezone.now()
    )
    with pytest.raises(ModelUnavailable) as busy:
        model_call(endpoint_id=model.pk, messages=ASK)
    assert busy.value.is_busy is True
    assert fake_models.calls["fast-limited"] == 0
    ModelEndpoint.objects.filter(pk=model.pk).update(in_flight=0)
    model_call(endpoint_id=model.pk, messages=ASK)
    model_call(endpoint_id=model.pk, messages=ASK)
    with pytest.raises(ModelUnavailable) as limited:  # two calls a minute
        model_call(endpoint_id=model.pk, messages=ASK)
    assert limited.value.is_busy is True
    assert fake_models.calls["fast-limited"] == 2


def test_a_place_lost_by_a_dead_worker_comes_back(fake_models) -> None:
    model = endpoint(fake_models, "fast-stale", max_concurrency=1)
    ModelEndpoint.objects.filter(pk=model.pk).update(
        in_flight=1, last_call_started_at=timezone.now() - timedelta(hours=1)
    )
    model_call(endpoint_id=model.pk, messages=ASK)
    model.refresh_from_db()
    assert model.in_flight == 0
    assert model.calls_succeeded == 1


def test_a_model_turned_off_is_not_asked(fake_models) -> None:
    model = endpoint(fake_models, "fast-off")
    ModelEndpoint.objects.filter(pk=model.pk).update(is_enabled=False)
    with pytest.raises(ModelUnavailable):
        model_call(endpoint_id=model.pk, messages=ASK)
    assert fake_models.calls["fast-off"] == 0


def test_the_two_demo_models_answer_in_different_styles() -> None:
    from backend.arena.fake_server import reply_text
    from backend.web.demo import DEMO_MODELS

    ask = [{"role": "user", "content": "How do tides work?"}]
    (_, model_a), (_, model_b) = DEMO_MODELS
    text_a, text_b = reply_text(model_a, ask), reply_text(model_b, ask)
    assert text_a != text_b
    for text in (text_a, text_b):
        assert text.startswith("[Canned demo reply, not a real model] You asked: “How do tides")
        assert "demo-canned" not in text
