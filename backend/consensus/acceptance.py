"""Whether a reviewed message is accepted. Pure: no ORM.

Open-Assistant's rule: accept when 1 − mean(spam) − mean(lang_mismatch) exceeds the
project's threshold. Each mean is over the reviewers who answered that label; a
label nobody answered counts as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def label_means(votes: Iterable[tuple[str, float]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for label, value in votes:
        sums[label] = sums.get(label, 0.0) + value
        counts[label] = counts.get(label, 0) + 1
    return {label: sums[label] / counts[label] for label in sums}


def acceptance_score(means: Mapping[str, float]) -> float:
    return 1.0 - means.get("spam", 0.0) - means.get("lang_mismatch", 0.0)


def is_accepted(means: Mapping[str, float], *, threshold: float) -> bool:
    return acceptance_score(means) > threshold
