"""Imports: what lands where, bad lines, strict mode, duplicates."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from backend.exports.models import ImportedEmoji, ImportedLabel
from backend.exports.services import import_file
from backend.trees.models import Message, Tree
from tests.exports.builders import label

pytestmark = pytest.mark.django_db

OA_TREE = {
    "message_tree_id": "11111111-1111-4111-8111-111111111111",
    "tree_state": "ready_for_export",
    "prompt": {
        "message_id": "11111111-1111-4111-8111-111111111111",
        "user_id": "ignored-user",
        "created_date": "2023-02-05T18:49:46.447452+00:00",
        "text": "Name a prime.",
        "role": "prompter",
        "lang": "en",
        "review_count": 3,
        "review_result": True,
        "deleted": False,
        "synthetic": False,
        "emojis": {"+1": 3, "_skip_reply": 1},
        "labels": {"spam": {"value": 0.0, "count": 3}, "quality": {"value": 0.5, "count": 2}},
        "replies": [
            {
                "message_id": "22222222-2222-4222-8222-222222222222",
                "parent_id": "11111111-1111-4111-8111-111111111111",
                "text": "Seven.",
                "role": "assistant",
                "lang": "en",
                "review_count": 2,
                "review_result": True,
                "deleted": False,
                "rank": 1,
                "synthetic": True,
                "model_name": "model-x",
                "replies": [],
            },
            {
                "message_id": "33333333-3333-4333-8333-333333333333",
                "parent_id": "11111111-1111-4111-8111-111111111111",
                "text": "Two.",
                "role": "assistant",
                "lang": "en",
                "review_count": 3,
                "review_result": False,
                "deleted": True,
                "rank": 0,
                "synthetic": False,
                "replies": [],
            },
        ],
    },
}


def write_lines(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def other_tree(number: int) -> dict:
    tree_id = f"{number:08d}-0000-4000-8000-000000000000"
    return {
        "message_tree_id": tree_id,
        "prompt": {
            "message_id": tree_id,
            "text": f"prompt {number}",
            "role": "prompter",
            "lang": "en",
        },
    }


def test_oasst_import_keeps_every_field(make_project, tmp_path):
    project = make_project(slug="imp")
    report = import_file(
        path=str(write_lines(tmp_path / "one.jsonl", [OA_TREE])),
        project_slug="imp",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    assert (report.trees_created, report.messages_created, report.error_count) == (1, 3, 0)
    tree = Tree.objects.get(project=project)
    assert (tree.state, tree.lang, tree.origin_id) == (
        "ready_for_export",
        "en",
        OA_TREE["message_tree_id"],
    )
    root, seven, two = Message.objects.filter(tree=tree).order_by("depth", "pk")
    assert tree.root_id == root.pk
    assert (root.role, root.text, root.review_count, root.review_result, root.author_id) == (
        "prompter",
        "Name a prime.",
        3,
        True,
        None,
    )
    assert root.created_at.isoformat() == "2023-02-05T18:49:46.447452+00:00"
    assert tree.created_at == root.created_at
    assert (seven.parent_id, seven.rank, seven.synthetic, seven.model_name, seven.depth) == (
        root.pk,
        1,
        True,
        "model-x",
        1,
    )
    assert (two.rank, two.review_result, two.is_deleted, two.origin_id) == (
        0,
        False,
        True,
        "33333333-3333-4333-8333-333333333333",
    )
    assert sorted(ImportedLabel.objects.values_list("name", "value", "count")) == [
        ("quality", 0.5, 2),
        ("spam", 0.0, 3),
    ]
    assert sorted(ImportedEmoji.objects.values_list("emoji", "count")) == [
        ("+1", 3),
        ("_skip_reply", 1),
    ]


def test_imported_labels_merge_with_new_votes_on_export(
    make_project, make_user, tmp_path, run_export
):
    project = make_project(slug="imp")
    import_file(
        path=str(write_lines(tmp_path / "one.jsonl", [OA_TREE])),
        project_slug="imp",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    root = Message.objects.get(origin_id=OA_TREE["message_tree_id"])
    label(root, make_user(), "quality", 1.0)  # imported 0.5 × 2, plus one vote of 1.0
    lines, _, _ = run_export(project, "oasst-trees", anonymize=False, include_synthetic=True)
    assert lines[0]["prompt"]["labels"] == {
        "quality": {"value": pytest.approx(2 / 3), "count": 3},
        "spam": {"value": 0.0, "count": 3},
    }
    assert lines[0]["prompt"]["emojis"] == {"+1": 3, "_skip_reply": 1}


def test_bad_lines_are_reported_and_the_rest_imports(make_project, tmp_path):
    make_project(slug="imp")
    bad_role = other_tree(5)
    bad_role["prompt"]["role"] = "assistant"
    empty_text = other_tree(6)
    empty_text["prompt"]["text"] = "  "
    bad_rank = json.loads(json.dumps(OA_TREE))
    bad_rank["message_tree_id"] = "bad-rank"
    bad_rank["prompt"]["replies"][1]["rank"] = -1
    same_role = other_tree(8)
    same_role["prompt"]["replies"] = [{"message_id": "r", "text": "again", "role": "prompter"}]
    nul = other_tree(9)
    nul["prompt"]["text"] = "nul \x00 inside"
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            other_tree(1),
            "{not json",
            "[1, 2]",
            "",
            bad_role,
            empty_text,
            bad_rank,
            same_role,
            nul,
            other_tree(2),
        ],
    )
    with path.open("ab") as handle:
        handle.write(b"\xff\xfe not utf-8\n")

    report = import_file(path=str(path), project_slug="imp", format="oasst-trees")

    assert report.trees_created == 2
    assert report.lines_read == 10  # the blank line is not a line of data
    assert [error["line"] for error in report.errors] == [2, 3, 5, 6, 7, 8, 9, 11]
    reasons = {error["line"]: error["reason"] for error in report.errors}
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "a line must be a JSON object {message_tree_id, tree_state, prompt}"
    assert reasons[5] == "prompt.role: the first message of a tree is the prompter's"
    assert reasons[6] == "prompt.text: must not be empty"
    assert reasons[7] == "prompt.replies[1].rank: must be a whole number ≥ 0"
    assert (
        reasons[8]
        == "prompt.replies[0].role: a prompter message cannot reply to a prompter message"
    )
    assert reasons[9] == "prompt.text: contains a NUL character"
    assert reasons[11] == "the line is not UTF-8 text"
    assert sorted(Tree.objects.values_list("origin_id", flat=True)) == [
        other_tree(1)["message_tree_id"],
        other_tree(2)["message_tree_id"],
    ]


def test_strict_imports_nothing_when_a_line_is_bad(make_project, tmp_path):
    make_project(slug="imp")
    path = write_lines(tmp_path / "mixed.jsonl", [other_tree(1), {"prompt": {}}, other_tree(2)])
    report = import_file(path=str(path), project_slug="imp", format="oasst-trees", strict=True)
    assert report.imported_nothing is True
    assert report.errors == [{"line": 2, "reason": "message_tree_id: must be a string"}]
    assert report.trees_created == 0
    assert Tree.objects.count() == Message.objects.count() == 0

    good = write_lines(tmp_path / "good.jsonl", [other_tree(1), other_tree(2)])
    report = import_file(path=str(good), project_slug="imp", format="oasst-trees", strict=True)
    assert (report.imported_nothing, report.trees_created, report.lines_read) == (False, 2, 2)


def test_importing_twice_does_not_duplicate(make_project, tmp_path):
    make_project(slug="imp")
    path = write_lines(tmp_path / "trees.jsonl", [OA_TREE, other_tree(1), other_tree(1)])
    first = import_file(path=str(path), project_slug="imp", format="oasst-trees")
    second = import_file(path=str(path), project_slug="imp", format="oasst-trees")
    assert (first.trees_created, first.trees_duplicate) == (2, 1)  # the same tree twice in the file
    assert (second.trees_created, second.trees_duplicate, second.messages_created) == (0, 3, 0)
    assert Tree.objects.count() == 2
    assert Message.objects.count() == 4


def test_the_same_file_may_go_into_another_project(make_project, tmp_path):
    make_project(slug="one")
    make_project(slug="two")
    path = write_lines(tmp_path / "trees.jsonl", [OA_TREE])
    import_file(path=str(path), project_slug="one", format="oasst-trees")
    report = import_file(path=str(path), project_slug="two", format="oasst-trees")
    assert report.trees_created == 1


def test_gzipped_input(make_project, tmp_path):
    make_project(slug="imp")
    path = tmp_path / "trees.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(other_tree(1)) + "\n" + json.dumps(other_tree(2)))
    report = import_file(path=str(path), project_slug="imp", format="oasst-trees")
    assert (report.trees_created, report.lines_read) == (2, 2)


def test_sharegpt_conversations_become_linear_trees(make_project, tmp_path):
    project = make_project(slug="imp")
    conversations = [
        {
            "id": "conv-1",
            "conversations": [
                {"from": "human", "value": "Hi!"},
                {"from": "gpt", "value": "Hello, how can I help?"},
                {"from": "human", "value": "Tell me a joke."},
                {"from": "gpt", "value": "Why did the tree go to school?"},
            ],
        },
        {
            "messages": [
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4"},
            ],
            "model": "gpt-x",
        },
        {
            "conversations": [
                {"from": "system", "value": "You are nice."},
                {"from": "human", "value": "Hi"},
            ]
        },
        {"conversations": [{"from": "gpt", "value": "I start."}]},
        {"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]},
        {"conversations": []},
    ]
    path = write_lines(tmp_path / "share.jsonl", conversations)
    report = import_file(path=str(path), project_slug="imp", format="sharegpt", lang="de")

    assert (report.trees_created, report.messages_created) == (2, 6)
    assert report.errors == [
        {"line": 3, "reason": "turn 1: system turns are not supported"},
        {
            "line": 4,
            "reason": "turn 1: expected a user turn (turns alternate, starting with the user)",
        },
        {
            "line": 5,
            "reason": "turn 2: expected an assistant turn "
            "(turns alternate, starting with the user)",
        },
        {"line": 6, "reason": "the conversation has no turns"},
    ]
    first, second = Tree.objects.filter(project=project).order_by("pk")
    messages = list(Message.objects.filter(tree=first).order_by("depth"))
    assert [(m.depth, m.role, m.text) for m in messages] == [
        (0, "prompter", "Hi!"),
        (1, "assistant", "Hello, how can I help?"),
        (2, "prompter", "Tell me a joke."),
        (3, "assistant", "Why did the tree go to school?"),
    ]
    assert all(m.parent_id == (messages[i - 1].pk if i else None) for i, m in enumerate(messages))
    assert all(m.review_result is True and m.lang == "de" for m in messages)
    assert first.state == "backlog"
    model_turn = Message.objects.get(tree=second, role="assistant")
    assert (model_turn.synthetic, model_turn.model_name) == (True, "gpt-x")

    again = import_file(path=str(path), project_slug="imp", format="sharegpt", lang="de")
    assert (again.trees_created, again.trees_duplicate) == (0, 2)


def test_sharegpt_json_array_file(make_project, tmp_path):
    make_project(slug="imp")
    path = tmp_path / "share.json"
    path.write_text(
        json.dumps(
            [
                [{"from": "human", "value": "one"}, {"from": "gpt", "value": "two"}],
                {"conversations": [{"from": "robot", "value": "?"}]},
            ]
        )
    )
    report = import_file(path=str(path), project_slug="imp", format="sharegpt")
    assert report.trees_created == 1
    assert report.errors == [{"line": 2, "reason": "turn 1: unknown speaker 'robot'"}]


def test_backlog_imports_enter_the_prompt_lottery(
    make_project, tmp_path, django_capture_on_commit_callbacks
):
    project = make_project(slug="imp", max_active_trees=2)
    path = write_lines(tmp_path / "trees.jsonl", [other_tree(n) for n in range(1, 5)])
    with django_capture_on_commit_callbacks(execute=True):
        import_file(
            path=str(path), project_slug="imp", format="oasst-trees", target_state="backlog"
        )
    states = sorted(Tree.objects.filter(project=project).values_list("state", flat=True))
    assert states == ["backlog", "backlog", "growing", "growing"]
