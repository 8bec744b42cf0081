"""The compute service: each flag raised and stored with the detectors' versions."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditAction, AuditEvent
from backend.common.events import MessageQualityFlagged, subscribe, unsubscribe
from backend.moderation.models import QueueItem, QueueReason
from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.selectors import detected_pii, quality_payloads
from backend.quality.services import message_quality_compute
from backend.quality.signals import duplicates, language, leakage, pii, toxicity
from backend.quality.signals.pii import PiiSpan
from tests.quality.conftest import EMAIL_AND_PHONE, GERMAN, TOXIC

ALL_VERSIONS = {
    "language": language.VERSION,
    "toxicity": toxicity.VERSION,
    "pii": pii.VERSION,
    "duplicates": duplicates.VERSION,
    "leakage": leakage.VERSION,
}


@pytest.fixture
def flagged_events():
    seen: list[MessageQualityFlagged] = []
    subscribe(MessageQualityFlagged, seen.append)
    yield seen
    unsubscribe(MessageQualityFlagged, seen.append)


def test_a_clean_prompt_gets_every_signal_and_no_flag(prompt, flagged_events):
    message = prompt("What is the best way to learn to play the piano as an adult beginner?")

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.flags == []
    assert row.versions == ALL_VERSIONS
    assert row.lang_detected == "en"
    assert row.lang_mismatch is False
    assert row.toxicity is not None and row.toxicity < 0.5
    assert row.toxicity_model.startswith("alt-profanity-check")
    assert row.pii == []
    assert row.near_duplicate_of_id is None
    assert row.leakage_eval_set_id is None and row.leakage_score is None
    assert flagged_events == []
    assert not QueueItem.objects.filter(message=message).exists()


def test_pii_is_flagged_stored_as_spans_and_queued_for_moderators(prompt, flagged_events):
    message = prompt(EMAIL_AND_PHONE)

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.flags == [QualityFlag.PII]
    assert [span["type"] for span in row.pii] == ["email", "phone"]
    email = row.pii[0]
    assert EMAIL_AND_PHONE[email["start"] : email["end"]] == "jane.roe@example.com"
    assert detected_pii([message.pk]) == {
        message.pk: [
            PiiSpan(type=span["type"], start=span["start"], end=span["end"]) for span in row.pii
        ]
    }
    assert flagged_events == [
        MessageQualityFlagged(
            message_id=message.pk,
            tree_id=message.tree_id,
            project_id=message.tree.project_id,
            flags=("pii",),
        )
    ]
    item = QueueItem.objects.get(message=message)
    assert item.reason == QueueReason.QUALITY_FLAG
    assert item.details == {"flags": ["pii"]}
    event = AuditEvent.objects.get(action=AuditAction.QUALITY_FLAGGED, target_id=str(message.pk))
    assert event.is_automatic is True
    assert event.after == {"flags": ["pii"]}


def test_a_confident_language_mismatch_is_flagged(prompt):
    message = prompt(GERMAN, lang="en")

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.lang_detected == "de"
    assert row.lang_mismatch is True
    assert QualityFlag.LANG_MISMATCH in row.flags
    # Scored in the language the text is in: there is no German scorer, so no score.
    assert row.toxicity is None
    assert row.toxicity_model == ""
    payload = quality_payloads([message.pk])[message.pk]
    assert payload["toxicity"] == {"score": None, "model": None}
    assert payload["lang"]["mismatch"] is True


def test_the_same_text_in_its_declared_language_is_not_a_mismatch(prompt):
    message = prompt(GERMAN, lang="de")

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.lang_mismatch is False
    assert row.flags == []


def test_toxicity_above_the_project_threshold_is_flagged(prompt, project):
    message = prompt(TOXIC)

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.toxicity is not None and row.toxicity > project.quality_toxicity_threshold
    assert row.flags == [QualityFlag.TOXICITY]


def test_a_higher_threshold_lets_the_same_text_pass(prompt, project):
    project.quality_toxicity_threshold = 1.0
    project.save(update_fields=["quality_toxicity_threshold"])
    message = prompt(TOXIC)

    row = message_quality_compute(message_id=message.pk)

    assert row is not None
    assert row.toxicity is not None
    assert row.flags == []


def test_computing_again_raises_nothing_new(prompt, flagged_events):
    message = prompt(EMAIL_AND_PHONE)
    message_quality_compute(message_id=message.pk)

    row = message_quality_compute(message_id=message.pk)

    assert row is not None and row.flags == [QualityFlag.PII]
    assert len(flagged_events) == 1
    assert QueueItem.objects.get(message=message).occurrences == 1
    assert MessageQuality.objects.filter(message=message).count() == 1


def test_one_signal_recomputed_keeps_the_others(prompt):
    message = prompt(EMAIL_AND_PHONE)
    message_quality_compute(message_id=message.pk)
    MessageQuality.objects.filter(message=message).update(toxicity=0.5)

    row = message_quality_compute(message_id=message.pk, signals=["pii"])

    assert row is not None
    assert row.flags == [QualityFlag.PII]
    assert row.toxicity == 0.5
    assert row.versions == ALL_VERSIONS


def test_a_deleted_message_is_left_alone(prompt):
    message = prompt(EMAIL_AND_PHONE)
    message.is_deleted = True
    message.save(update_fields=["is_deleted"])

    assert message_quality_compute(message_id=message.pk) is None
    assert not MessageQuality.objects.filter(message_id=message.pk).exists()


def test_messages_without_a_row_read_as_all_null(prompt):
    message = prompt("A prompt nobody has looked at yet, about the history of tea.")

    assert quality_payloads([message.pk]) == {
        message.pk: {
            "lang": None,
            "toxicity": None,
            "pii": None,
            "near_duplicate_of": None,
            "similarity": None,
            "leakage": None,
            "flags": None,
            "version": None,
        }
    }
    assert detected_pii([message.pk]) == {}


def test_the_contract_object(prompt):
    message = prompt(EMAIL_AND_PHONE)
    row = message_quality_compute(message_id=message.pk)
    assert row is not None

    payload = quality_payloads([message.pk])[message.pk]

    assert payload == {
        "lang": {"detected": "en", "confidence": row.lang_confidence, "mismatch": False},
        "toxicity": {"score": row.toxicity, "model": row.toxicity_model},
        "pii": row.pii,
        "near_duplicate_of": None,
        "similarity": None,
        "leakage": {"eval_set": None, "score": None},
        "flags": ["pii"],
        "version": ";".join(f"{name}={ALL_VERSIONS[name]}" for name in sorted(ALL_VERSIONS)),
    }
