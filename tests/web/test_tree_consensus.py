"""The tree viewer shows each reply's consensus: its rank and Plackett–Luce score among
its siblings, the sibling group's confidence, voters and Kendall's W, and label means
with their 95 % intervals — and nothing where nothing is scored."""

from __future__ import annotations

import re

import pytest

from backend.consensus.algorithms.bradley_terry import bradley_terry_scores
from backend.consensus.models import RankingResult
from backend.projects.services import project_create
from tests.factories import SMALL_TREE, committed, growing_tree, people, rank, review, write_reply

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    """The page's text with tags dropped and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def block(html: str, attribute: str, value: int) -> str:
    match = re.search(rf'<(\w+)[^>]*{attribute}="{value}"[^>]*>(.*?)</\1>', html, re.S)
    assert match is not None, f"no {attribute}={value}"
    return text_of(match.group(2)).strip()


def test_each_reply_shows_its_consensus_and_the_group_its_confidence(web):
    project = project_create(
        slug="consensus-view", settings={**SMALL_TREE, "num_required_rankings": 2}
    )
    author, first_writer, second_writer, reviewer = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    first = write_reply(root, first_writer, "first written")
    second = write_reply(root, second_writer, "second written")
    review(first, [reviewer], [{"spam": 0, "lang_mismatch": 0, "quality": 0.75}])
    review(second, [reviewer])
    with committed():
        for voter in people(2):
            rank(root, voter, [second, first])
    tree.refresh_from_db()
    assert tree.state == "ready_for_export"
    # Two agreeing ballots: second beats first by a margin of 2 of 2 voters. Its score x
    # solves 0.04·x = 4 / (1 + e^(2x)) (the penalised likelihood's gradient): x ≈ 1.96.
    result = RankingResult.objects.get(parent=root)
    assert result.order == [second.pk, first.pk]
    reference = bradley_terry_scores([[second.pk, first.pk]] * 2)
    assert result.scores == pytest.approx([reference[second.pk], reference[first.pk]], abs=1e-8)
    best = f"{result.scores[0]:.2f}"
    assert best == "1.96" and f"{result.scores[1]:.2f}" == "-1.96"

    body = web.get(f"/trees/{tree.pk}/").content.decode()

    assert block(body, "data-ranking-group", root.pk) == (
        "Replies ranked by 2 people · confidence 100 % · Kendall's W 1.00"
    )
    second_view = block(body, "data-consensus", second.pk)
    first_view = block(body, "data-consensus", first.pk)
    # Wilson's interval of 0 out of 1 is [0, z²/(1 + z²)] = [0, 0.79]; a single Likert
    # vote gets the whole range; spam's posterior is the share of votes (majority).
    assert second_view == (
        "Consensus: #1 of 2, score +1.96 "
        "Wrong language: 0.00 (95 % interval 0.00–0.79, 1 vote) · probability 0.00 "
        "Spam: 0.00 (95 % interval 0.00–0.79, 1 vote) · probability 0.00"
    )  # labels in the order of their names (lang_mismatch, quality, spam)
    assert first_view == (
        "Consensus: #2 of 2, score -1.96 "
        "Wrong language: 0.00 (95 % interval 0.00–0.79, 1 vote) · probability 0.00 "
        "Quality: 0.75 (95 % interval 0.00–1.00, 1 vote) "
        "Spam: 0.00 (95 % interval 0.00–0.79, 1 vote) · probability 0.00"
    )
    # The prompt was reviewed but has no siblings: labels, no rank or score.
    assert block(body, "data-consensus", root.pk).startswith("Wrong language: 0.00")
    assert "Consensus:" not in block(body, "data-consensus", root.pk)
    assert body.count("data-ranking-group=") == 1  # only the ranked group


def test_nothing_is_shown_where_nothing_is_scored(web):
    project = project_create(slug="unscored-view", settings=dict(SMALL_TREE))
    author, writer, reviewer = people(3)
    tree, root = growing_tree(project, author, [reviewer])
    reply = write_reply(root, writer, "waiting for review")

    body = web.get(f"/trees/{tree.pk}/").content.decode()

    assert "waiting for review" in body
    assert f'data-consensus="{reply.pk}"' not in body
    assert "data-ranking-group=" not in body
    assert "Consensus:" not in body
