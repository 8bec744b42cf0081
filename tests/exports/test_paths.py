"""SFT paths and preference pairs on shapes the small world does not have (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.exports.formats.preferences import pair_agreement, preference_records
from backend.exports.formats.records import ExportNode, ExportTree
from backend.exports.formats.sft import sft_records

WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def node(
    pk: int, role: str, text: str, rank: int | None = None, children=(), rankings=()
) -> ExportNode:
    made = ExportNode(
        pk=pk,
        parent_pk=None,
        message_id=str(pk),
        parent_id=None,
        user_id=None,
        created_at=WHEN,
        text=text,
        role=role,
        lang="en",
        review_count=0,
        review_result=True,
        deleted=False,
        rank=rank,
        synthetic=False,
        model_name=None,
    )
    made.children = list(children)
    made.rankings = [list(ranking) for ranking in rankings]
    return made


def tree(root: ExportNode) -> ExportTree:
    return ExportTree(message_tree_id="t", tree_state="ready_for_export", lang="en", root=root)


def conversations(root: ExportNode) -> list[list[str]]:
    return [[turn["content"] for turn in line["messages"]] for line in sft_records(tree(root))]


def test_unranked_groups_give_one_path_per_reply_and_trailing_user_turns_are_dropped():
    root = node(
        1,
        "prompter",
        "Q",
        children=[
            node(2, "assistant", "A1", children=[node(4, "prompter", "dangling follow-up")]),
            node(3, "assistant", "A2"),
        ],
    )
    assert conversations(root) == [["Q", "A1"], ["Q", "A2"]]


def test_ranked_groups_follow_the_best_only_and_a_lone_prompt_gives_nothing():
    root = node(
        1,
        "prompter",
        "Q",
        children=[node(2, "assistant", "worse", rank=1), node(3, "assistant", "best", rank=0)],
    )
    assert conversations(root) == [["Q", "best"]]
    assert conversations(node(9, "prompter", "nobody answered")) == []


def test_paths_that_trim_to_the_same_conversation_are_written_once():
    root = node(
        1,
        "prompter",
        "Q",
        children=[
            node(
                2, "assistant", "A", children=[node(3, "prompter", "f1"), node(4, "prompter", "f2")]
            )
        ],
    )
    assert conversations(root) == [["Q", "A"]]


def test_pairs_skip_ties_and_unranked_and_agreement_counts_only_rankers_of_both():
    root = node(
        1,
        "prompter",
        "Q",
        children=[
            node(2, "assistant", "a", rank=0),
            node(3, "assistant", "b", rank=0),
            node(4, "assistant", "c", rank=1),
            node(5, "assistant", "unranked"),
        ],
        rankings=[[2, 4], [4, 2, 3], [3]],
    )
    pairs = [
        (line["chosen"], line["rejected"], line["agreement"], line["rankers"])
        for line in preference_records(tree(root))
    ]
    assert pairs == [("a", "c", 0.5, 2), ("b", "c", 0.0, 1)]
    assert pair_agreement([[2, 4], [4, 2]], 2, 4) == (1, 2)
    assert pair_agreement([], 2, 4) == (0, 0)


def test_prompter_reply_rankings_give_user_pairs_with_the_conversation_so_far():
    follow_ups = [
        node(4, "prompter", "good follow-up", rank=0),
        node(5, "prompter", "bad follow-up", rank=1),
    ]
    root = node(
        1, "prompter", "Q", children=[node(2, "assistant", "A", rank=0, children=follow_ups)]
    )
    (line,) = list(preference_records(tree(root)))
    assert line["role"] == "user"
    assert line["prompt"] == [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "A"},
    ]
    assert (line["chosen"], line["rejected"], line["agreement"], line["rankers"]) == (
        "good follow-up",
        "bad follow-up",
        None,
        0,
    )
