"""Toxicity scores, 0..1, from a registry of scorers per language.

A language without a scorer has no score: ``scorer_for`` answers None and the stored
score stays null, never 0 (0 would claim "checked and clean"). English is scored by
``alt-profanity-check`` (a linear SVM over character and word n-grams, trained on
insults and profanity; its model ships inside the package, nothing is downloaded). It
catches rude words and insults; it does not understand threats or hate written
politely. A deployment with a stronger local model registers it with
``register_scorer`` (or names it by dotted path, see ``load_scorer``); the scorer
registered last wins for its languages.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from backend.quality.signals.language import base_language

VERSION = "alt-profanity-check-1.9.1/1"

# Texts longer than this are scored on their first part: scoring is linear in length
# and a message's first 20,000 characters say enough.
MAX_CHARS = 20_000


@runtime_checkable
class ToxicityScorer(Protocol):
    name: str  # stored beside the score, e.g. "alt-profanity-check-1.9.1"
    languages: frozenset[str]  # ISO 639-1 base codes

    def score(self, text: str) -> float:
        """0 (harmless) .. 1 (toxic)."""
        ...


@functools.cache
def _profanity_predict() -> Callable[[str], float]:
    """alt-profanity-check's probability for one text, without scikit-learn's per-call cost.

    The package's model is a ``CalibratedClassifierCV`` of linear SVMs with sigmoid
    calibration over a TF-IDF vectoriser. Its ``predict_proba`` spends ~30 ms a call on
    input checks and per-classifier bookkeeping; the same arithmetic on arrays taken from
    the fitted model once (decision values of every SVM in one sparse product, each
    calibrated, then averaged) takes a fraction of that and gives the same numbers (a
    test compares both). A model of another shape falls back to the package's function.
    """
    import numpy as np
    from profanity_check import predict_prob
    from profanity_check import profanity_check as bundled

    try:
        calibrated = bundled.model.calibrated_classifiers_
        weights = np.column_stack([c.estimator.coef_.ravel() for c in calibrated])
        intercepts = np.array([float(c.estimator.intercept_[0]) for c in calibrated])
        slopes = np.array([float(c.calibrators[0].a_) for c in calibrated])
        offsets = np.array([float(c.calibrators[0].b_) for c in calibrated])
        positive_last = all(list(c.classes) == [0, 1] for c in calibrated)
    except (AttributeError, IndexError, TypeError):
        positive_last = False
    if not positive_last:
        return lambda text: float(predict_prob([text])[0])
    vectorizer = bundled.vectorizer

    def predict(text: str) -> float:
        decisions = vectorizer.transform([text]) @ weights + intercepts
        probabilities = 1.0 / (1.0 + np.exp(slopes * decisions + offsets))
        return float(probabilities.mean())

    return predict


class ProfanityCheckScorer:
    """English insults and profanity, by alt-profanity-check's bundled model."""

    name = "alt-profanity-check-1.9.1"
    languages = frozenset({"en"})

    def score(self, text: str) -> float:
        if not text.strip():
            return 0.0
        return min(1.0, max(0.0, _profanity_predict()(text[:MAX_CHARS])))


_DEFAULT_SCORERS: tuple[ToxicityScorer, ...] = (ProfanityCheckScorer(),)
_registered: list[ToxicityScorer] = []


def register_scorer(scorer: ToxicityScorer) -> None:
    """Add a scorer; for its languages it takes precedence over every earlier one."""
    if not isinstance(scorer, ToxicityScorer):
        raise TypeError(f"{scorer!r} lacks name, languages or score()")
    _registered.append(scorer)


def unregister_all() -> None:
    """Forget registered scorers (the built-in English one stays)."""
    _registered.clear()


def load_scorer(dotted_path: str) -> ToxicityScorer:
    """Import ``package.module.Name`` and return an instance (or the object itself).

    ``Name`` may be a class (instantiated without arguments), a factory function, or a
    ready scorer object.
    """
    module_name, _, attribute = dotted_path.rpartition(".")
    if not module_name:
        raise ImportError(f"not a dotted path: {dotted_path!r}")
    target = getattr(importlib.import_module(module_name), attribute)
    is_factory = isinstance(target, type) or (
        callable(target) and not isinstance(target, ToxicityScorer)
    )
    scorer = target() if is_factory else target
    if not isinstance(scorer, ToxicityScorer):
        raise TypeError(f"{dotted_path} gave {scorer!r}, which is not a toxicity scorer")
    return scorer


def scorer_for(lang: str) -> ToxicityScorer | None:
    """The scorer for a language (``en-GB`` counts as ``en``), or None if there is none."""
    base = base_language(lang)
    for scorer in (*_DEFAULT_SCORERS, *_registered)[::-1]:
        if base in scorer.languages:
            return scorer
    return None
