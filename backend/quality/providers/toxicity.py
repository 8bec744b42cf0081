"""A toxicity score for every message in a language that has a scorer (null, never 0,
for one that has none); a score above the project's threshold raises ``toxicity``.

Deployments add scorers by dotted path in the setting ``ARBOR_QUALITY_TOXICITY_SCORERS``
(docs/quality.md); they are loaded once per process, on first use.
"""

from __future__ import annotations

import threading

from django.conf import settings

from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.registry import QualityContext, SignalProvider
from backend.quality.signals import toxicity
from backend.quality.signals.language import base_language

_loaded: list[bool] = []
_load_lock = threading.Lock()


def configured_scorers_load() -> None:
    """Register the scorers the settings name (once per process)."""
    with _load_lock:
        if _loaded:
            return
        for dotted_path in getattr(settings, "ARBOR_QUALITY_TOXICITY_SCORERS", ()):
            toxicity.register_scorer(toxicity.load_scorer(dotted_path))
        _loaded.append(True)


class ToxicityProvider(SignalProvider):
    name = "toxicity"
    fields = ("toxicity", "toxicity_model")
    flags = (QualityFlag.TOXICITY,)

    @property
    def version(self) -> str:
        return toxicity.VERSION

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        configured_scorers_load()
        # Scored in the language the text is in when the detector is sure of it (a
        # German insult in an English project goes to a German scorer, if any).
        lang = context.confident_lang or base_language(context.message.lang)
        scorer = toxicity.scorer_for(lang)
        if scorer is None:
            return []
        score = float(scorer.score(context.message.text))
        row.toxicity = round(score, 4)
        row.toxicity_model = scorer.name
        return [QualityFlag.TOXICITY] if score > context.project.quality_toxicity_threshold else []


provider = ToxicityProvider()
