"""The vectorised paths against the per-group reference functions, on random data."""

from __future__ import annotations

import random

import numpy as np
import pytest

from backend.consensus.algorithms.agreement import (
    kendalls_w,
    krippendorff_alpha,
    krippendorff_alpha_long,
    pairwise_agreement,
    pairwise_agreement_long,
)
from backend.consensus.algorithms.batched import (
    BallotArrays,
    _tau,
    score_ballot_arrays,
    score_ranking_groups,
)
from backend.consensus.algorithms.bradley_terry import bradley_terry_scores
from backend.consensus.algorithms.dawid_skene import dawid_skene_binary
from backend.consensus.algorithms.ranked_pairs import ranked_pairs
from backend.consensus.scoring.labels import FlagModel, fit_flag, posterior_from_model


def random_groups(seed: int, count: int) -> list[list[list[str]]]:
    """Groups of 1–6 candidates and 1–6 ballots: random, copied (ties, agreement) and,
    now and then, a ballot missing a candidate (the group is then restricted)."""
    rng = random.Random(seed)
    groups = []
    for number in range(count):
        candidates = [f"m{number}-{index}" for index in range(rng.choice([1, 2, 3, 3, 4, 5, 6]))]
        ballots: list[list[str]] = []
        for _ in range(rng.choice([1, 2, 3, 3, 4, 6])):
            ballot = rng.sample(candidates, len(candidates))
            if ballots and rng.random() < 0.3:
                ballot = list(ballots[0])
            ballots.append(ballot)
        if len(candidates) > 2 and rng.random() < 0.05:
            ballots.append(ballots[0][:-1])
        groups.append(ballots)
    return groups


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_output_equals_the_reference_functions(seed: int):
    groups = random_groups(seed, 600)

    results = score_ranking_groups(groups)

    for result, ballots in zip(results, groups, strict=True):
        common = set(ballots[0]).intersection(*ballots[1:])
        restricted = [
            [candidate for candidate in ballot if candidate in common] for ballot in ballots
        ]
        reference = ranked_pairs(restricted)
        assert result.order == reference.order
        assert result.min_locked_margin == reference.min_locked_margin
        assert result.tie_resolved == reference.tie_resolved
        for a, first in enumerate(result.order):
            for b, second in enumerate(result.order):
                expected = 0 if a == b else reference.margins[(first, second)]
                assert result.margins[a][b] == expected
        if len(result.order) < 2:
            assert result.scores == (0.0,) * len(result.order)
            continue
        strengths = bradley_terry_scores(restricted)
        assert result.scores == pytest.approx([strengths[c] for c in result.order], abs=1e-8)
        if len(ballots) < 2:
            assert (result.kendalls_w, result.ballot_taus) == (None, (None,))
            continue
        positions = [[ballot.index(c) for c in result.order] for ballot in restricted]
        assert result.kendalls_w == pytest.approx(kendalls_w(positions), abs=1e-12)
        for left_out, ballot in enumerate(restricted):
            others = restricted[:left_out] + restricted[left_out + 1 :]
            expected_tau = _tau(ballot, ranked_pairs(others).order)
            assert result.ballot_taus[left_out] == pytest.approx(expected_tau, abs=1e-12)


def test_pair_verdicts_give_the_reference_alpha():
    groups = random_groups(4, 300)
    number: dict[str, int] = {}
    lists = [
        [[number.setdefault(c, len(number)) for c in ballot] for ballot in ballots]
        for ballots in groups
    ]
    result = score_ballot_arrays(BallotArrays.from_lists(lists))

    # Dense reference: coder = ballot index within its group, unit = (group, pair).
    matrix: dict[tuple[int, int], dict[tuple[int, int, int], int]] = {}
    for group, ballots in enumerate(lists):
        common = set(ballots[0]).intersection(*ballots[1:])
        restricted = [[c for c in ballot if c in common] for ballot in ballots]
        first = restricted[0]
        for coder, ballot in enumerate(restricted):
            for i, a in enumerate(first):
                for b in first[i + 1 :]:
                    matrix.setdefault((group, coder), {})[(group, a, b)] = int(
                        ballot.index(a) < ballot.index(b)
                    )
    units = sorted({unit for row in matrix.values() for unit in row})
    dense = [[row.get(unit) for unit in units] for row in matrix.values()]
    assert krippendorff_alpha_long(result.pair_units, result.pair_values, "nominal") == (
        pytest.approx(krippendorff_alpha(dense, "nominal"), abs=1e-9)
    )
    assert pairwise_agreement_long(result.pair_units, result.pair_values) == pytest.approx(
        pairwise_agreement(dense), abs=1e-12
    )


@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_long_form_krippendorff_equals_the_matrix_form(level: str):
    rng = random.Random(11)
    for _ in range(100):
        coders, units = rng.randint(2, 7), rng.randint(1, 40)
        values = [0.0, 0.25, 0.5, 0.75, 1.0] if level == "interval" else [0.0, 1.0]
        data = [
            [rng.choice(values) if rng.random() < 0.6 else None for _ in range(units)]
            for _ in range(coders)
        ]
        long_units = [unit for row in data for unit, value in enumerate(row) if value is not None]
        long_values = [value for row in data for value in row if value is not None]
        expected = krippendorff_alpha(data, level)  # type: ignore[arg-type]
        got = krippendorff_alpha_long(long_units, long_values, level)  # type: ignore[arg-type]
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got == pytest.approx(expected, abs=1e-9)
        assert pairwise_agreement_long(long_units, long_values) == (
            pytest.approx(pairwise_agreement(data))
            if pairwise_agreement(data) is not None
            else None
        )


def test_a_ballot_naming_a_candidate_twice_is_refused():
    with pytest.raises(ValueError, match="more than once"):
        score_ranking_groups([[["a", "b"], ["a", "a"]]])
    with pytest.raises(ValueError, match="at least one ballot"):
        score_ranking_groups([[]])


def test_no_groups_is_no_results():
    assert score_ranking_groups([]) == []


def test_scoring_one_message_with_a_stored_fit_equals_the_fit():
    """The E-step with the fit's parameters gives the fit's own posterior: what makes
    incremental scoring agree with a rescore."""
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 300)
    accuracy = {worker: value for worker, value in enumerate([0.95, 0.9, 0.85, 0.1, 0.6])}
    messages, users, values = [], [], []
    for item, label in enumerate(truth):
        for worker in rng.choice(5, 3, replace=False):
            right = rng.random() < accuracy[int(worker)]
            messages.append(item + 1000)
            users.append(int(worker) + 1)
            values.append(float(label if right else 1 - label))
    fit = fit_flag(
        label="spam",
        messages=np.asarray(messages),
        users=np.asarray(users),
        values=np.asarray(values),
        gold={},
    )
    assert fit.method == "dawid_skene"
    model = FlagModel(
        method=fit.method,
        prevalence=fit.prevalence,
        typical_sensitivity=fit.typical_sensitivity,
        typical_specificity=fit.typical_specificity,
        annotators={
            int(user): (float(s), float(t))
            for user, s, t in zip(fit.users, fit.sensitivity, fit.specificity, strict=True)
        },
    )
    for index, message in enumerate(fit.messages.tolist()[:50]):
        votes = [
            (user, value)
            for m, user, value in zip(messages, users, values, strict=True)
            if m == message
        ]
        posterior, method = posterior_from_model(model, votes)
        assert method == "dawid_skene"
        assert posterior == pytest.approx(fit.posteriors[index], abs=1e-6)
    # The dictionary-based reference gives the same fit.
    reference = dawid_skene_binary(
        [(m, u, int(v)) for m, u, v in zip(messages, users, values, strict=True)]
    )
    for index, message in enumerate(fit.messages.tolist()):
        assert fit.posteriors[index] == pytest.approx(reference.posteriors[message], abs=1e-12)


def test_without_a_fit_a_message_gets_the_share_of_votes():
    assert posterior_from_model(None, [(1, 1.0), (2, 0.0), (3, 1.0)]) == (2 / 3, "majority")
    majority = FlagModel(
        method="majority", prevalence=0.5, typical_sensitivity=0.5, typical_specificity=0.5
    )
    assert posterior_from_model(majority, [(1, 0.0)]) == (0.0, "majority")
    assert posterior_from_model(None, []) == (0.0, "majority")
