"""``text_quality_flags``: the flags a bare text would get as a message (a model's reply
in an arena battle), by the same providers and the project's thresholds, storing
nothing and leaving the near-duplicate index alone."""

from __future__ import annotations

import pytest

from backend.common.events import MessageQualityFlagged, subscribe, unsubscribe
from backend.moderation.models import QueueItem
from backend.projects.models import Project
from backend.quality.models import MessageQuality, MinHashSignature
from backend.quality.services import eval_set_create, message_quality_compute, text_quality_flags
from backend.trees.models import Role
from tests.quality.conftest import EMAIL_AND_PHONE, EVAL_PROMPT, GERMAN, TOXIC

CLEAN = (
    "Start with scales and simple songs for twenty minutes a day, and find a teacher "
    "who can correct your posture early."
)
ORIGINAL = "Give me three ideas for a vegetarian dinner that children will like."


@pytest.fixture
def flagged_events():
    seen: list[MessageQualityFlagged] = []
    subscribe(MessageQualityFlagged, seen.append)
    yield seen
    unsubscribe(MessageQualityFlagged, seen.append)


def reply_flags(project: Project, parent, text: str, lang: str = "en") -> list[str]:
    return text_quality_flags(project=project, lang=lang, text=text, parent=parent)


def test_a_reply_gets_the_flags_a_message_would_get(project, prompt, flagged_events):
    parent = prompt("How should an adult beginner learn to play the piano?")
    stored_before = MessageQuality.objects.count()

    assert reply_flags(project, parent, CLEAN) == []
    assert reply_flags(project, parent, EMAIL_AND_PHONE) == ["pii"]
    assert reply_flags(project, parent, TOXIC) == ["toxicity"]
    assert reply_flags(project, parent, GERMAN) == ["lang_mismatch"]
    assert reply_flags(project, parent, GERMAN, lang="de") == []
    assert reply_flags(project, parent, f"{TOXIC} {EMAIL_AND_PHONE}") == ["toxicity", "pii"]

    # Nothing stored, nothing emitted, nothing queued.
    assert MessageQuality.objects.count() == stored_before
    assert flagged_events == []
    assert not QueueItem.objects.exists()


def test_the_projects_thresholds_apply(project, prompt):
    parent = prompt("How should an adult beginner learn to play the piano?")
    Project.objects.filter(pk=project.pk).update(quality_toxicity_threshold=1.0)
    project.refresh_from_db()

    assert reply_flags(project, parent, TOXIC) == []


def test_prompter_texts_are_checked_for_leakage(project, prompt):
    eval_set_create(project=project, name="stories", prompts=[EVAL_PROMPT], actor_id=None)

    assert text_quality_flags(
        project=project, lang="en", text=EVAL_PROMPT, parent=None, role=Role.PROMPTER
    ) == ["leakage"]
    # The signal covers prompter texts only, as for messages.
    assert text_quality_flags(project=project, lang="en", text=EVAL_PROMPT, parent=None) == []


def test_the_near_duplicate_index_is_left_alone(project, prompt):
    original = prompt(ORIGINAL)
    message_quality_compute(message_id=original.pk)
    signatures = MinHashSignature.objects.count()

    # A copy of a prompt is not judged a duplicate (that provider is skipped) and
    # leaves no signature behind that later prompts would be compared with.
    assert (
        text_quality_flags(
            project=project, lang="en", text=ORIGINAL, parent=None, role=Role.PROMPTER
        )
        == []
    )
    assert MinHashSignature.objects.count() == signatures
    later = prompt(ORIGINAL.upper())
    assert message_quality_compute(message_id=later.pk).flags == ["exact_duplicate"]
    assert message_quality_compute(message_id=later.pk).near_duplicate_of_id == original.pk
