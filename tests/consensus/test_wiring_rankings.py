"""Ranking consensus through the lifecycle: results stored per group with their
algorithm, ranks equal the stored order, Plackett–Luce scores, Celery scoring as soon
as a group's ballots are in, and the tree/message API."""

from __future__ import annotations

import math

import pytest

from backend.assignments.models import RankingVote
from backend.consensus import versions
from backend.consensus.algorithms.bradley_terry import bradley_terry_scores
from backend.consensus.algorithms.ranked_pairs import ranked_pairs
from backend.consensus.models import RankingResult
from backend.consensus.selectors import message_consensus_extras
from backend.consensus.services import ranking_group_score
from backend.trees.models import Message
from tests.factories import (
    committed,
    growing_tree,
    people,
    rank,
    review,
    small_project,
    tree_state,
    write_reply,
)

pytestmark = pytest.mark.django_db


def three_reply_tree(rankings: int = 3):  # type: ignore[no-untyped-def]
    project = small_project(goal_tree_size=4, max_children=3, num_required_rankings=rankings)
    author, reviewer, *writers = people(5)
    tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, writer) for writer in writers]
    for reply in replies:
        review(reply, [reviewer])
    assert tree_state(tree) == "ranking"
    return project, tree, root, replies


def test_a_ranked_group_gets_a_result_with_its_algorithm_and_ranks_equal_its_order():
    _, tree, root, (a, b, c) = three_reply_tree()
    voters = people(3)
    ballots = [[b, a, c], [a, c, b], [a, b, c]]
    with committed():
        for voter, ballot in zip(voters, ballots, strict=True):
            rank(root, voter, ballot)
    assert tree_state(tree) == "ready_for_export"

    result = RankingResult.objects.get(parent=root)
    expected = ranked_pairs([[message.pk for message in ballot] for ballot in ballots])
    assert (result.algorithm, result.algorithm_version) == versions.RANKED_PAIRS
    assert (result.score_algorithm, result.score_algorithm_version) == versions.PLACKETT_LUCE
    assert result.order == [a.pk, b.pk, c.pk] == list(expected.order)
    # margins[i][j]: voters preferring order[i] to order[j] minus the reverse.
    assert result.margins == [[0, 1, 3], [-1, 0, 1], [-3, -1, 0]]
    assert result.min_locked_margin == expected.min_locked_margin == 1
    assert result.tie_resolved is expected.tie_resolved is False
    assert result.voter_count == 3
    assert result.confidence == pytest.approx(1 / 3)
    assert result.work_item_id == live_item_id(root)
    assert len(result.votes_digest) == 64

    ranks = dict(Message.objects.filter(parent=root).values_list("pk", "rank"))
    assert ranks == {pk: position for position, pk in enumerate(result.order)}


def live_item_id(root: Message) -> int:
    vote = RankingVote.objects.filter(parent=root).first()
    assert vote is not None and vote.work_item_id is not None
    return vote.work_item_id


def test_plackett_luce_scores_are_stored_in_order_and_match_the_reference():
    _, _, root, (a, b, c) = three_reply_tree()
    ballots = [[b, a, c], [a, c, b], [a, b, c]]
    with committed():
        for voter, ballot in zip(people(3), ballots, strict=True):
            rank(root, voter, ballot)

    result = RankingResult.objects.get(parent=root)
    reference = bradley_terry_scores([[message.pk for message in ballot] for ballot in ballots])
    assert result.scores == pytest.approx([reference[pk] for pk in result.order], abs=1e-8)
    assert math.fsum(result.scores) == pytest.approx(0.0, abs=1e-8)
    assert result.scores == sorted(result.scores, reverse=True)
    # Kendall's W of the three ballots (Siegel & Castellan's formula, no ties):
    # rank sums a=4, b=6, c=8 → S = 8, W = 12·8 / (9·24) = 4/9.
    assert result.kendalls_w == pytest.approx(4 / 9)

    extras = message_consensus_extras([a.pk, b.pk, c.pk, root.pk])
    assert extras[a.pk]["score"] == result.scores[0]
    assert extras[c.pk]["score"] == result.scores[2]
    assert extras[a.pk]["rank_confidence"] == pytest.approx(1 / 3)
    assert extras[a.pk]["ranking_voters"] == 3
    assert extras[root.pk]["score"] is None


def test_a_group_is_scored_by_celery_as_soon_as_its_ballots_are_in():
    """Two groups: the first one's result exists while the tree still waits for the
    second; ranks appear only when the whole tree is scored."""
    project = small_project(goal_tree_size=5, max_depth=2, max_children=2)
    author, reviewer, w1, w2, w3, w4, voter = people(7)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, w1), write_reply(root, w2)
    review(a, [reviewer])
    review(b, [reviewer])
    a1, a2 = write_reply(a, w3), write_reply(a, w4)
    review(a1, [reviewer])
    review(a2, [reviewer])
    assert tree_state(tree) == "ranking"

    with committed():
        rank(root, voter, [b, a])
    assert tree_state(tree) == "ranking"
    first = RankingResult.objects.get(parent=root)
    assert first.order == [b.pk, a.pk]
    assert not RankingResult.objects.filter(parent=a).exists()
    assert list(Message.objects.filter(tree=tree).exclude(rank=None)) == []

    with committed():
        rank(a, voter, [a2, a1])
    assert tree_state(tree) == "ready_for_export"
    assert RankingResult.objects.get(parent=a).order == [a2.pk, a1.pk]
    # Scoring the tree found the first group's result current and left it as it was.
    assert RankingResult.objects.get(parent=root).computed_at == first.computed_at
    assert dict(Message.objects.filter(tree=tree).exclude(rank=None).values_list("pk", "rank")) == {
        b.pk: 0,
        a.pk: 1,
        a2.pk: 0,
        a1.pk: 1,
    }


def test_scoring_a_group_again_rewrites_nothing():
    _, _, root, (a, b, c) = three_reply_tree(rankings=1)
    with committed():
        rank(root, people(1)[0], [c, b, a])
    stored = RankingResult.objects.get(parent=root)

    again = ranking_group_score(parent_id=root.pk)

    assert again is not None and again.pk == stored.pk
    assert RankingResult.objects.get(pk=stored.pk).computed_at == stored.computed_at
    assert RankingResult.objects.count() == 1


def test_a_group_without_ballots_has_no_result():
    _, _, root, _ = three_reply_tree()
    assert ranking_group_score(parent_id=root.pk) is None
    assert not RankingResult.objects.exists()


def test_the_tree_and_message_endpoints_show_scores_and_group_confidence(client_for):
    _, tree, root, (a, b, c) = three_reply_tree()
    voters = people(3)
    with committed():
        for voter, ballot in zip(voters, [[b, a, c], [a, c, b], [a, b, c]], strict=True):
            rank(root, voter, ballot)
    result = RankingResult.objects.get(parent=root)
    client = client_for(voters[0])

    body = client.get(f"/api/v1/trees/{tree.pk}").json()

    scores = {message["id"]: message["score"] for message in body["messages"]}
    assert scores == {root.pk: None, **dict(zip(result.order, result.scores, strict=True))}
    (group,) = body["ranking_groups"]
    assert group["parent_id"] == root.pk
    assert group["order"] == [a.pk, b.pk, c.pk]
    assert group["confidence"] == pytest.approx(1 / 3)
    assert (group["min_locked_margin"], group["voter_count"]) == (1, 3)
    assert group["algorithm"] == "ranked_pairs/1"
    assert group["score_algorithm"] == "plackett_luce/1"

    single = client.get(f"/api/v1/messages/{a.pk}").json()
    assert single["score"] == result.scores[0]
    assert single["consensus"]["score"] == result.scores[0]
    assert single["consensus"]["rank_confidence"] == pytest.approx(1 / 3)
    assert single["consensus"]["labels"]["spam"]["count"] == 1
