"""Pluggable callables named by settings.

- ``ARBOR_EXPORT_PII_DETECTOR``: dotted path to ``detect(text: str) -> bool | list[(start,
  end)]``. True flags the whole message, spans flag parts of it, False or ``[]`` means
  clean. Unset: only people's ``pii`` labels flag a message.
- ``ARBOR_EXPORT_QUALITY_PROVIDER``: dotted path to ``signals(message_ids: list[int]) ->
  {message_id: quality object}``, called once per batch, in place of the quality app's
  stored signals (``backend.exports.quality``); what it returns is exported under each
  message's ``quality`` key and read by the quality filters. Unset: the quality app's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from backend.exports.formats.build import PiiDetector

QualityProvider = Callable[[list[int]], dict[int, dict[str, Any]]]


def _load(setting: str) -> Any:
    path = getattr(settings, setting, "") or ""
    return import_string(path) if path else None


def pii_detector() -> PiiDetector | None:
    return _load("ARBOR_EXPORT_PII_DETECTOR")  # type: ignore[no-any-return]


def quality_provider() -> QualityProvider | None:
    return _load("ARBOR_EXPORT_QUALITY_PROVIDER")  # type: ignore[no-any-return]
