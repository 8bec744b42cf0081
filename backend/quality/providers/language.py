"""The detected language of every message; a confident contradiction of the message's
declared language raises ``lang_mismatch``."""

from __future__ import annotations

from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.registry import QualityContext, SignalProvider
from backend.quality.signals import language


class LanguageProvider(SignalProvider):
    name = "language"
    fields = ("lang_detected", "lang_confidence", "lang_mismatch")
    flags = (QualityFlag.LANG_MISMATCH,)

    @property
    def version(self) -> str:
        return language.VERSION

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        guess = language.detect(context.message.text)
        min_confidence = context.project.quality_lang_min_confidence
        if guess is None:
            return []  # too few letters to say: detected and mismatch stay null
        row.lang_detected = guess.lang
        row.lang_confidence = round(guess.confidence, 4)
        row.lang_mismatch = language.is_mismatch(
            guess, context.message.lang, min_confidence=min_confidence
        )
        if guess.confidence >= min_confidence:
            context.confident_lang = guess.lang
        return [QualityFlag.LANG_MISMATCH] if row.lang_mismatch else []


provider = LanguageProvider()
