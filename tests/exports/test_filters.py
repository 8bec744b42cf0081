"""Which trees and messages an export contains."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.common.errors import ValidationFailed
from backend.exports.options import export_options_build
from tests.exports.builders import T0, at, label, make_message, make_tree

pytestmark = pytest.mark.django_db


def texts(lines):
    """Every text of every exported tree, pre-order."""
    found = []

    def walk(node):
        found.append(node["text"])
        for reply in node["replies"]:
            walk(reply)

    for line in lines:
        walk(line["prompt"])
    return found


@pytest.fixture
def project(make_project):
    return make_project(slug="filters")


def one_message_tree(project, text, **tree_fields):
    tree = make_tree(project, **tree_fields)
    make_message(tree, None, text)
    return tree


def test_default_is_ready_for_export_only_and_all_means_every_state(project, run_export):
    one_message_tree(project, "ready")
    one_message_tree(project, "growing", state="growing")
    one_message_tree(project, "halted", state="halted")

    default, _, _ = run_export(project, "oasst-trees")
    listed, _, _ = run_export(project, "oasst-trees", states=["growing", "halted"])
    every, _, _ = run_export(project, "oasst-trees", states="all")

    assert texts(default) == ["ready"]
    assert texts(listed) == ["growing", "halted"]
    assert texts(every) == ["ready", "growing", "halted"]
    assert [line["tree_state"] for line in every] == ["ready_for_export", "growing", "halted"]


def test_languages_dates_and_project_filter(project, make_project, run_export):
    one_message_tree(project, "old english", created=T0 - timedelta(days=10))
    one_message_tree(project, "new english", created=T0 + timedelta(days=1))
    one_message_tree(project, "neues deutsch", lang="de", created=T0 + timedelta(days=1))
    one_message_tree(make_project(slug="elsewhere"), "another project")

    german, _, _ = run_export(project, "oasst-trees", languages=["de"])
    recent, _, _ = run_export(project, "oasst-trees", created_from=T0.isoformat())
    window, _, _ = run_export(
        project,
        "oasst-trees",
        created_from=(T0 - timedelta(days=20)).isoformat(),
        created_to=T0.isoformat(),
    )

    assert texts(german) == ["neues deutsch"]
    assert texts(recent) == ["new english", "neues deutsch"]
    assert texts(window) == ["old english"]


def test_deleted_rejected_and_synthetic_are_left_out_with_their_replies(project, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "prompt")
    kept = make_message(tree, root, "kept", rank=0)
    deleted = make_message(tree, root, "deleted", rank=1, deleted=True)
    make_message(tree, deleted, "reply to deleted")
    rejected = make_message(tree, root, "rejected", review_result=False)
    make_message(tree, rejected, "reply to rejected")
    synthetic = make_message(tree, root, "synthetic", synthetic=True, model_name="m-1")
    make_message(tree, synthetic, "reply to synthetic")
    make_message(tree, kept, "pending reply", review_result=None)

    default, result, _ = run_export(project, "oasst-trees")
    everything, _, _ = run_export(
        project, "oasst-trees", include_deleted=True, include_rejected=True, include_synthetic=True
    )

    # Messages still under review (review_result null) are exported, without the field.
    assert texts(default) == ["prompt", "kept", "pending reply"]
    assert "review_result" not in default[0]["prompt"]["replies"][0]["replies"][0]
    assert result.message_count == 3
    assert texts(everything) == [
        "prompt",
        "kept",
        "pending reply",
        "deleted",
        "reply to deleted",
        "rejected",
        "reply to rejected",
        "synthetic",
        "reply to synthetic",
    ]
    by_text = {reply["text"]: reply for reply in everything[0]["prompt"]["replies"]}
    assert by_text["deleted"]["deleted"] is True
    assert by_text["rejected"]["review_result"] is False
    assert (by_text["synthetic"]["synthetic"], by_text["synthetic"]["model_name"]) == (True, "m-1")


def test_a_tree_whose_prompt_is_left_out_has_no_line(project, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "synthetic prompt", synthetic=True)
    make_message(tree, root, "answer")
    lines, result, _ = run_export(project, "oasst-trees")
    assert lines == []
    assert (result.row_count, result.tree_count, result.message_count) == (0, 0, 0)


def test_replies_sorted_by_rank_unranked_last(project, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "prompt")
    make_message(tree, root, "unranked early", created=at(1))
    make_message(tree, root, "second", rank=1)
    make_message(tree, root, "unranked late", created=at(2))
    make_message(tree, root, "first", rank=0)
    lines, _, _ = run_export(project, "oasst-trees")
    assert [reply["text"] for reply in lines[0]["prompt"]["replies"]] == [
        "first",
        "second",
        "unranked early",
        "unranked late",
    ]


def test_pii_flagged_messages_are_masked_by_default_or_left_out(project, make_user, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "prompt")
    flagged = make_message(tree, root, "call me at 555-1234", rank=0)
    make_message(tree, flagged, "reply to flagged")
    make_message(tree, root, "clean", rank=1)
    reviewers = [make_user(), make_user(), make_user()]
    for reviewer, value in zip(reviewers, (1.0, 1.0, 0.0), strict=True):
        label(flagged, reviewer, "pii", value)  # mean 2/3 ≥ 0.5: flagged by people

    masked, _, _ = run_export(project, "oasst-trees")
    excluded, _, _ = run_export(project, "oasst-trees", pii="exclude")
    kept, _, _ = run_export(project, "oasst-trees", pii="keep")
    no_labels, _, _ = run_export(project, "oasst-trees", with_labels=False)

    assert texts(masked) == ["prompt", "[PII]", "reply to flagged", "clean"]
    assert texts(excluded) == ["prompt", "clean"]
    assert texts(kept) == ["prompt", "call me at 555-1234", "reply to flagged", "clean"]
    # The flag is honoured even when labels are not exported.
    assert texts(no_labels) == texts(masked)
    assert "labels" not in no_labels[0]["prompt"]["replies"][0]


def stub_detector(text):
    """Flags digits as spans, and the word 'secret' as the whole message."""
    if "secret" in text:
        return True
    spans = []
    start = None
    for index, character in enumerate(text + " "):
        if character.isdigit() and start is None:
            start = index
        elif not character.isdigit() and start is not None:
            spans.append((start, index))
            start = None
    return spans


def test_pii_detector_hook_masks_spans(project, settings, run_export):
    settings.ARBOR_EXPORT_PII_DETECTOR = "tests.exports.test_filters.stub_detector"
    tree = make_tree(project)
    root = make_message(tree, None, "room 101 and 42")
    make_message(tree, root, "my secret diary", rank=0)
    make_message(tree, root, "no numbers here", rank=1)

    masked, _, _ = run_export(project, "oasst-trees")
    excluded, _, _ = run_export(project, "sft", pii="exclude")

    assert texts(masked) == ["room [PII] and [PII]", "[PII]", "no numbers here"]
    assert excluded == []  # the prompt itself is flagged


def quality_stub(message_ids):
    return {message_id: {"toxicity": 0.25} for message_id in message_ids if message_id % 2 == 0}


def test_quality_hook_adds_a_quality_key(project, settings, run_export):
    settings.ARBOR_EXPORT_QUALITY_PROVIDER = "tests.exports.test_filters.quality_stub"
    tree = make_tree(project)
    root = make_message(tree, None, "one")
    reply = make_message(tree, root, "two")
    lines, _, _ = run_export(project, "oasst-messages")
    by_text = {line["text"]: line for line in lines}
    for message in (root, reply):
        expected = {"toxicity": 0.25} if message.pk % 2 == 0 else None
        assert by_text[message.text].get("quality") == expected


@pytest.mark.parametrize(
    ("format", "filters", "code"),
    [
        ("csv", {}, "invalid_format"),
        ("sft", {"states": ["finished"]}, "invalid_state"),
        ("sft", {"pii": "blur"}, "invalid_choice"),
        ("sft", {"created_from": "yesterday"}, "invalid_date"),
        ("sft", {"created_from": "2025-02-01", "created_to": "2025-01-01"}, "invalid_date_range"),
        ("parquet", {"gzip": True}, "gzip_not_for_parquet"),
        ("sft", {"colour": "blue"}, "unknown_filter"),
        ("sft", {"anonymize": "yes"}, "invalid_value"),
    ],
)
def test_bad_options_are_refused_with_a_code(project, format, filters, code):
    with pytest.raises(ValidationFailed) as refused:
        export_options_build(project=project, format=format, filters=filters)
    assert refused.value.code == code
