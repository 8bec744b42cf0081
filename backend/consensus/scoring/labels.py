"""Label votes: means with confidence intervals, Dawid–Skene posteriors, acceptance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from backend.consensus.acceptance import acceptance_score
from backend.consensus.algorithms.dawid_skene import dawid_skene_binary_indexed
from backend.consensus.loading import LabelVotes
from backend.projects.models import AcceptanceRule

STORED_DIGITS = 9
CONFIDENCE = 0.95
_Z = float(special.ndtri(0.5 + CONFIDENCE / 2))
# Dawid–Skene runs when at least this many messages have two or more votes on the flag.
MIN_OVERLAP = 20

GOLD = "gold"
MAJORITY = "majority"
ALL_LABELS = "*"


def _rounded(value: float) -> float:
    return round(float(value), STORED_DIGITS)


# --- Dawid–Skene fits -----------------------------------------------------------------


@dataclass(frozen=True)
class FlagFit:
    """One flag's Dawid–Skene fit over a project: the model and every posterior."""

    label: str
    method: str
    prevalence: float
    typical_sensitivity: float
    typical_specificity: float
    item_count: int
    vote_count: int
    overlap: int
    iterations: int
    converged: bool
    log_likelihood: float | None
    users: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    accuracy: np.ndarray
    user_vote_counts: np.ndarray
    messages: np.ndarray
    posteriors: np.ndarray


def fit_flag(
    *,
    label: str,
    messages: np.ndarray,
    users: np.ndarray,
    values: np.ndarray,
    gold: Mapping[int, float],
) -> FlagFit:
    """Dawid–Skene over every vote on one flag (a vote ≥ 0.5 counts as 1).

    Messages and annotators are numbered in id order, so the fit does not depend on
    the order the votes are given in.
    """
    gold_messages = np.asarray(sorted(gold), dtype=np.int64)
    item_ids, item_index = np.unique(np.concatenate([messages, gold_messages]), return_inverse=True)
    user_ids, user_index = np.unique(users, return_inverse=True)
    vote_items = item_index[: len(messages)]
    fit = dawid_skene_binary_indexed(
        items=vote_items,
        workers=user_index,
        labels=(values >= 0.5).astype(np.intp),
        item_count=len(item_ids),
        worker_count=len(user_ids),
        gold_items=item_index[len(messages) :],
        gold_labels=np.asarray([1 if gold[int(m)] >= 0.5 else 0 for m in gold_messages], np.intp),
        min_overlap=MIN_OVERLAP,
    )
    weights = fit.vote_counts.astype(np.float64)
    total = float(weights.sum())
    overlap = int(np.count_nonzero(np.bincount(vote_items, minlength=len(item_ids)) >= 2))
    return FlagFit(
        label=label,
        method=fit.method,
        prevalence=_rounded(fit.prevalence),
        typical_sensitivity=_rounded(float(fit.sensitivity @ weights) / total) if total else 0.5,
        typical_specificity=_rounded(float(fit.specificity @ weights) / total) if total else 0.5,
        item_count=len(item_ids),
        vote_count=len(messages),
        overlap=overlap,
        iterations=fit.iterations,
        converged=fit.converged,
        log_likelihood=fit.log_likelihood,
        users=user_ids,
        sensitivity=np.round(fit.sensitivity, STORED_DIGITS),
        specificity=np.round(fit.specificity, STORED_DIGITS),
        accuracy=np.round(fit.accuracy, STORED_DIGITS),
        user_vote_counts=fit.vote_counts,
        messages=item_ids,
        posteriors=fit.posteriors,
    )


@dataclass(frozen=True)
class FlagModel:
    """What scoring one message needs from a stored fit (``LabelModel`` and the
    annotators' rows)."""

    method: str
    prevalence: float
    typical_sensitivity: float
    typical_specificity: float
    annotators: Mapping[int, tuple[float, float]] = field(default_factory=dict)


def posterior_from_model(
    model: FlagModel | None, votes: Sequence[tuple[int, float]]
) -> tuple[float, str]:
    """P(flag is true) for one message from its votes, with a stored fit's parameters.

    This is the E-step of Dawid–Skene with the parameters held fixed, so for the
    messages of the fit it gives the fit's own posteriors. Annotators the fit did not
    see count as the typical annotator. Without a fit, or when the fit fell back to
    the majority, it is the share of votes for 1 (what Dawid–Skene falls back to).
    """
    if not votes:
        return 0.0, MAJORITY
    if model is None or model.method != "dawid_skene":
        return sum(1.0 for _, value in votes if value >= 0.5) / len(votes), MAJORITY
    log_odds = float(np.log(model.prevalence) - np.log1p(-model.prevalence))
    for user, value in votes:
        sensitivity, specificity = model.annotators.get(
            user, (model.typical_sensitivity, model.typical_specificity)
        )
        if value >= 0.5:
            log_odds += float(np.log(sensitivity) - np.log1p(-specificity))
        else:
            log_odds += float(np.log1p(-sensitivity) - np.log(specificity))
    return float(1.0 / (1.0 + np.exp(-log_odds))), "dawid_skene"


# --- Aggregates per message -----------------------------------------------------------


@dataclass(frozen=True)
class MessageAggregate:
    message_id: int
    labels: dict[str, dict[str, Any]]
    acceptance_score: float | None
    is_accepted: bool | None
    vote_count: int


# For each flag: sorted message ids, their posteriors, and how they were obtained.
PosteriorTable = Mapping[str, tuple[np.ndarray, np.ndarray, str]]


def aggregate_messages(
    votes: LabelVotes,
    *,
    kinds: Mapping[str, str],
    posteriors: PosteriorTable,
    gold: Mapping[tuple[int, str], float],
    weights: Mapping[int, Mapping[str, float]] | None,
    rule: str,
    threshold: float,
) -> list[MessageAggregate]:
    """Means (weighted when ``weights`` is given: per person, a weight per label and
    one for all others under ``ALL_LABELS``), 95 % intervals, posteriors and the
    acceptance rule for every message with votes, in message id order.

    Intervals: Wilson's score interval for flags (a proportion), Student's t for
    Likert means, both on the effective sample size (Σw)²/Σw² when weighted; a Likert
    mean from one vote gets the whole range [0, 1]. A message whose voters all have
    weight 0 is averaged unweighted.
    """
    if len(votes) == 0:
        return []
    message, label, value = votes.message, votes.label, votes.value
    boundary = np.flatnonzero((np.diff(message) != 0) | (np.diff(label) != 0)) + 1
    starts = np.concatenate([[0], boundary])
    sizes = np.diff(np.append(starts, len(message)))

    vote_weight = np.ones(len(message))
    if weights:
        known_users = np.asarray(sorted(weights), dtype=np.int64)
        for code, name in enumerate(votes.label_names):
            # A label's own weight where the person has one, else their overall one.
            known_weights = np.asarray(
                [
                    weights[int(user)].get(name, weights[int(user)][ALL_LABELS])
                    for user in known_users
                ]
            )
            of_label = np.flatnonzero(label == code)
            position = np.clip(
                np.searchsorted(known_users, votes.user[of_label]), 0, len(known_users) - 1
            )
            vote_weight[of_label] = np.where(
                known_users[position] == votes.user[of_label], known_weights[position], 1.0
            )
        weightless = np.add.reduceat(vote_weight, starts) <= 0
        vote_weight[np.repeat(weightless, sizes)] = 1.0
    weight_sum = np.add.reduceat(vote_weight, starts)
    mean = np.add.reduceat(vote_weight * value, starts) / weight_sum
    effective = weight_sum**2 / np.add.reduceat(vote_weight**2, starts)
    deviation = value - np.repeat(mean, sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (
            np.add.reduceat(vote_weight * deviation**2, starts)
            / weight_sum
            * effective
            / (effective - 1.0)
        )
        # Wilson's interval for a proportion p from n trials.
        wilson_denominator = 1.0 + _Z**2 / effective
        wilson_centre = (mean + _Z**2 / (2 * effective)) / wilson_denominator
        wilson_half = (
            _Z
            * np.sqrt(mean * (1 - mean) / effective + _Z**2 / (4 * effective**2))
            / wilson_denominator
        )
        t_half = special.stdtrit(np.maximum(effective - 1.0, 1.0), 0.5 + CONFIDENCE / 2) * np.sqrt(
            variance / effective
        )
    unit_is_flag = np.asarray([kinds[name] == "flag" for name in votes.label_names])[label[starts]]
    single = effective <= 1.0 + 1e-12
    low = np.where(unit_is_flag, wilson_centre - wilson_half, np.where(single, 0.0, mean - t_half))
    high = np.where(unit_is_flag, wilson_centre + wilson_half, np.where(single, 1.0, mean + t_half))
    low = np.clip(np.nan_to_num(low, nan=0.0), 0.0, 1.0)
    high = np.clip(np.nan_to_num(high, nan=1.0), 0.0, 1.0)

    unit_message = message[starts].tolist()
    unit_label = label[starts].tolist()
    unit_posterior: list[float | None] = [None] * len(starts)
    unit_method: list[str | None] = [None] * len(starts)
    for code, name in enumerate(votes.label_names):
        table = posteriors.get(name)
        if table is None or kinds[name] != "flag":
            continue
        table_messages, table_posteriors, method = table
        units = np.flatnonzero(label[starts] == code)
        where = np.clip(
            np.searchsorted(table_messages, message[starts][units]),
            0,
            max(len(table_messages) - 1, 0),
        )
        found = (
            table_messages[where] == message[starts][units]
            if len(table_messages)
            else np.zeros(len(units), bool)
        )
        for unit, position, is_found in zip(
            units.tolist(), where.tolist(), found.tolist(), strict=True
        ):
            if is_found:
                unit_posterior[unit] = float(table_posteriors[position])
                unit_method[unit] = method

    counts = sizes.tolist()
    means = mean.tolist()
    lows = low.tolist()
    highs = high.tolist()
    names = votes.label_names
    aggregates: list[MessageAggregate] = []
    current: int | None = None
    current_labels: dict[str, dict[str, Any]] = {}
    # Unrounded mean and posterior of the labels the acceptance rule reads.
    current_raw: dict[str, tuple[float, float]] = {}
    current_votes = 0

    def finish() -> None:
        assert current is not None
        aggregates.append(
            message_acceptance(
                current, current_labels, current_raw, current_votes, gold, rule, threshold
            )
        )

    for unit in range(len(starts)):
        message_id = unit_message[unit]
        if message_id != current:
            if current is not None:
                finish()
            current, current_labels, current_raw, current_votes = message_id, {}, {}, 0
        name = names[unit_label[unit]]
        entry: dict[str, Any] = {
            "kind": kinds[name],
            "count": counts[unit],
            "mean": _rounded(means[unit]),
            "ci_low": _rounded(lows[unit]),
            "ci_high": _rounded(highs[unit]),
        }
        if kinds[name] == "flag":
            known = gold.get((message_id, name))
            posterior = unit_posterior[unit]
            if known is not None:
                posterior, method = (1.0 if known >= 0.5 else 0.0), GOLD
                entry["gold"] = known
            elif posterior is not None:
                method = unit_method[unit] or MAJORITY
            else:
                posterior, method = means[unit], MAJORITY
            entry["posterior"] = _rounded(posterior)
            entry["posterior_method"] = method
            current_raw[name] = (means[unit], posterior)
        else:
            current_raw[name] = (means[unit], means[unit])
        current_labels[name] = entry
        current_votes += counts[unit]
    finish()
    return aggregates


def message_acceptance(
    message_id: int,
    labels: dict[str, dict[str, Any]],
    raw: Mapping[str, tuple[float, float]],
    vote_count: int,
    gold: Mapping[tuple[int, str], float],
    rule: str,
    threshold: float,
) -> MessageAggregate:
    """Open-Assistant's rule on means, or the same rule on posteriors. A label
    nobody answered counts as 0; a gold answer counts as given. Computed from the
    unrounded values, so the mean rule decides exactly as
    ``backend.consensus.acceptance`` always has."""
    inputs: dict[str, float] = {}
    for name in ("spam", "lang_mismatch"):
        known = gold.get((message_id, name))
        if rule == AcceptanceRule.DAWID_SKENE:
            if known is not None:
                inputs[name] = 1.0 if known >= 0.5 else 0.0
            elif name in raw:
                inputs[name] = raw[name][1]
        elif name in raw:
            inputs[name] = raw[name][0]
    score = acceptance_score(inputs)
    return MessageAggregate(
        message_id=message_id,
        labels=labels,
        acceptance_score=_rounded(score),
        is_accepted=score > threshold,
        vote_count=vote_count,
    )
