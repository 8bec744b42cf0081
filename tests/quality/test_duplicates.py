"""Exact and near duplicates among a project's prompts link to the earliest original,
and the near-duplicate index is rebuilt from stored signatures after a restart."""

from __future__ import annotations

from backend.quality import indexes
from backend.quality.models import MinHashSignature, QualityFlag
from backend.quality.services import message_quality_compute
from backend.quality.signals import duplicates

ORIGINAL = (
    "What are the main differences between the economic policies of the Roman Republic "
    "and those of the early Roman Empire, especially regarding taxation and trade?"
)
NEAR = (
    "What are the main differences between the economic policies of the Roman Republic "
    "and those of the early Roman Empire, especially regarding taxes and trade?"
)
UNRELATED = "Give me three ideas for a vegetarian dinner that children will like."


def test_an_exact_copy_links_to_the_earliest_prompt(prompt):
    first = prompt(ORIGINAL)
    second = prompt(ORIGINAL.upper() + "  ")
    third = prompt(ORIGINAL)
    for message in (first, second, third):
        message_quality_compute(message_id=message.pk)

    rows = {
        message.pk: message_quality_compute(message_id=message.pk)
        for message in (first, second, third)
    }

    assert rows[first.pk].flags == []
    assert rows[first.pk].near_duplicate_of_id is None
    for later in (second, third):
        assert rows[later.pk].flags == [QualityFlag.EXACT_DUPLICATE]
        assert rows[later.pk].near_duplicate_of_id == first.pk
        assert rows[later.pk].similarity == 1.0


def test_a_near_copy_links_to_the_earliest_similar_prompt(prompt):
    first = prompt(ORIGINAL)
    other = prompt(UNRELATED)
    near = prompt(NEAR)
    for message in (first, other):
        message_quality_compute(message_id=message.pk)

    row = message_quality_compute(message_id=near.pk)

    assert row is not None
    assert row.flags == [QualityFlag.NEAR_DUPLICATE]
    assert row.near_duplicate_of_id == first.pk
    assert row.similarity is not None and row.similarity >= 0.8


def test_the_original_is_never_the_duplicate_of_a_later_copy(prompt):
    first = prompt(ORIGINAL)
    near = prompt(NEAR)
    message_quality_compute(message_id=near.pk)

    row = message_quality_compute(message_id=first.pk)

    assert row is not None
    assert row.flags == []
    assert row.near_duplicate_of_id is None


def test_prompts_in_another_language_are_not_compared(prompt):
    first = prompt(ORIGINAL, lang="de")
    message_quality_compute(message_id=first.pk)
    near = prompt(NEAR, lang="en")

    row = message_quality_compute(message_id=near.pk)

    assert row is not None
    assert QualityFlag.NEAR_DUPLICATE not in row.flags


def test_the_index_survives_a_restart(prompt, monkeypatch):
    first = prompt(ORIGINAL)
    message_quality_compute(message_id=first.pk)
    stored = MinHashSignature.objects.get(message=first)
    assert stored.signature == duplicates.minhash_signature(ORIGINAL)
    assert stored.version == duplicates.VERSION
    # A new process: empty indexes, only the rows are left.
    monkeypatch.setattr(indexes, "near_duplicate_indexes", indexes.NearDuplicateIndexes())
    near = prompt(NEAR)

    row = message_quality_compute(message_id=near.pk)

    assert row is not None
    assert row.flags == [QualityFlag.NEAR_DUPLICATE]
    assert row.near_duplicate_of_id == first.pk


def test_another_process_sees_signatures_written_since_it_looked(prompt):
    first = prompt(UNRELATED)
    message_quality_compute(message_id=first.pk)  # loads this process's index
    original = prompt(ORIGINAL)
    # Written by another process: only the row exists, this process never added it.
    MinHashSignature.objects.create(
        message=original,
        project_id=original.tree.project_id,
        lang="en",
        signature=duplicates.minhash_signature(ORIGINAL),
        version=duplicates.VERSION,
    )
    near = prompt(NEAR)

    row = message_quality_compute(message_id=near.pk)

    assert row is not None
    assert row.near_duplicate_of_id == original.pk
