"""How an answer to a training item is compared with its known answer (pure).

- Labels: every label the known answer names must be answered; a flag must match
  exactly, a scale may be one step (0.25) off. Labels the known answer leaves out are
  not scored.
- Rankings: the share of candidate pairs put in the known order (Kendall's agreement);
  the answer matches when at least ``RANKING_MIN_AGREEMENT`` of the pairs agree — with
  three replies, one neighbouring swap still matches, a reversed order does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

SCALE_TOLERANCE = 0.25
RANKING_MIN_AGREEMENT = 2 / 3


@dataclass(frozen=True)
class Score:
    is_correct: bool
    # Labels answered differently from the known answer (name → (given, known)).
    label_misses: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    # For rankings: the share of pairs in the known order (0–1).
    agreement: float | None = None


def labels_score(
    given: Mapping[str, float], known: Mapping[str, float], kinds: Mapping[str, str]
) -> Score:
    """``kinds`` maps a label name to ``flag`` or ``likert``."""
    misses: dict[str, tuple[float | None, float]] = {}
    for name, known_value in sorted(known.items()):
        value = given.get(name)
        if value is None:
            misses[name] = (None, known_value)
            continue
        tolerance = SCALE_TOLERANCE if kinds.get(name) == "likert" else 0.0
        if abs(float(value) - float(known_value)) > tolerance + 1e-9:
            misses[name] = (float(value), known_value)
    return Score(is_correct=not misses, label_misses=misses)


def ranking_agreement(given: Sequence[int], known: Sequence[int]) -> float:
    """The share of pairs of ``known`` that ``given`` orders the same way (1.0 for
    fewer than two items)."""
    position = {value: index for index, value in enumerate(given)}
    pairs = list(combinations(known, 2))
    if not pairs:
        return 1.0
    agreeing = sum(1 for better, worse in pairs if position[better] < position[worse])
    return agreeing / len(pairs)


def ranking_score(given: Sequence[int], known: Sequence[int]) -> Score:
    if sorted(given) != sorted(known):
        return Score(is_correct=False, agreement=0.0)
    agreement = ranking_agreement(given, known)
    return Score(is_correct=agreement >= RANKING_MIN_AGREEMENT - 1e-9, agreement=agreement)


def accuracy(correct: int, answered: int) -> float:
    return correct / answered if answered else 0.0
