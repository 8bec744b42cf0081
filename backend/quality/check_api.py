"""``POST /api/v1/quality/check``: what the task page warns about before a submission.

The page sends the text being written and the task's language; the answer lists the
PII spans found and the detected language, with ``mismatch`` true when the detector is
confident that the text is in another language. Nothing is stored: the signals of a
submitted message are computed after commit, as for every message. Signed-in people
only; the general API rate limits apply (``backend.common.throttles``), banned accounts
get 403 ``banned`` like every write, and the text is bounded by ``MAX_CHECK_CHARS``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.fields import StrictCharField
from backend.common.permissions import IsNotBanned
from backend.projects.models import Project
from backend.quality.signals.language import detect, is_mismatch
from backend.quality.signals.pii import find_pii

# Far above any project's message length limit; a longer text is refused (400).
MAX_CHECK_CHARS = 20_000
# A mismatch is warned about at the confidence the projects flag it by default.
LANG_MIN_CONFIDENCE: float = Project._meta.get_field("quality_lang_min_confidence").default


class QualityCheckInput(serializers.Serializer):
    text = StrictCharField(max_length=MAX_CHECK_CHARS, allow_blank=True, trim_whitespace=False)
    lang = StrictCharField(max_length=32, required=False, allow_blank=True, default="")


class PiiSpanOutput(serializers.Serializer):
    type = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()


class LanguageOutput(serializers.Serializer):
    detected = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    mismatch = serializers.BooleanField(
        allow_null=True, help_text="null when no language was given"
    )


class QualityCheckOutput(serializers.Serializer):
    pii = PiiSpanOutput(many=True)
    lang = LanguageOutput()


def quality_check(*, text: str, lang: str) -> dict[str, Any]:
    """PII spans and language of ``text`` against the declared ``lang`` (may be "")."""
    guess = detect(text)
    return {
        "pii": [
            {"type": span.type, "start": span.start, "end": span.end}
            for span in find_pii(text, lang=lang or None)
        ],
        "lang": {
            "detected": guess.lang if guess is not None else None,
            "confidence": round(guess.confidence, 4) if guess is not None else None,
            "mismatch": (
                is_mismatch(guess, lang, min_confidence=LANG_MIN_CONFIDENCE) if lang else None
            ),
        },
    }


class QualityCheckView(APIView):
    permission_classes = [IsAuthenticated, IsNotBanned]

    @extend_schema(
        request=QualityCheckInput,
        responses=QualityCheckOutput,
        summary="Check a text for PII and its language before submitting it",
    )
    def post(self, request: Request) -> Response:
        data = QualityCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            quality_check(text=data.validated_data["text"], lang=data.validated_data["lang"])
        )
