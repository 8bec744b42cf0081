"""Bradley–Terry scores of models from pairwise battles with ties, on an Elo-like
scale, with bootstrap confidence intervals. Pure: plain data in, plain data out.

**The model.** Each model i has a log-strength θ_i and beats j with probability
σ(θ_i − θ_j) = 1 / (1 + exp(−(θ_i − θ_j))) (Bradley & Terry 1952).

**Ties.** A tie (and "both bad") counts as half a win for each side — the rule of
LMSYS's Chatbot Arena notebook (it writes a tie as one win each way, which gives the
same fit at twice the weight). We chose it over Davidson's (1970) tie model because it
needs no extra parameter, keeps the scores comparable with the public Arena's, and
treats a tie as what it says: no evidence either way about the order, but evidence
that the two are close.

**The fit.** We minimise ``penalty · Σ θ_i² − Σ_ij W_ij log σ(θ_i − θ_j)`` over θ, with
``W_ij`` the (half-)wins of i over j. This is choix's ``opt_pairwise`` objective (the
tests compare both); the small penalty keeps every score finite when a model never
won or never lost, and makes the optimum unique. Newton's method on this convex
objective converges in a few steps for the handful of models an arena has.

**The scale.** ``score = 1000 + (400 / ln 10) · (θ_i − mean θ)``: a 400-point gap is
10:1 odds, as in Elo, and the models' mean sits at 1000.

**Intervals.** 95 % percentile bootstrap: the battles are resampled with replacement
``rounds`` times and refitted; ``ci_low``/``ci_high`` are the 2.5th and 97.5th
percentiles of each model's score. **Rank** is 1 + the number of models whose lower
bound lies above this model's upper bound (the Arena's rule): models whose
intervals overlap share a rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SCALE = 400.0 / math.log(10.0)
ANCHOR = 1000.0
DEFAULT_PENALTY = 0.01

# One battle: (index of model A, index of model B, outcome) with outcome 1.0 when A
# won, 0.0 when B won and 0.5 for a tie.
Battle = tuple[int, int, float]


@dataclass(frozen=True)
class Score:
    index: int
    score: float
    ci_low: float
    ci_high: float
    rank: int
    battles: int
    wins: int
    losses: int
    ties: int


def win_matrix(model_count: int, battles: Sequence[Battle] | np.ndarray) -> np.ndarray:
    """W[i, j]: the wins of i over j, a tie counting half for each."""
    wins = np.zeros((model_count, model_count))
    data = np.asarray(battles, dtype=float).reshape(-1, 3)
    if not len(data):
        return wins
    a = data[:, 0].astype(int)
    b = data[:, 1].astype(int)
    outcome = data[:, 2]
    np.add.at(wins, (a, b), outcome)
    np.add.at(wins, (b, a), 1.0 - outcome)
    return wins


def fit(wins: np.ndarray, *, penalty: float = DEFAULT_PENALTY) -> np.ndarray:
    """The log-strengths θ (mean zero) minimising the penalised negative
    log-likelihood of the win matrix."""
    count = wins.shape[0]
    theta = np.zeros(count)
    if count == 0:
        return theta
    games = wins + wins.T

    def objective(values: np.ndarray) -> float:
        difference = values[:, None] - values[None, :]
        return float(penalty * np.sum(values**2) + np.sum(wins * np.logaddexp(0.0, -difference)))

    current = objective(theta)
    for _ in range(100):
        difference = theta[:, None] - theta[None, :]
        probability = 1.0 / (1.0 + np.exp(-difference))
        gradient = 2 * penalty * theta + np.sum(games * probability - wins, axis=1)
        weight = games * probability * (1.0 - probability)
        hessian = -weight
        hessian[np.diag_indices(count)] = 2 * penalty + weight.sum(axis=1)
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        size = 1.0
        while True:  # halve the step until the objective goes down (it always can)
            candidate = theta - size * step
            value = objective(candidate)
            if value <= current + 1e-15 or size < 1e-8:
                break
            size /= 2
        theta, previous, current = candidate, current, value
        if np.max(np.abs(size * step)) < 1e-10 or previous - current < 1e-13:
            break
    return theta - theta.mean()


def to_scale(theta: np.ndarray) -> np.ndarray:
    return ANCHOR + SCALE * (theta - theta.mean())


def leaderboard(
    model_count: int,
    battles: Sequence[Battle],
    *,
    rounds: int = 200,
    seed: int = 0,
    penalty: float = DEFAULT_PENALTY,
) -> list[Score]:
    """Every model's score, interval, rank and counts, best first."""
    if model_count == 0:
        return []
    data = np.asarray(battles, dtype=float).reshape(-1, 3)
    scores = to_scale(fit(win_matrix(model_count, battles), penalty=penalty))
    if len(data) and rounds > 0:
        rng = np.random.default_rng(seed)
        samples = np.empty((rounds, model_count))
        for round_index in range(rounds):
            drawn = data[rng.integers(0, len(data), size=len(data))]
            samples[round_index] = to_scale(fit(win_matrix(model_count, drawn), penalty=penalty))
        low = np.percentile(samples, 2.5, axis=0)
        high = np.percentile(samples, 97.5, axis=0)
    else:
        low = high = scores.copy()
    counts = np.zeros((model_count, 4), dtype=int)  # battles, wins, losses, ties
    for a, b, outcome in battles:
        counts[a, 0] += 1
        counts[b, 0] += 1
        if outcome == 1.0:
            counts[a, 1] += 1
            counts[b, 2] += 1
        elif outcome == 0.0:
            counts[b, 1] += 1
            counts[a, 2] += 1
        else:
            counts[a, 3] += 1
            counts[b, 3] += 1
    order = sorted(range(model_count), key=lambda index: (-scores[index], index))
    return [
        Score(
            index=index,
            score=float(scores[index]),
            ci_low=float(min(low[index], scores[index])),
            ci_high=float(max(high[index], scores[index])),
            rank=1 + sum(1 for other in range(model_count) if low[other] > high[index]),
            battles=int(counts[index, 0]),
            wins=int(counts[index, 1]),
            losses=int(counts[index, 2]),
            ties=int(counts[index, 3]),
        )
        for index in order
    ]


def pair_matrices(
    model_count: int, battles: Sequence[Battle]
) -> tuple[list[list[float | None]], list[list[int]]]:
    """The win-rate matrix (row beats column, ties half; None with no battles) and the
    battle-count matrix."""
    wins = win_matrix(model_count, battles)
    games = wins + wins.T
    rates: list[list[float | None]] = [
        [
            float(wins[i, j] / games[i, j]) if games[i, j] > 0 and i != j else None
            for j in range(model_count)
        ]
        for i in range(model_count)
    ]
    return rates, [
        [round(float(games[i, j])) for j in range(model_count)] for i in range(model_count)
    ]
