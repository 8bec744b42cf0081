"""Exports and the quality signals: detected PII is masked in every format and text
field, the quality filters leave messages out, and the ``quality`` object goes into
oasst nodes (after Open-Assistant's fields) and typed Parquet columns."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEvent
from backend.common.errors import ValidationFailed
from backend.exports.options import export_options_build
from backend.exports.services import export_job_create
from backend.quality.models import EvalSet, MessageQuality
from backend.quality.signals.pii import find_pii
from backend.trees.models import Message
from tests.exports.builders import label, make_message, make_tree, rank

pytestmark = pytest.mark.django_db

FORMATS = ["oasst-trees", "oasst-messages", "preferences", "sft", "parquet"]
EMAIL = "jane.doe@example.com"
PHONE = "+49 30 901820"
LEAKY_PROMPT = f"Please write to {EMAIL} or call {PHONE} about the trip to Lisbon."


def all_versions() -> dict[str, str]:
    return {
        "language": "test/1",
        "toxicity": "test/1",
        "pii": "test/1",
        "duplicates": "test/1",
        "leakage": "test/1",
    }


def store_quality(message: Message, **fields: Any) -> MessageQuality:
    """A stored quality row, as the quality app would write it."""
    values: dict[str, Any] = {
        "lang_detected": message.lang,
        "lang_confidence": 0.99,
        "lang_mismatch": False,
        "toxicity": 0.01,
        "toxicity_model": "test-model",
        "pii": [],
        "flags": [],
        "versions": all_versions(),
    }
    values.update(fields)
    return MessageQuality.objects.create(
        message=message, project=message.tree.project, computed_at=timezone.now(), **values
    )


def exported_texts(format: str, lines: list[dict[str, Any]], path: Any) -> list[str]:
    """Every text field of an export: node texts, preference prompts and pairs, SFT turns."""
    if format == "parquet":
        return [str(text) for text in pq.read_table(path).column("text").to_pylist()]
    texts: list[str] = []
    for line in lines:
        if format == "oasst-trees":
            stack = [line["prompt"]]
            while stack:
                node = stack.pop()
                texts.append(node["text"])
                stack.extend(node["replies"])
        elif format == "oasst-messages":
            texts.append(line["text"])
        elif format == "preferences":
            texts.extend(turn["content"] for turn in line["prompt"])
            texts.extend([line["chosen"], line["rejected"]])
        else:
            texts.extend(turn["content"] for turn in line["messages"])
    return texts


def leaky_tree(project, make_user):
    """A prompt with an unlabelled email and phone, two ranked replies (one with an
    IBAN), and a follow-up under the best one: every format has the prompt's text."""
    tree = make_tree(project)
    root = make_message(tree, None, LEAKY_PROMPT)
    best = make_message(tree, root, "Sure, I will write to them today.", rank=0)
    make_message(tree, root, "Transfer it to DE89 3704 0044 0532 0130 00, they said.", rank=1)
    follow_up = make_message(tree, best, "Thanks! And what should the email say?")
    make_message(tree, follow_up, "Say hello and ask about the dates.")
    voter = make_user()
    rank(root, voter, list(root.children.order_by("rank")))
    return tree


@pytest.fixture
def project(make_project):
    return make_project(slug="quality-export")


@pytest.mark.parametrize("format", FORMATS)
def test_a_default_export_carries_no_detected_pii_in_any_text(
    project, make_user, run_export, format
):
    leaky_tree(project, make_user)
    lines, result, path = run_export(project, format)
    texts = exported_texts(format, lines, path)
    assert result.row_count > 0
    assert [(text, find_pii(text)) for text in texts if find_pii(text)] == []
    joined = "\n".join(texts)
    assert EMAIL not in joined and PHONE not in joined
    assert "[EMAIL]" in joined and "[PHONE]" in joined
    if format in ("oasst-trees", "oasst-messages", "parquet"):
        assert "[IBAN]" in joined


def test_preference_prompts_are_masked_like_the_nodes(project, make_user, run_export):
    leaky_tree(project, make_user)
    lines, _, _ = run_export(project, "preferences")
    assert lines[0]["prompt"] == [
        {
            "role": "user",
            "content": "Please write to [EMAIL] or call [PHONE] about the trip to Lisbon.",
        }
    ]
    assert lines[0]["rejected"] == "Transfer it to [IBAN], they said."


def test_exclude_leaves_detected_pii_out_with_its_replies_and_keep_keeps_it(
    project, make_user, run_export
):
    tree = make_tree(project)
    root = make_message(tree, None, "How do I bake bread?")
    leaky = make_message(tree, root, f"Ask my aunt at {EMAIL}.", rank=0)
    make_message(tree, leaky, "Which aunt?")
    make_message(tree, root, "Mix flour, water, salt and yeast.", rank=1)

    excluded, _, _ = run_export(project, "oasst-messages", pii="exclude")
    kept, _, _ = run_export(project, "oasst-messages", pii="keep")

    assert [line["text"] for line in excluded] == [
        "How do I bake bread?",
        "Mix flour, water, salt and yeast.",
    ]
    assert [line["text"] for line in kept] == [
        "How do I bake bread?",
        f"Ask my aunt at {EMAIL}.",
        "Which aunt?",
        "Mix flour, water, salt and yeast.",
    ]


def test_stored_spans_are_used_and_a_stored_clean_result_is_trusted(project, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "My password is hunter2, keep it.")
    reply = make_message(tree, root, f"Stored as clean although it has {EMAIL}.")
    store_quality(root, pii=[{"type": "secret", "start": 15, "end": 22}], flags=["pii"])
    store_quality(reply, pii=[])

    lines, _, _ = run_export(project, "oasst-messages")

    assert [line["text"] for line in lines] == [
        "My password is [SECRET], keep it.",
        f"Stored as clean although it has {EMAIL}.",
    ]
    # The quality object's spans point at the masks in the exported text.
    assert lines[0]["quality"]["pii"] == [{"type": "secret", "start": 15, "end": 23}]
    assert lines[1]["quality"]["pii"] == []


def test_volunteer_flagged_messages_are_still_masked_whole(project, make_user, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, f"Reach me at {EMAIL}.")
    for value in (1.0, 1.0):
        label(root, make_user(), "pii", value)
    lines, _, _ = run_export(project, "oasst-messages")
    assert lines[0]["text"] == "[PII]"


def test_the_quality_key_follows_open_assistants_fields_and_only_where_stored(project, run_export):
    tree = make_tree(project)
    root = make_message(tree, None, "What is the capital of France?")
    reply = make_message(tree, root, "Paris.")
    store_quality(root, lang_detected="en", lang_confidence=0.97)

    lines, _, _ = run_export(project, "oasst-messages", secret="s3cret-key")
    without, _, _ = run_export(project, "oasst-messages", with_quality=False)

    first = lines[0]
    assert first["quality"] == {
        "lang": {"detected": "en", "confidence": 0.97, "mismatch": False},
        "toxicity": {"score": 0.01, "model": "test-model"},
        "pii": [],
        "near_duplicate_of": None,
        "similarity": None,
        "leakage": {"eval_set": None, "score": None},
        "flags": [],
        "version": "duplicates=test/1;language=test/1;leakage=test/1;pii=test/1;toxicity=test/1",
    }
    keys = list(first)
    assert keys.index("quality") > keys.index("synthetic")
    assert keys[-3:] == ["quality", "message_tree_id", "tree_state"]
    assert "quality" not in lines[1]  # no stored signals: no key, as before
    assert all("quality" not in line for line in without)
    assert reply.pk  # (both messages exported)
    trees, _, _ = run_export(project, "oasst-trees")
    assert "quality" in trees[0]["prompt"]
    assert "quality" not in trees[0]["prompt"]["replies"][0]


def test_near_duplicate_of_is_the_originals_export_id(project, run_export):
    first = make_tree(project)
    original = make_message(first, None, "How do I learn to play the guitar?")
    second = make_tree(project)
    copy = make_message(second, None, "How can I learn to play the guitar?")
    store_quality(original)
    store_quality(copy, near_duplicate_of=original, similarity=0.86, flags=["near_duplicate"])

    anonymised, _, _ = run_export(project, "oasst-messages", secret="same-secret")
    plain, _, _ = run_export(project, "oasst-messages", anonymize=False)

    by_text = {line["text"]: line for line in anonymised}
    assert (
        by_text[copy.text]["quality"]["near_duplicate_of"] == by_text[original.text]["message_id"]
    )
    assert {line["text"]: line for line in plain}[copy.text]["quality"]["near_duplicate_of"] == str(
        original.pk
    )


def quality_world(project):
    """Five one-prompt trees (each prompt with one reply), one per quality case."""
    texts = {
        "clean": "How do plants make food from sunlight?",
        "original": "What is a good recipe for pancakes?",
        "duplicate": "What is a good recipe for pancakes??",
        "leaked": "Compose an engaging travel blog post about a recent trip to Hawaii.",
        "mismatch": "Wie spät ist es gerade in Tokio, bitte?",
        "toxic": "You are all idiots and I hate every one of you.",
        "unscored": "Was ist die Hauptstadt von Kanada?",
    }
    mt_bench = EvalSet.objects.create(project=project, name="mt-bench", prompt_count=80)
    other = EvalSet.objects.create(project=project, name="other", prompt_count=3)
    messages = {}
    for name, text in texts.items():
        tree = make_tree(project)
        messages[name] = make_message(tree, None, text)
        make_message(tree, messages[name], f"a reply to the {name} prompt")
    store_quality(messages["clean"])
    store_quality(messages["original"])
    store_quality(
        messages["duplicate"],
        near_duplicate_of=messages["original"],
        similarity=0.93,
        flags=["near_duplicate"],
    )
    store_quality(
        messages["leaked"], leakage_eval_set=mt_bench, leakage_score=64.0, flags=["leakage"]
    )
    store_quality(
        messages["mismatch"], lang_detected="de", lang_mismatch=True, flags=["lang_mismatch"]
    )
    store_quality(messages["toxic"], toxicity=0.97, flags=["toxicity"])
    store_quality(messages["unscored"], toxicity=None, toxicity_model="")
    return messages, other


def prompt_texts(lines):
    return sorted(line["prompt"]["text"] for line in lines)


@pytest.mark.parametrize(
    ("filters", "left_out"),
    [
        ({}, set()),
        ({"exclude_near_duplicates": True}, {"duplicate"}),
        ({"exclude_leaked": "all"}, {"leaked"}),
        ({"exclude_leaked": "mt-bench"}, {"leaked"}),
        ({"exclude_leaked": "other"}, set()),
        ({"exclude_lang_mismatch": True}, {"mismatch"}),
        ({"max_toxicity": 0.5}, {"toxic"}),
        ({"max_toxicity": 0.0}, {"clean", "original", "duplicate", "leaked", "mismatch", "toxic"}),
        (
            {
                "exclude_near_duplicates": True,
                "exclude_leaked": "all",
                "exclude_lang_mismatch": True,
                "max_toxicity": 0.9,
            },
            {"duplicate", "leaked", "mismatch", "toxic"},
        ),
    ],
)
def test_quality_filters_leave_messages_out_with_their_replies(
    project, run_export, filters, left_out
):
    messages, _ = quality_world(project)
    lines, result, _ = run_export(project, "oasst-trees", **filters)
    expected = sorted(messages[name].text for name in messages if name not in left_out)
    assert prompt_texts(lines) == expected
    assert result.message_count == 2 * len(expected)  # each prompt with its reply


def test_quality_filters_work_without_the_quality_key(project, run_export):
    messages, _ = quality_world(project)
    lines, _, _ = run_export(
        project, "oasst-messages", with_quality=False, exclude_near_duplicates=True
    )
    assert messages["duplicate"].text not in {line["text"] for line in lines}
    assert all("quality" not in line for line in lines)


@pytest.mark.parametrize(
    ("filters", "field", "code"),
    [
        ({"exclude_leaked": "no-such-set"}, "exclude_leaked", "unknown_eval_set"),
        ({"exclude_leaked": 5}, "exclude_leaked", "invalid_value"),
        ({"max_toxicity": 1.5}, "max_toxicity", "out_of_range"),
        ({"max_toxicity": "high"}, "max_toxicity", "invalid_value"),
        ({"max_toxicity": True}, "max_toxicity", "invalid_value"),
        ({"exclude_near_duplicates": "yes"}, "exclude_near_duplicates", "invalid_value"),
    ],
)
def test_bad_quality_filters_are_refused(project, filters, field, code):
    with pytest.raises(ValidationFailed) as error:
        export_options_build(project=project, format="sft", filters=filters)
    assert error.value.fields[field][0]["code"] == code


def test_the_quality_filters_are_stored_with_the_job(project):
    EvalSet.objects.create(project=project, name="mt-bench")
    options = export_options_build(
        project=project,
        format="sft",
        filters={"exclude_leaked": "mt-bench", "max_toxicity": 0.4, "exclude_lang_mismatch": True},
    )
    filters = options.as_filters()
    assert filters["exclude_leaked"] == "mt-bench"
    assert filters["max_toxicity"] == 0.4
    assert filters["exclude_lang_mismatch"] is True
    assert filters["exclude_near_duplicates"] is False
    assert filters["with_quality"] is True


def test_parquet_has_typed_quality_columns(project, run_export):
    messages, _ = quality_world(project)
    _, _, path = run_export(project, "parquet", secret="same-secret")
    table = pq.read_table(path)
    schema = table.schema
    assert str(schema.field("quality_lang").type) == "string"
    assert str(schema.field("quality_lang_confidence").type) == "double"
    assert str(schema.field("quality_lang_mismatch").type) == "bool"
    assert str(schema.field("quality_toxicity").type) == "double"
    assert str(schema.field("quality_near_duplicate_of").type) == "string"
    assert str(schema.field("quality_leakage_score").type) == "double"
    assert str(schema.field("quality_flags").type) == "list<element: string>"
    assert str(schema.field("quality_pii_types").type) == "list<element: string>"
    rows = {row["text"]: row for row in table.to_pylist()}
    leaked = rows[messages["leaked"].text]
    assert leaked["quality_leakage_eval_set"] == "mt-bench"
    assert leaked["quality_leakage_score"] == 64.0
    assert leaked["quality_flags"] == ["leakage"]
    assert rows[messages["toxic"].text]["quality_toxicity"] == 0.97
    assert rows[messages["unscored"].text]["quality_toxicity"] is None
    duplicate = rows[messages["duplicate"].text]
    assert duplicate["quality_near_duplicate_of"] == rows[messages["original"].text]["message_id"]
    assert duplicate["quality_similarity"] == 0.93
    reply = rows["a reply to the clean prompt"]
    assert reply["quality_flags"] is None and reply["quality"] is None
    assert rows[messages["mismatch"].text]["quality_lang"] == "de"


def test_parquet_without_quality_has_no_quality_columns(project, run_export):
    quality_world(project)
    _, _, path = run_export(project, "parquet", with_quality=False)
    assert not [name for name in pq.read_schema(path).names if name.startswith("quality")]


@pytest.mark.parametrize(
    ("filters", "per_batch"),
    [
        # trees, messages, label means, imported labels, emoji counts, imported emojis,
        # ranking results, label results, quality objects, originals' origin ids
        ({}, 10),
        # no quality key, no quality filter, no PII masking: no quality queries
        ({"with_quality": False, "pii": "keep"}, 8),
        # masking reads the stored spans, but no quality key: no originals
        ({"with_quality": False}, 9),
    ],
)
def test_quality_costs_a_fixed_number_of_queries_per_batch(
    project, run_export, django_assert_num_queries, filters, per_batch
):
    for number in range(4):
        tree = make_tree(project)
        first = make_message(tree, None, f"How do I start running, step {number}?")
        store_quality(first)
        copy = make_message(make_tree(project), None, f"How do I start running, step {number}??")
        store_quality(copy, near_duplicate_of=first, similarity=0.9, flags=["near_duplicate"])
    batches = 4  # 8 trees, 2 per batch
    session = 2 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(1 + batches * per_batch + 1 + session):
        run_export(project, "oasst-trees", batch_trees=2, **filters)


def test_the_command_takes_the_quality_filters(project, tmp_path):
    messages, _ = quality_world(project)
    output = tmp_path / "out.jsonl"
    call_command(
        "export",
        "--project",
        project.slug,
        "--format",
        "oasst-trees",
        "--output",
        str(output),
        "--exclude-near-duplicates",
        "--exclude-leaked",
        "mt-bench",
        "--exclude-lang-mismatch",
        "--max-toxicity",
        "0.9",
        "--no-progress",
    )
    import json

    prompts = sorted(json.loads(line)["prompt"]["text"] for line in output.read_text().splitlines())
    assert prompts == sorted(messages[name].text for name in ("clean", "original", "unscored"))
    event = AuditEvent.objects.get(action=AuditAction.EXPORT_WRITTEN)
    assert event.after["filters"]["exclude_leaked"] == "mt-bench"
    assert event.after["filters"]["max_toxicity"] == 0.9


def test_pii_keep_is_audited(project, make_user):
    researcher = make_user(role="researcher")
    job = export_job_create(
        user=researcher, project_slug=project.slug, format="sft", filters={"pii": "keep"}
    )
    requested = AuditEvent.objects.get(action=AuditAction.EXPORT_REQUESTED, target_id=str(job.pk))
    assert requested.actor_id == researcher.pk
    assert requested.after["filters"]["pii"] == "keep"


def test_the_api_refuses_bad_quality_filters_field_by_field(project, make_user, client_for):
    client = client_for(make_user(role="researcher"))
    response = client.post(
        "/api/v1/exports/",
        {"project": project.slug, "format": "sft", "max_toxicity": 3},
        format="json",
    )
    assert response.status_code == 400
    assert "max_toxicity" in response.json()["fields"]
    response = client.post(
        "/api/v1/exports/",
        {"project": project.slug, "format": "sft", "exclude_leaked": "nope"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["exclude_leaked"][0]["code"] == "unknown_eval_set"
    response = client.post(
        "/api/v1/exports/",
        {"project": project.slug, "format": "sft", "exclude_leaked": "all", "max_toxicity": 0.5},
        format="json",
    )
    assert response.status_code == 202
    assert response.json()["filters"]["exclude_leaked"] == "all"


@pytest.mark.django_db(transaction=True)  # the demo's lottery and signals run on commit
def test_a_default_export_of_the_demo_contains_no_detected_pii(run_export):
    from backend.web.demo import seed_demo

    project, _, _ = seed_demo()
    written = list(Message.objects.filter(tree__project=project).values_list("text", flat=True))
    assert any(find_pii(text) for text in written), "the demo has messages with PII"

    for format in FORMATS:
        default, _, default_path = run_export(project, format)
        everything, result, path = run_export(
            project,
            format,
            states="all",
            include_deleted=True,
            include_rejected=True,
            include_synthetic=True,
        )
        assert result.row_count > 0, format
        for lines, file in ((default, default_path), (everything, path)):
            texts = exported_texts(format, lines, file)
            assert [text for text in texts if find_pii(text)] == [], format


def test_the_exports_page_offers_the_quality_filters(project, make_user):
    from django.test import Client

    EvalSet.objects.create(project=project, name="mt-bench")
    browser = Client()
    browser.force_login(make_user(role="researcher"))
    page = browser.get("/exports/").content.decode()
    for name in ("with_quality", "exclude_near_duplicates", "exclude_lang_mismatch"):
        assert f'name="{name}"' in page
    assert '<option value="all">any eval set</option><option value="mt-bench">' in page
    assert 'name="max_toxicity" min="0" max="1"' in page
