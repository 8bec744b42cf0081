"""Typed spans of personal data and secrets in every message; any span raises ``pii``
(exports mask detected spans as well as volunteer-flagged ones)."""

from __future__ import annotations

from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.registry import QualityContext, SignalProvider
from backend.quality.signals import pii
from backend.quality.signals.language import base_language


class PiiProvider(SignalProvider):
    name = "pii"
    fields = ("pii",)
    flags = (QualityFlag.PII,)

    @property
    def version(self) -> str:
        return pii.VERSION

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        lang = context.confident_lang or base_language(context.message.lang)
        spans = pii.find_pii(context.message.text, lang=lang)
        row.pii = [{"type": span.type, "start": span.start, "end": span.end} for span in spans]
        return [QualityFlag.PII] if spans else []


provider = PiiProvider()
