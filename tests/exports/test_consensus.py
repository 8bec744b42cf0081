"""Consensus results in exports: next to Open-Assistant's fields, never instead of them.

The small world (``builders.SmallWorld``) is rescored, so every result is known by hand:

- rankings of m1's replies: erin m2 > m3 > m4, frank m2 > m4 > m3. Ranked pairs locks
  m2 → m3 and m2 → m4 (margin 2 each); m3 and m4 tie (margin 0), settled by the earliest
  ballot (erin's): order m2, m3, m4, ``tie_resolved``, smallest locked margin 2 of 2
  voters (confidence 1.0). Kendall's W: rank sums 2, 5, 5 around a mean of 4, S = 6,
  W = 12 · 6 / (2² · (3³ − 3)) = 0.75. Plackett–Luce: m3 and m4 are interchangeable, so
  their scores are equal and, zero-centred, m2's is minus twice theirs.
- labels of m2: spam 0, 0 (a flag: mean 0, Wilson 95 % interval [0, z²/(2 + z²)] =
  [0, 0.657619772], posterior 0 by majority — too few messages for Dawid–Skene);
  quality 1, 0.5 (Likert: mean 0.75; the t interval 0.75 ± 12.706 · 0.354 / √2 is
  clipped to [0, 1]); acceptance by the mean rule: 1 − 0 − 0 = 1 > 0.6.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from backend.consensus.algorithms.bradley_terry import bradley_terry_scores
from backend.consensus.models import RankingResult
from backend.consensus.services import project_rescore
from tests.exports.conftest import read_jsonl

pytestmark = pytest.mark.django_db

M3_SCORE = -1.410797733  # stored rounded to 9 decimals
GROUP = {
    "rank_confidence": 1.0,
    "ranking_voters": 2,
    "min_locked_margin": 2,
    "tie_resolved": True,
    "kendalls_w": 0.75,
    "ranking_algorithm": "ranked_pairs/1",
    "score_algorithm": "plackett_luce/1",
}
M2_LABELS = {
    "labels": {
        "quality": {"kind": "likert", "count": 2, "mean": 0.75, "ci_low": 0.0, "ci_high": 1.0},
        "spam": {
            "kind": "flag",
            "count": 2,
            "mean": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.657619772,
            "posterior": 0.0,
            "posterior_method": "majority",
        },
    },
    "acceptance": {"rule": "mean", "score": 1.0, "is_accepted": True},
    "label_algorithm": "label_aggregate/1",
}


def expected_consensus() -> dict[str, dict[str, Any] | None]:
    return {
        "m1": None,  # a prompt: no siblings ranked, no label votes
        "m2": {"score": -2 * M3_SCORE, "rank": 0, **GROUP, **M2_LABELS},
        "m3": {"score": M3_SCORE, "rank": 1, **GROUP},
        "m4": {"score": M3_SCORE, "rank": 2, **GROUP},
        "m5": None,
        "m6": None,
    }


@pytest.fixture
def scored(world):  # type: ignore[no-untyped-def]
    project_rescore(project_id=world.project.pk)
    return world


def test_the_scores_are_the_plackett_luce_reference(scored):
    m = scored.messages
    reference = bradley_terry_scores(
        [[m["m2"].pk, m["m3"].pk, m["m4"].pk], [m["m2"].pk, m["m4"].pk, m["m3"].pk]]
    )
    assert reference[m["m3"].pk] == pytest.approx(M3_SCORE, abs=1e-8)
    assert reference[m["m2"].pk] == pytest.approx(-2 * M3_SCORE, abs=1e-8)
    result = RankingResult.objects.get(parent=m["m1"])
    assert result.scores == [-2 * M3_SCORE, M3_SCORE, M3_SCORE]


def strip_consensus(node: dict[str, Any]) -> dict[str, Any]:
    return {
        name: [strip_consensus(reply) for reply in value] if name == "replies" else value
        for name, value in node.items()
        if name != "consensus"
    }


def test_oasst_trees_carry_consensus_next_to_open_assistant_s_fields(scored, run_export):
    lines, _, _ = run_export(scored.project, "oasst-trees", anonymize=False, with_events=True)
    without, _, _ = run_export(
        scored.project, "oasst-trees", anonymize=False, with_events=True, with_consensus=False
    )

    (tree,) = lines
    prompt = tree["prompt"]
    m2, m3, m4 = prompt["replies"]
    m5 = m2["replies"][0]
    m6 = m5["replies"][0]
    found = {"m1": prompt, "m2": m2, "m3": m3, "m4": m4, "m5": m5, "m6": m6}
    expected = expected_consensus()
    for name, node in found.items():
        assert node["message_id"] == scored.pk(name)
        assert node.get("consensus") == expected[name], name
    # Added, never replacing: without it the very same Open-Assistant tree, and the
    # consensus object comes last, after Open-Assistant's own fields and Arbor's events.
    assert [tree["message_tree_id"], strip_consensus(prompt)] == [
        without[0]["message_tree_id"],
        without[0]["prompt"],
    ]
    assert "consensus" not in json.dumps(without)
    assert list(m2)[-3:] == ["labels", "events", "consensus"]
    assert m2["labels"] == {
        "quality": {"value": 0.75, "count": 2},
        "spam": {"value": 0.0, "count": 2},
    }
    assert [m2["rank"], m3["rank"], m4["rank"]] == [0, 1, 2]


def test_oasst_messages_carry_the_same_objects(scored, run_export):
    lines, _, _ = run_export(scored.project, "oasst-messages", anonymize=False)
    expected = expected_consensus()
    by_id = {line["message_id"]: line for line in lines}
    for name, consensus in expected.items():
        line = by_id[scored.pk(name)]
        assert line.get("consensus") == consensus, name
        if consensus is not None:
            assert list(line)[-3:] == ["consensus", "message_tree_id", "tree_state"]


def test_anonymised_exports_give_no_arbor_id_away_in_consensus(scored, run_export):
    lines, _, _ = run_export(scored.project, "oasst-messages", secret="a-secret-key")
    consensus = [line["consensus"] for line in lines if "consensus" in line]
    assert consensus == [
        value for value in expected_consensus().values() if value is not None
    ]  # pre-order: m2, m3, m4; nothing but numbers, flags and rule names


def test_preferences_get_scores_and_the_group_s_confidence(scored, run_export):
    lines, _, _ = run_export(scored.project, "preferences", anonymize=False)
    pairs = [
        (
            line["chosen_id"],
            line["rejected_id"],
            line["chosen_score"],
            line["rejected_score"],
            line["confidence"],
        )
        for line in lines
    ]
    m2, m3, m4 = scored.pk("m2"), scored.pk("m3"), scored.pk("m4")
    assert pairs == [
        (m2, m3, -2 * M3_SCORE, M3_SCORE, 1.0),
        (m2, m4, -2 * M3_SCORE, M3_SCORE, 1.0),
        (m3, m4, M3_SCORE, M3_SCORE, 1.0),
    ]
    # Open-Assistant's ranks and the raw agreement are still there, unchanged.
    assert [(line["chosen_rank"], line["margin"], line["agreement"]) for line in lines] == [
        (0, 1, 1.0),
        (0, 2, 1.0),
        (1, 1, 0.5),
    ]

    plain, _, _ = run_export(scored.project, "preferences", anonymize=False, with_consensus=False)
    assert [sorted(line) for line in plain] == [
        sorted(set(line) - {"chosen_score", "rejected_score", "confidence"}) for line in lines
    ]


def test_parquet_gets_typed_consensus_columns(scored, run_export):
    _, _, path = run_export(scored.project, "parquet", anonymize=False)
    rows = pq.read_table(path).to_pylist()
    assert [row["text"] for row in rows] == ["What is 2+2?", "4", "Why?", "Because.", "5", "22"]
    assert [row["consensus_rank"] for row in rows] == [None, 0, None, None, 1, 2]
    assert [row["consensus_score"] for row in rows] == [
        None,
        -2 * M3_SCORE,
        None,
        None,
        M3_SCORE,
        M3_SCORE,
    ]
    assert [row["rank_confidence"] for row in rows] == [None, 1.0, None, None, 1.0, 1.0]
    assert [row["ranking_voters"] for row in rows] == [None, 2, None, None, 2, 2]
    expected = expected_consensus()
    names = ["m1", "m2", "m5", "m6", "m3", "m4"]
    assert [json.loads(row["consensus"]) if row["consensus"] else None for row in rows] == [
        expected[name] for name in names
    ]

    _, _, plain_path = run_export(scored.project, "parquet", with_consensus=False)
    assert "consensus" not in pq.read_table(plain_path).column_names
    assert "consensus_score" not in pq.read_table(plain_path).column_names


def test_the_newest_work_item_s_result_speaks_for_the_group(scored, run_export):
    """A re-ranked group (a newer ranking work item) replaces the older result."""
    from backend.assignments.models import WorkItem, WorkItemState

    m = scored.messages
    old = RankingResult.objects.get(parent=m["m1"])
    item = WorkItem.objects.create(
        project=scored.project,
        tree=scored.tree,
        target=m["m1"],
        kind="rank_assistant_replies",
        lang="en",
        state=WorkItemState.CLOSED,
        required=1,
        open_slots=0,
        completed_count=1,
        candidate_ids=[m["m2"].pk, m["m3"].pk, m["m4"].pk],
    )
    RankingResult.objects.create(
        project=scored.project,
        tree=scored.tree,
        parent=m["m1"],
        work_item=item,
        algorithm="ranked_pairs",
        algorithm_version=1,
        score_algorithm="plackett_luce",
        score_algorithm_version=1,
        order=[m["m4"].pk, m["m3"].pk, m["m2"].pk],
        margins=[[0, 1, 1], [-1, 0, 1], [-1, -1, 0]],
        scores=[0.5, 0.0, -0.5],
        min_locked_margin=1,
        tie_resolved=False,
        kendalls_w=None,
        voter_count=1,
        votes_digest="0" * 64,
        last_vote_at=old.last_vote_at,
        computed_at=old.computed_at,
    )

    lines, _, _ = run_export(scored.project, "oasst-messages", anonymize=False)

    by_id = {line["message_id"]: line.get("consensus", {}) for line in lines}
    newer = {
        "rank_confidence": 1.0,
        "ranking_voters": 1,
        "min_locked_margin": 1,
        "tie_resolved": False,
        "ranking_algorithm": "ranked_pairs/1",
        "score_algorithm": "plackett_luce/1",
    }
    assert by_id[scored.pk("m4")] == {"score": 0.5, "rank": 0, **newer}
    assert by_id[scored.pk("m3")] == {"score": 0.0, "rank": 1, **newer}
    assert by_id[scored.pk("m2")] == {"score": -0.5, "rank": 2, **newer, **M2_LABELS}


def test_the_command_line_and_the_api_can_leave_consensus_out(
    scored, tmp_path, make_user, client_for, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    with_it, without_it = tmp_path / "with.jsonl", tmp_path / "without.jsonl"
    common = ["export", "--project", "lab", "--format", "oasst-messages", "--no-anonymize"]
    call_command(*common, "--output", str(with_it), stdout=StringIO(), stderr=StringIO())
    call_command(
        *common,
        "--output",
        str(without_it),
        "--no-consensus",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert sum("consensus" in line for line in read_jsonl(with_it)) == 3
    assert sum("consensus" in line for line in read_jsonl(without_it)) == 0

    client = client_for(make_user("researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/exports/",
            {"project": "lab", "format": "oasst-messages", "with_consensus": False},
            format="json",
        )
    assert created.status_code == 202
    job = client.get(f"/api/v1/exports/{created.json()['id']}").json()
    assert job["state"] == "succeeded"
    assert job["filters"]["with_consensus"] is False
    content = b"".join(client.get(job["download_url"]).streaming_content)
    assert b'"consensus"' not in content
