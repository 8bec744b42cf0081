"""Inter-annotator agreement per label and per task kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from backend.consensus.algorithms.agreement import (
    krippendorff_alpha_long,
    pairwise_agreement_long,
)
from backend.consensus.loading import RANK_ASSISTANT_REPLIES, RANK_PROMPTER_REPLIES, LabelVotes
from backend.consensus.scoring.labels import STORED_DIGITS
from backend.consensus.scoring.rankings import ScoredRankings

ALL_KINDS = ""


@dataclass(frozen=True)
class AgreementRow:
    """Agreement in one scope: a task kind (or all) and a label (or rankings)."""

    task_kind: str
    label: str
    level: str
    alpha: float | None
    pairwise_agreement: float | None
    kendalls_w: float | None
    unit_count: int
    judgement_count: int


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), STORED_DIGITS)


def _pairable(units: np.ndarray) -> tuple[int, int]:
    """Units with two or more judgements, and the judgements in them."""
    if len(units) == 0:
        return 0, 0
    _, counts = np.unique(units, return_counts=True)
    pairable = counts >= 2
    return int(np.count_nonzero(pairable)), int(counts[pairable].sum())


def label_agreement(votes: LabelVotes, kinds: Mapping[str, str]) -> list[AgreementRow]:
    """Krippendorff's alpha (nominal for flags, interval for Likert) and raw pairwise
    agreement for every label, over all task kinds and per kind. A unit is one
    message; its judgements are the votes on that label."""
    rows: list[AgreementRow] = []
    for code, name in enumerate(votes.label_names):
        level = "nominal" if kinds[name] == "flag" else "interval"
        of_label = votes.label == code
        scopes = [(ALL_KINDS, of_label)] + [
            (kind, of_label & (votes.task_kind == kind_code))
            for kind_code, kind in enumerate(LabelVotes.TASK_KINDS)
        ]
        for task_kind, mask in scopes:
            if not np.any(mask):
                continue
            units, values = votes.message[mask], votes.value[mask]
            unit_count, judgement_count = _pairable(units)
            rows.append(
                AgreementRow(
                    task_kind=task_kind,
                    label=name,
                    level=level,
                    alpha=_rounded(krippendorff_alpha_long(units, values, level)),  # type: ignore[arg-type]
                    pairwise_agreement=_rounded(pairwise_agreement_long(units, values)),
                    kendalls_w=None,
                    unit_count=unit_count,
                    judgement_count=judgement_count,
                )
            )
    return rows


def ranking_agreement(scored: ScoredRankings) -> list[AgreementRow]:
    """Krippendorff's alpha (nominal) and pairwise agreement over sibling pairs — a
    unit is one pair of replies of one group, each ballot's verdict on it a
    judgement — and the mean Kendall's W of the groups with two or more voters."""
    if len(scored) == 0:
        return []
    result = scored.result
    units, values = result.pair_units, result.pair_values
    kinds = scored.votes.task_kinds()
    judgement_kind = kinds[result.pair_unit_group[units]] if len(units) else kinds[:0]
    rows: list[AgreementRow] = []
    for task_kind in (ALL_KINDS, RANK_PROMPTER_REPLIES, RANK_ASSISTANT_REPLIES):
        in_scope = np.ones(len(kinds), bool) if task_kind == ALL_KINDS else kinds == task_kind
        if not np.any(in_scope):
            continue
        mask = np.ones(len(units), bool) if task_kind == ALL_KINDS else judgement_kind == task_kind
        scope_units, scope_values = units[mask], values[mask]
        unit_count, judgement_count = _pairable(scope_units)
        scope_w = result.kendalls_w[in_scope]
        scope_w = scope_w[~np.isnan(scope_w)]
        rows.append(
            AgreementRow(
                task_kind=task_kind,
                label="",
                level="nominal",
                alpha=_rounded(krippendorff_alpha_long(scope_units, scope_values, "nominal")),
                pairwise_agreement=_rounded(pairwise_agreement_long(scope_units, scope_values)),
                kendalls_w=_rounded(float(scope_w.mean())) if len(scope_w) else None,
                unit_count=unit_count,
                judgement_count=judgement_count,
            )
        )
    return rows
