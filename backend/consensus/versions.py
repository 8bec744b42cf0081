"""Names and versions of the rules that produce stored consensus results.

Every stored result records the rule that made it (``algorithm``) and its version.
Bump a version whenever a change could alter a stored result — a different
tie-break, prior, tolerance or formula — so that results computed before and after
can be told apart and a rescore is auditable. docs/consensus.md describes each rule.
"""

from __future__ import annotations

# Ranked pairs (Tideman 1987) with Zavist–Tideman tie-breaking by the earliest ballot,
# ballots read in (created_at, user id) order.
RANKED_PAIRS = ("ranked_pairs", 1)
# Plackett–Luce MAP log-strengths, Gaussian penalty 0.01 · Σθ².
PLACKETT_LUCE = ("plackett_luce", 1)
# Label means, 95 % intervals (Wilson for flags, Student t for Likert), Dawid–Skene
# posteriors for flags and the acceptance rule.
LABEL_AGGREGATE = ("label_aggregate", 1)
# Binary Dawid–Skene with Beta(2, 2) priors, min overlap 20.
DAWID_SKENE = ("dawid_skene", 1)
# Dawid–Skene accuracy, leave-one-out Kendall τ (shrunk), gold accuracy, position-bias
# and randomness tests, vote weights.
ANNOTATOR_QUALITY = ("annotator_quality", 1)
# Krippendorff's alpha, raw pairwise agreement, Kendall's W.
AGREEMENT = ("agreement", 1)


def as_dict() -> dict[str, int]:
    """Every rule and its version, as recorded on a rescore run."""
    return dict(
        [RANKED_PAIRS, PLACKETT_LUCE, LABEL_AGGREGATE, DAWID_SKENE, ANNOTATOR_QUALITY, AGREEMENT]
    )
