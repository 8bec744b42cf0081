"""Known-answer tests for Kendall's W, Krippendorff's alpha and raw agreement."""

from __future__ import annotations

import itertools
import random

import pytest
from scipy.stats import friedmanchisquare, spearmanr

from backend.consensus.algorithms.agreement import (
    kendalls_w,
    krippendorff_alpha,
    pairwise_agreement,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the
# worked example: 4 observers × 12 units, None where a value is missing.
KRIPPENDORFF_EXAMPLE: list[list[int | None]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


# Kendall's W


def test_identical_rankings_give_exactly_one() -> None:
    assert kendalls_w([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]) == 1.0


def test_latin_square_gives_exactly_zero() -> None:
    assert kendalls_w([[1, 2, 3], [2, 3, 1], [3, 1, 2]]) == 0.0


def test_opposite_rankings_of_two_raters_give_zero() -> None:
    assert kendalls_w([[1, 2, 3, 4], [4, 3, 2, 1]]) == 0.0


def test_single_rater_agrees_with_itself() -> None:
    assert kendalls_w([[3, 1, 2]]) == pytest.approx(1.0, abs=1e-15)


def test_known_answer_with_ties() -> None:
    # Mid-ranks of the third row: 1.5, 1.5, 3. Rank sums 3.5, 5.5, 9 around
    # a mean of 6 give S = 15.5; the tie adds 2³ − 2 = 6 to the correction:
    # W = 12·15.5 / (3²·(3³ − 3) − 3·6) = 186/198 = 31/33.
    assert kendalls_w([[1, 2, 3], [1, 2, 3], [1, 1, 2]]) == pytest.approx(31 / 33, abs=1e-15)


def test_only_the_order_within_a_row_matters() -> None:
    as_ranks = kendalls_w([[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4]])
    as_scores = kendalls_w([[0.9, 0.5, 0.2, 0.1], [7, 8, 3, 1], [10, 4, 6, 2]])

    # The scores order every row exactly the other way round (higher is
    # better); reversing all rows alike leaves every deviation's square, and
    # so W, unchanged.
    assert as_scores == pytest.approx(as_ranks, abs=1e-15)


def test_matches_friedman_statistic_with_tie_correction() -> None:
    # W = χ²_F / (m·(n − 1)), with scipy's tie-corrected Friedman statistic.
    generator = random.Random(1939)
    for _ in range(50):
        rater_count = generator.randint(2, 6)
        item_count = generator.randint(3, 7)
        ratings = [[generator.randint(1, 4) for _ in range(item_count)] for _ in range(rater_count)]
        if all(len(set(row)) == 1 for row in ratings):
            continue
        columns = [[row[item] for row in ratings] for item in range(item_count)]
        chi_square = friedmanchisquare(*columns).statistic

        assert kendalls_w(ratings) == pytest.approx(
            chi_square / (rater_count * (item_count - 1)), rel=1e-12
        )


def test_mean_spearman_rho_relation_without_ties() -> None:
    generator = random.Random(1988)
    for _ in range(30):
        rater_count = generator.randint(2, 7)
        item_count = generator.randint(3, 8)
        ratings = [
            generator.sample(range(1, item_count + 1), item_count) for _ in range(rater_count)
        ]
        rhos = [
            spearmanr(first, second).statistic
            for first, second in itertools.combinations(ratings, 2)
        ]
        mean_rho = sum(rhos) / len(rhos)

        w = kendalls_w(ratings)

        assert mean_rho == pytest.approx((rater_count * w - 1) / (rater_count - 1), abs=1e-12)


def test_kendalls_w_rejects_undefined_input() -> None:
    with pytest.raises(ValueError, match="at least one rater"):
        kendalls_w([])
    with pytest.raises(ValueError, match="at least two items"):
        kendalls_w([[1], [1]])
    with pytest.raises(ValueError, match="same items"):
        kendalls_w([[1, 2], [1, 2, 3]])
    with pytest.raises(ValueError, match="ties all items"):
        kendalls_w([[1, 1, 1], [2, 2, 2]])


# Krippendorff's alpha


def test_krippendorff_published_example_nominal() -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "nominal")

    assert alpha is not None
    assert round(alpha, 3) == 0.743
    # By hand: 40 pairable values, 8 off-diagonal coincidences, marginals
    # 9, 13, 10, 5, 3. D_o = 8/40, D_e = (40² − 384)/(40·39) = 1216/1560,
    # α = 1 − (8/40)/(1216/1560) = 113/152.
    assert alpha == pytest.approx(113 / 152, abs=1e-15)


def test_krippendorff_published_example_ordinal() -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "ordinal")

    assert alpha is not None
    assert round(alpha, 3) == 0.815


def test_krippendorff_published_example_interval() -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "interval")

    assert alpha is not None
    assert round(alpha, 3) == 0.849


def test_krippendorff_perfect_agreement_is_one() -> None:
    data: list[list[str | None]] = [
        ["a", "b", "c", None],
        ["a", "b", "c", "d"],
        [None, "b", "c", "d"],
    ]

    assert krippendorff_alpha(data, "nominal") == 1.0


def test_krippendorff_systematic_disagreement_is_negative() -> None:
    alpha = krippendorff_alpha([[0, 1, 0, 1], [1, 0, 1, 0]], "nominal")

    assert alpha is not None
    assert alpha < 0


def test_krippendorff_binary_known_answer() -> None:
    # Two coders, four units: agree on 0, 0, 1; disagree on the last.
    # Coincidences: o00 = 4, o11 = 2, o01 = o10 = 1; n0 = 5, n1 = 3, n = 8.
    # D_o = 2/8, D_e = 2·5·3/(8·7) = 30/56, α = 1 − (1/4)/(30/56) = 8/15.
    alpha = krippendorff_alpha([[0, 0, 1, 1], [0, 0, 1, 0]], "nominal")

    assert alpha == pytest.approx(8 / 15, abs=1e-15)


def test_krippendorff_nominal_ignores_which_labels_are_used() -> None:
    # Nominal alpha must not depend on which labels are used.
    relabelled = [
        [None if value is None else f"label-{10 - value}" for value in row]
        for row in KRIPPENDORFF_EXAMPLE
    ]

    assert krippendorff_alpha(relabelled, "nominal") == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "nominal"), abs=1e-15
    )


def test_krippendorff_interval_is_invariant_under_shift_and_scale() -> None:
    transformed = [
        [None if value is None else 3.0 * value - 7.0 for value in row]
        for row in KRIPPENDORFF_EXAMPLE
    ]

    assert krippendorff_alpha(transformed, "interval") == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "interval"), abs=1e-12
    )


def test_krippendorff_ordinal_depends_only_on_order() -> None:
    # A monotone but non-linear recoding keeps ordinal alpha and changes
    # interval alpha.
    recode = {1: 1, 2: 2, 3: 10, 4: 11, 5: 100}
    recoded = [
        [None if value is None else recode[value] for value in row] for row in KRIPPENDORFF_EXAMPLE
    ]

    assert krippendorff_alpha(recoded, "ordinal") == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "ordinal"), abs=1e-12
    )
    assert krippendorff_alpha(recoded, "interval") != pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "interval"), abs=1e-3
    )


def test_krippendorff_undefined_cases_return_none() -> None:
    assert krippendorff_alpha([], "nominal") is None
    # No unit has two values.
    assert krippendorff_alpha([[1, None], [None, 2]], "nominal") is None
    # No variation at all: expected disagreement is zero.
    assert krippendorff_alpha([[1, 1, 1], [1, 1, 1]], "interval") is None


def test_krippendorff_ragged_rows_count_as_missing() -> None:
    assert krippendorff_alpha([[0, 0, 1, 1], [0, 0, 1]], "nominal") == 1.0


# Raw pairwise agreement


def test_pairwise_agreement_on_the_published_example() -> None:
    # 55 pairs of judgments on the 11 pairable units, 43 of them equal.
    assert pairwise_agreement(KRIPPENDORFF_EXAMPLE) == pytest.approx(43 / 55, abs=1e-15)


def test_pairwise_agreement_extremes() -> None:
    assert pairwise_agreement([["a", "b"], ["a", "b"]]) == 1.0
    assert pairwise_agreement([["a", "b"], ["b", "a"]]) == 0.0


def test_pairwise_agreement_pools_pairs_across_units() -> None:
    # Unit 1: three coders agree (3 of 3 pairs). Unit 2: two disagree (0 of 1).
    assert pairwise_agreement([["x", "p"], ["x", "q"], ["x", None]]) == pytest.approx(3 / 4)


def test_pairwise_agreement_without_pairs_is_none() -> None:
    assert pairwise_agreement([]) is None
    assert pairwise_agreement([["a", None], [None, "b"]]) is None
