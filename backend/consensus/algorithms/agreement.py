"""Inter-rater agreement: Kendall's W, Krippendorff's alpha, pairwise agreement.

All three take plain nested sequences, rows being raters (coders) and columns
being the things rated (items, units), and return plain floats.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal, cast

import numpy as np
from scipy import sparse

MeasurementLevel = Literal["nominal", "ordinal", "interval"]


def kendalls_w(rankings: Sequence[Sequence[float]]) -> float:
    """Kendall's coefficient of concordance W, corrected for ties.

    ``rankings[rater][item]`` is the rank (or any score: only the order within
    a row is used) that a rater gave an item; equal values are ties. Every
    rater must rate every item. Each row is converted to mid-ranks (tied items
    share the average of the ranks they span), and then, with m raters, n
    items, R_i the sum of item i's ranks and t the sizes of each rater's
    groups of tied items (Kendall & Babington Smith 1939; Siegel & Castellan,
    "Nonparametric Statistics for the Behavioral Sciences", 2nd ed., 1988,
    §9.4):

        S = Σ_i (R_i − m(n+1)/2)²
        W = 12·S / (m²(n³ − n) − m·Σ (t³ − t))

    W is 1 when all raters agree exactly and 0 when every item gets the same
    rank sum (e.g. a Latin square). Without ties, the mean Spearman rank
    correlation over all pairs of raters is (m·W − 1)/(m − 1).

    Raises:
        ValueError: with no raters, fewer than two items, rows of different
            lengths, or when every rater ties all items (W is then 0/0).
    """
    if len(rankings) == 0:
        raise ValueError("Kendall's W needs at least one rater")
    item_count = len(rankings[0])
    if any(len(row) != item_count for row in rankings):
        raise ValueError("every rater must rate the same items")
    if item_count < 2:
        raise ValueError("Kendall's W needs at least two items")

    # Imported here: scipy.stats takes seconds to import, and every web process
    # imports this module (for the vectorised functions below) without needing it.
    from scipy.stats import rankdata

    rater_count = len(rankings)
    mid_ranks = np.vstack([rankdata(np.asarray(row, dtype=np.float64)) for row in rankings])
    rank_sums = mid_ranks.sum(axis=0)
    deviation_sum_of_squares = float(np.sum((rank_sums - rater_count * (item_count + 1) / 2) ** 2))

    tie_correction = 0.0
    for row in rankings:
        _, group_sizes = np.unique(np.asarray(row, dtype=np.float64), return_counts=True)
        tie_correction += float(np.sum(group_sizes.astype(np.float64) ** 3 - group_sizes))

    denominator = rater_count**2 * (item_count**3 - item_count) - rater_count * tie_correction
    if denominator <= 0:
        raise ValueError("Kendall's W is undefined when every rater ties all items")
    return 12.0 * deviation_sum_of_squares / denominator


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[Hashable | None]],
    level: MeasurementLevel,
) -> float | None:
    """Krippendorff's alpha for nominal, ordinal or interval data.

    ``reliability_data[coder][unit]`` is the value a coder assigned to a
    unit, or None when missing. Following Krippendorff, "Computing
    Krippendorff's alpha-reliability" (2011), and "Content Analysis", ch. 12:

    * Units with fewer than two values are not pairable and are dropped.
    * The coincidence matrix o[c][k] sums, over units u with m_u values,
      the number of ordered pairs of values (c, k) from different coders
      divided by m_u − 1. Its marginals are n_c, with total n.
    * α = 1 − D_o / D_e with D_o = Σ o[c][k]·δ²(c, k) / n and
      D_e = Σ n_c·n_k·δ²(c, k) / (n·(n − 1)).
    * δ² is 0/1 for nominal data; (Σ_{g=c..k} n_g − (n_c + n_k)/2)² over the
      values present, in order, for ordinal data; (c − k)² for interval data.

    Values must be numbers for the interval level and mutually comparable for
    the ordinal level.

    Returns:
        α, or None when it is undefined: fewer than two pairable values, or
        no variation at all among them (D_e = 0).
    """
    unit_count = max((len(row) for row in reliability_data), default=0)
    # Pairable values per unit, in coder order.
    units: list[list[Hashable]] = []
    for unit in range(unit_count):
        values = [
            row[unit] for row in reliability_data if unit < len(row) and row[unit] is not None
        ]
        if len(values) >= 2:
            units.append(values)
    if not units:
        return None

    distinct_values: list[Hashable] = []
    seen: set[Hashable] = set()
    for values in units:
        for value in values:
            if value not in seen:
                seen.add(value)
                distinct_values.append(value)
    if level in ("ordinal", "interval"):
        # Comparable by the caller's contract for these levels.
        cast("list[Any]", distinct_values).sort()
    index_of = {value: index for index, value in enumerate(distinct_values)}
    value_count = len(distinct_values)

    coincidences = np.zeros((value_count, value_count))
    for values in units:
        indices = [index_of[value] for value in values]
        weight = 1.0 / (len(indices) - 1)
        for first_position, first in enumerate(indices):
            for second_position, second in enumerate(indices):
                if first_position != second_position:
                    coincidences[first, second] += weight
    marginals = coincidences.sum(axis=1)
    total = float(marginals.sum())

    distances = _squared_distances(distinct_values, marginals, level)
    observed_disagreement = float(np.sum(coincidences * distances)) / total
    expected_disagreement = float(marginals @ distances @ marginals) / (total * (total - 1.0))
    if expected_disagreement == 0.0:
        return None
    return 1.0 - observed_disagreement / expected_disagreement


def _squared_distances(
    values: Sequence[Hashable], marginals: np.ndarray, level: MeasurementLevel
) -> np.ndarray:
    count = len(values)
    if level == "nominal":
        return 1.0 - np.identity(count)
    if level == "interval":
        numbers = np.asarray(values, dtype=np.float64)
        return np.subtract.outer(numbers, numbers) ** 2
    if level == "ordinal":
        # Σ_{g=c..k} n_g − (n_c + n_k)/2 for c ≤ k, via cumulative sums.
        cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
        distances = np.zeros((count, count))
        for low in range(count):
            for high in range(low, count):
                between = cumulative[high + 1] - cumulative[low]
                distance = between - (marginals[low] + marginals[high]) / 2.0
                distances[low, high] = distances[high, low] = distance**2
        return distances
    raise ValueError(f"unknown measurement level {level!r}")


def pairwise_agreement(reliability_data: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Raw (percent) agreement: the share of pairs of judgments that are equal.

    ``reliability_data[coder][unit]`` as for :func:`krippendorff_alpha`. Over
    all units, every unordered pair of coders who both rated the unit is one
    pair; the result is the number of pairs with equal values divided by the
    number of pairs. Pooling pairs (rather than averaging per-unit agreement,
    as Fleiss's P̄ does) weights a unit by how many pairs of judgments it has,
    so units seen by many coders count more. It is not chance-corrected: use
    :func:`krippendorff_alpha` for that.

    Returns:
        The share in [0, 1], or None when no unit has two values.
    """
    unit_count = max((len(row) for row in reliability_data), default=0)
    agreeing_pairs = 0
    pairs = 0
    for unit in range(unit_count):
        values = [
            row[unit] for row in reliability_data if unit < len(row) and row[unit] is not None
        ]
        for first_position, first in enumerate(values):
            for second in values[first_position + 1 :]:
                pairs += 1
                agreeing_pairs += first == second
    if pairs == 0:
        return None
    return agreeing_pairs / pairs


def krippendorff_alpha_long(
    units: Sequence[int] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    level: Literal["nominal", "interval"],
) -> float | None:
    """:func:`krippendorff_alpha` for data in long form, vectorised.

    One entry per judgement: ``units[n]`` is the unit judged and ``values[n]`` the
    value given, every judgement of a unit from a different coder (which coder does
    not matter to alpha). Same definitions, same result as the coder × unit form;
    for hundreds of thousands of units, where a dense matrix of coders × units would
    not fit and a Python loop per unit is slow. Values are numbers (for the nominal
    level, distinct numbers are distinct categories).
    """
    coincidences, _ = _long_form_coincidences(units, values)
    if coincidences is None:
        return None
    matrix, distinct_values = coincidences
    marginals = matrix.sum(axis=1)
    total = float(marginals.sum())
    distances = _squared_distances(list(distinct_values), marginals, level)
    observed_disagreement = float(np.sum(matrix * distances)) / total
    expected_disagreement = float(marginals @ distances @ marginals) / (total * (total - 1.0))
    if expected_disagreement == 0.0:
        return None
    return 1.0 - observed_disagreement / expected_disagreement


def pairwise_agreement_long(
    units: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray
) -> float | None:
    """:func:`pairwise_agreement` for data in long form (see
    :func:`krippendorff_alpha_long`)."""
    _, per_unit = _long_form_coincidences(units, values)
    if per_unit is None:
        return None
    counts, unit_sizes = per_unit
    pairs = float(np.sum(unit_sizes * (unit_sizes - 1)) / 2.0)
    if pairs == 0:
        return None
    agreeing = float(np.sum(counts * (counts - 1)) / 2.0)
    return agreeing / pairs


def _long_form_coincidences(
    units: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray
) -> tuple[
    tuple[np.ndarray, np.ndarray] | None,
    tuple[np.ndarray, np.ndarray] | None,
]:
    """The coincidence matrix with its values, and the counts of each (unit, value)
    with the number of values of each unit; Nones when no unit has two values."""
    unit_array = np.asarray(units)
    value_array = np.asarray(values, dtype=np.float64)
    if len(unit_array) != len(value_array):
        raise ValueError("units and values must have one entry per judgement")
    if len(unit_array) == 0:
        return None, None
    _, unit_index = np.unique(unit_array, return_inverse=True)
    unit_sizes = np.bincount(unit_index)
    pairable = unit_sizes[unit_index] >= 2
    if not np.any(pairable):
        return None, None
    _, unit_index = np.unique(unit_index[pairable], return_inverse=True)
    distinct_values, value_index = np.unique(value_array[pairable], return_inverse=True)
    counts = sparse.csr_matrix(
        (np.ones(len(unit_index)), (unit_index, value_index)),
        shape=(int(unit_index.max()) + 1, len(distinct_values)),
    )
    counts.sum_duplicates()
    sizes = np.asarray(counts.sum(axis=1)).ravel()
    # o[c][k] = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1)
    scaled = sparse.diags(1.0 / (sizes - 1.0)) @ counts
    matrix = np.asarray((scaled.T @ counts).todense()) - np.diag(
        np.asarray(scaled.sum(axis=0)).ravel()
    )
    return (matrix, distinct_values), (counts.data, sizes)
