"""Eval-set leakage of prompter texts (initial prompts and prompter replies): the best
sentence BLEU against any of the project's eval prompts, with its eval set; a score
reaching the project's threshold (BLEU 20 by default, as Koala used) raises
``leakage``."""

from __future__ import annotations

from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.registry import QualityContext, SignalProvider
from backend.quality.signals import leakage


class LeakageProvider(SignalProvider):
    name = "leakage"
    fields = ("leakage_eval_set", "leakage_score")
    flags = (QualityFlag.LEAKAGE,)

    @property
    def version(self) -> str:
        return leakage.VERSION

    def applies_to(self, context: QualityContext) -> bool:
        return context.is_prompter_text

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        best_set_id, best_score = None, None
        for eval_set in context.eval_sets.for_project(context.project.pk):
            hit = eval_set.matcher.best(context.message.text)
            if hit is not None and (best_score is None or hit.score > best_score):
                best_set_id, best_score = eval_set.id, hit.score
        if best_score is None:
            return []
        row.leakage_eval_set_id = best_set_id
        row.leakage_score = round(best_score, 2)
        return (
            [QualityFlag.LEAKAGE] if best_score >= context.project.quality_leakage_threshold else []
        )


provider = LeakageProvider()
