"""The pure Bradley–Terry module: known answers, ties, the choix cross-check, intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.arena import bradley_terry as bt


def test_two_models_score_the_log_odds_of_their_record() -> None:
    # 3 wins to 1: without a penalty θ_a − θ_b = ln 3, i.e. 400·log10(3) ≈ 190.8 points.
    battles = [(0, 1, 1.0)] * 3 + [(0, 1, 0.0)]
    theta = bt.fit(bt.win_matrix(2, battles), penalty=0.0)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-8)
    scores = bt.to_scale(theta)
    assert scores[0] == pytest.approx(1000 + 200 * math.log10(3), abs=1e-6)
    assert scores[1] == pytest.approx(1000 - 200 * math.log10(3), abs=1e-6)


def test_a_tie_counts_half_a_win_each() -> None:
    wins = bt.win_matrix(2, [(0, 1, 0.5), (1, 0, 1.0)])
    assert wins.tolist() == [[0.0, 0.5], [1.5, 0.0]]
    # Only ties: the models are equal.
    theta = bt.fit(bt.win_matrix(2, [(0, 1, 0.5)] * 4), penalty=0.0)
    assert theta.tolist() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_the_fit_matches_choix_with_ties_written_as_a_win_each_way() -> None:
    choix = pytest.importorskip("choix")
    rng = np.random.default_rng(7)
    strengths = np.array([1.0, 0.3, -0.2, -1.1])
    battles = []
    for _ in range(400):
        a, b = rng.choice(4, size=2, replace=False)
        p = 1 / (1 + math.exp(-(strengths[a] - strengths[b])))
        draw = rng.random()
        outcome = 0.5 if draw < 0.1 else (1.0 if draw < 0.1 + 0.9 * p else 0.0)
        battles.append((int(a), int(b), outcome))
    penalty = 0.01
    ours = bt.fit(bt.win_matrix(4, battles), penalty=penalty)
    # choix takes (winner, loser) pairs: every battle twice, a tie once each way, which
    # doubles the likelihood, so the penalty doubles too.
    data = []
    for a, b, outcome in battles:
        if outcome == 0.5:
            data += [(a, b), (b, a)]
        else:
            winner, loser = (a, b) if outcome == 1.0 else (b, a)
            data += [(winner, loser), (winner, loser)]
    theirs = choix.opt_pairwise(4, data, alpha=2 * penalty)
    assert ours == pytest.approx(theirs - theirs.mean(), abs=1e-5)
    assert list(np.argsort(-ours)) == [0, 1, 2, 3]


def test_lopsided_votes_give_intervals_that_do_not_overlap() -> None:
    battles = [(0, 1, 1.0)] * 45 + [(0, 1, 0.0)] * 5 + [(1, 0, 0.0)] * 40 + [(1, 0, 0.5)] * 10
    rows = bt.leaderboard(2, battles, rounds=200, seed=1)
    best, worst = rows
    assert (best.index, best.rank, worst.index, worst.rank) == (0, 1, 1, 2)
    assert best.ci_low > worst.ci_high
    assert best.ci_low <= best.score <= best.ci_high
    assert (best.battles, best.wins, best.losses, best.ties) == (100, 85, 5, 10)
    assert (worst.battles, worst.wins, worst.losses, worst.ties) == (100, 5, 85, 10)
    assert best.score + worst.score == pytest.approx(2000)


def test_close_models_share_a_rank() -> None:
    battles = [(0, 1, 1.0)] * 6 + [(0, 1, 0.0)] * 5
    rows = bt.leaderboard(2, battles, rounds=200, seed=3)
    assert [row.rank for row in rows] == [1, 1]
    assert rows[0].ci_low < rows[1].ci_high


def test_the_matrices() -> None:
    rates, counts = bt.pair_matrices(3, [(0, 1, 1.0), (0, 1, 0.5), (2, 0, 0.0)])
    assert rates[0][1] == pytest.approx(0.75)
    assert rates[1][0] == pytest.approx(0.25)
    assert rates[0][2] == pytest.approx(1.0)
    assert rates[1][2] is None
    assert rates[0][0] is None
    assert counts == [[0, 2, 1], [2, 0, 0], [1, 0, 0]]


def test_no_battles_no_rows() -> None:
    assert bt.leaderboard(0, []) == []
