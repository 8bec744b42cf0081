"""Each format's exact output on the small hand-built tree (see ``builders.SmallWorld``)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.exports.builders import at
from tests.exports.oasst_schema import check_node, check_tree

pytestmark = pytest.mark.django_db


def expected_nodes(world: Any, *, events: bool) -> dict[str, dict[str, Any]]:
    """The six nodes without ``replies``, keys in Open-Assistant's order."""
    users = {name: str(user.pk) for name, user in world.users.items()}
    pk = world.pk

    def node(
        name: str, parent: str | None, author: str, minute: int, text: str, role: str, **extra: Any
    ):
        fields: dict[str, Any] = {"message_id": pk(name)}
        if parent:
            fields["parent_id"] = pk(parent)
        fields.update(
            {
                "user_id": users[author],
                "created_date": at(minute).isoformat(),
                "text": text,
                "role": role,
                "lang": "en",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
            }
        )
        if "rank" in extra:
            fields["rank"] = extra.pop("rank")
        fields["synthetic"] = False
        fields.update(extra)
        return fields

    ranking_events = [
        {
            "type": "ranking",
            "user_id": users[voter],
            "created_date": at(minute).isoformat(),
            "ranking": [0, 1, 2],
            "ranked_message_ids": [pk(name) for name in order],
            "ranking_parent_id": pk("m1"),
            "message_tree_id": str(world.tree.pk),
        }
        for voter, minute, order in (
            ("erin", 10, ["m2", "m3", "m4"]),
            ("frank", 11, ["m2", "m4", "m3"]),
        )
    ]
    label_events = [
        {
            "type": "label",
            "user_id": users[voter],
            "created_date": at(minute).isoformat(),
            "label": name,
            "value": value,
        }
        for voter, minute, name, value in (
            ("erin", 6, "spam", 0.0),
            ("erin", 6, "quality", 1.0),
            ("frank", 7, "spam", 0.0),
            ("frank", 7, "quality", 0.5),
        )
    ]
    emoji_events = [
        {
            "type": "emoji",
            "user_id": users[voter],
            "created_date": at(minute).isoformat(),
            "emoji": "+1",
        }
        for voter, minute in (("erin", 8), ("frank", 9))
    ]
    red_flag = [
        {
            "type": "emoji",
            "user_id": users["frank"],
            "created_date": at(9).isoformat(),
            "emoji": "red_flag",
        }
    ]
    m2_extra: dict[str, Any] = {"emojis": {"+1": 2}}
    m2_tail: dict[str, Any] = {
        "labels": {"quality": {"value": 0.75, "count": 2}, "spam": {"value": 0.0, "count": 2}}
    }
    if events:
        m2_tail["events"] = {"emoji": emoji_events, "label": label_events}
    return {
        "m1": node("m1", None, "alice", 0, "What is 2+2?", "prompter"),
        "m1_tail": {"events": {"ranking": ranking_events}} if events else {},
        "m2": node("m2", "m1", "bob", 1, "4", "assistant", rank=0, **m2_extra),
        "m2_tail": m2_tail,
        "m3": node("m3", "m1", "carol", 2, "5", "assistant", rank=1, emojis={"red_flag": 1}),
        "m3_tail": {"events": {"emoji": red_flag}} if events else {},
        "m4": node("m4", "m1", "dave", 3, "22", "assistant", rank=2),
        "m5": node("m5", "m2", "alice", 4, "Why?", "prompter"),
        "m6": node("m6", "m5", "bob", 5, "Because.", "assistant"),
    }


def tree_of(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def with_replies(name: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
        return {**nodes[name], "replies": replies, **nodes.get(f"{name}_tail", {})}

    m6 = with_replies("m6", [])
    m5 = with_replies("m5", [m6])
    m2 = with_replies("m2", [m5])
    return with_replies("m1", [m2, with_replies("m3", []), with_replies("m4", [])])


def test_oasst_trees_exact_json_with_labels_and_events(world, run_export):
    lines, result, _ = run_export(world.project, "oasst-trees", anonymize=False, with_events=True)

    expected = {
        "message_tree_id": str(world.tree.pk),
        "tree_state": "ready_for_export",
        "prompt": tree_of(expected_nodes(world, events=True)),
    }
    # Compared as text so that the key order (Open-Assistant's) is checked too.
    assert [json.dumps(line) for line in lines] == [json.dumps(expected)]
    assert (result.row_count, result.message_count, result.tree_count) == (1, 6, 1)
    assert check_tree(lines[0]) == 6


def test_oasst_trees_without_events_or_labels(world, run_export):
    lines, _, _ = run_export(world.project, "oasst-trees", anonymize=False, with_labels=False)
    nodes = expected_nodes(world, events=False)
    nodes["m2_tail"] = {}
    assert lines == [
        {
            "message_tree_id": str(world.tree.pk),
            "tree_state": "ready_for_export",
            "prompt": tree_of(nodes),
        }
    ]


def test_oasst_messages_are_the_nodes_flat_in_pre_order(world, run_export):
    lines, result, _ = run_export(world.project, "oasst-messages", anonymize=False)
    nodes = expected_nodes(world, events=False)
    expected = [
        {
            **nodes[name],
            **nodes.get(f"{name}_tail", {}),
            "message_tree_id": str(world.tree.pk),
            "tree_state": "ready_for_export",
        }
        for name in ("m1", "m2", "m5", "m6", "m3", "m4")
    ]
    assert [json.dumps(line) for line in lines] == [json.dumps(line) for line in expected]
    assert result.row_count == 6
    for line in lines:
        check_node(line)


def test_preferences_one_line_per_ordered_ranked_pair(world, run_export):
    lines, result, _ = run_export(world.project, "preferences", anonymize=False)
    base = {
        "message_tree_id": str(world.tree.pk),
        "parent_id": world.pk("m1"),
        "lang": "en",
        "role": "assistant",
        "prompt": [{"role": "user", "content": "What is 2+2?"}],
    }

    def pair(
        chosen: str, rejected: str, texts: tuple[str, str], ranks: tuple[int, int], agreement: float
    ):
        return {
            **base,
            "chosen": texts[0],
            "rejected": texts[1],
            "chosen_id": world.pk(chosen),
            "rejected_id": world.pk(rejected),
            "chosen_rank": ranks[0],
            "rejected_rank": ranks[1],
            "margin": ranks[1] - ranks[0],
            "agreement": agreement,
            "rankers": 2,
            "chosen_model": None,
            "rejected_model": None,
            # Nothing is scored in this world (no rescore): no consensus yet.
            "chosen_score": None,
            "rejected_score": None,
            "confidence": None,
        }

    assert lines == [
        # erin and frank both put m2 first: full agreement on m2's pairs.
        pair("m2", "m3", ("4", "5"), (0, 1), 1.0),
        pair("m2", "m4", ("4", "22"), (0, 2), 1.0),
        # erin: m3 > m4, frank: m4 > m3.
        pair("m3", "m4", ("5", "22"), (1, 2), 0.5),
    ]
    assert result.row_count == 3


def test_sft_follows_the_best_ranked_path(world, run_export):
    lines, result, _ = run_export(world.project, "sft", anonymize=False)
    assert lines == [
        {
            "message_tree_id": str(world.tree.pk),
            "lang": "en",
            "messages": [
                {"role": "user", "content": "What is 2+2?"},
                {"role": "assistant", "content": "4"},
                {"role": "user", "content": "Why?"},
                {"role": "assistant", "content": "Because."},
            ],
        }
    ]
    assert result.row_count == 1


def test_parquet_is_the_messages_table(world, run_export):
    _, result, path = run_export(world.project, "parquet", anonymize=False, with_events=True)
    table = pq.read_table(path)
    assert table.column_names == [
        "message_id",
        "parent_id",
        "user_id",
        "created_date",
        "text",
        "role",
        "lang",
        "review_count",
        "review_result",
        "deleted",
        "rank",
        "synthetic",
        "model_name",
        "message_tree_id",
        "tree_state",
        "emojis",
        "labels",
        "events",
        "quality_lang",
        "quality_lang_confidence",
        "quality_lang_mismatch",
        "quality_toxicity",
        "quality_toxicity_model",
        "quality_near_duplicate_of",
        "quality_similarity",
        "quality_leakage_eval_set",
        "quality_leakage_score",
        "quality_pii_types",
        "quality_flags",
        "quality",
        "consensus_rank",
        "consensus_score",
        "rank_confidence",
        "ranking_voters",
        "consensus",
    ]
    assert str(table.schema.field("created_date").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("rank").type) == "int32"
    rows = table.to_pylist()
    assert [row["text"] for row in rows] == ["What is 2+2?", "4", "Why?", "Because.", "5", "22"]
    assert [row["rank"] for row in rows] == [None, 0, None, None, 1, 2]
    assert rows[0]["parent_id"] is None
    assert rows[1]["parent_id"] == world.pk("m1")
    assert rows[1]["emojis"] == {"name": ["+1"], "count": [2]}
    assert rows[1]["labels"] == {"name": ["quality", "spam"], "value": [0.75, 0.0], "count": [2, 2]}
    assert rows[0]["labels"] is None
    assert json.loads(rows[0]["events"])["ranking"][0]["ranked_message_ids"] == [
        world.pk("m2"),
        world.pk("m3"),
        world.pk("m4"),
    ]
    assert rows[1]["created_date"] == at(1)
    assert {row["message_tree_id"] for row in rows} == {str(world.tree.pk)}
    assert result.row_count == result.message_count == table.num_rows == 6
    assert pq.ParquetFile(path).metadata.num_row_groups == 1


def test_gzip_output_is_the_same_lines_compressed(world, run_export):
    plain, _, plain_path = run_export(world.project, "oasst-trees", secret="s3cret-key")
    packed, result, packed_path = run_export(
        world.project, "oasst-trees", secret="s3cret-key", gzip=True
    )
    assert packed_path.suffix == ".gz"
    assert packed_path.read_bytes()[:2] == b"\x1f\x8b"
    assert packed == plain
    assert result.byte_size == packed_path.stat().st_size < plain_path.stat().st_size
