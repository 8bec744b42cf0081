"""Reads of the quality app: the ``quality`` contract object of the API and exports,
and the PII each message was found to hold (docs/quality.md, "The contract").

Both take many message ids and run one query, so a page or an export batch-loads
them instead of asking per message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from backend.common.errors import NotFound
from backend.projects.models import Project
from backend.quality.models import EvalSet, MessageQuality, QualityJob

if TYPE_CHECKING:
    from backend.quality.signals.pii import PiiSpan

EMPTY_PAYLOAD: dict[str, Any] = {
    "lang": None,
    "toxicity": None,
    "pii": None,
    "near_duplicate_of": None,
    "similarity": None,
    "leakage": None,
    "flags": None,
    "version": None,
}

# The ``versions`` keys of the signals (the providers' names).
LANGUAGE, TOXICITY, PII, DUPLICATES, LEAKAGE = (
    "language",
    "toxicity",
    "pii",
    "duplicates",
    "leakage",
)


def versions_label(versions: dict[str, str]) -> str:
    """One string naming every detector that computed a row, in a stable order."""
    return ";".join(f"{name}={versions[name]}" for name in sorted(versions))


def quality_payload(row: MessageQuality | None, *, eval_set_name: str | None = None) -> dict:
    """The contract object of one row (``None``: nothing computed, every field null)."""
    if row is None:
        return dict(EMPTY_PAYLOAD)
    versions = row.versions or {}
    lang = None
    if LANGUAGE in versions:
        lang = {
            "detected": row.lang_detected or None,
            "confidence": row.lang_confidence,
            "mismatch": row.lang_mismatch,
        }
    toxicity = None
    if TOXICITY in versions:
        toxicity = {"score": row.toxicity, "model": row.toxicity_model or None}
    leakage = None
    if LEAKAGE in versions:
        leakage = {
            "eval_set": eval_set_name if row.leakage_eval_set_id is not None else None,
            "score": row.leakage_score,
        }
    return {
        "lang": lang,
        "toxicity": toxicity,
        "pii": list(row.pii) if row.pii is not None else None,
        "near_duplicate_of": row.near_duplicate_of_id,
        "similarity": row.similarity,
        "leakage": leakage,
        "flags": list(row.flags),
        "version": versions_label(versions),
    }


def quality_payloads(message_ids: Iterable[int]) -> dict[int, dict]:
    """``{message_id: contract object}`` for every id asked (one query; a message
    without a row yet gets the object with every field null)."""
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return {}
    rows = {
        row.message_id: row
        for row in MessageQuality.objects.filter(message_id__in=ids).select_related(
            "leakage_eval_set"
        )
    }
    payloads = {}
    for message_id in ids:
        row = rows.get(message_id)
        name = row.leakage_eval_set.name if row and row.leakage_eval_set else None
        payloads[message_id] = quality_payload(row, eval_set_name=name)
    return payloads


def detected_pii(message_ids: Iterable[int]) -> dict[int, list[PiiSpan]]:
    """``{message_id: spans}`` of the PII the detector found, for the ids that have
    any (one query). Offsets index the message's current text."""
    from backend.quality.signals.pii import PiiSpan  # its libraries load on first use

    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return {}
    found: dict[int, list[PiiSpan]] = {}
    rows = MessageQuality.objects.filter(message_id__in=ids, pii__isnull=False).values_list(
        "message_id", "pii"
    )
    for message_id, spans in rows:
        if spans:
            found[message_id] = [
                PiiSpan(type=span["type"], start=span["start"], end=span["end"]) for span in spans
            ]
    return found


def eval_sets_of_project(*, project_id: int) -> list[EvalSet]:
    return list(EvalSet.objects.filter(project_id=project_id).select_related("created_by"))


def quality_job_get(*, job_id: int, project_id: int) -> QualityJob | None:
    return QualityJob.objects.filter(pk=job_id, project_id=project_id).first()


def project_by_slug(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


def pii_segments(text: str, spans: list[dict] | None) -> list[dict[str, str | None]]:
    """``text`` cut at the PII spans: ``[{"text", "type"}]``, ``type`` None between
    spans (what the moderators' quality panel highlights)."""
    segments: list[dict[str, str | None]] = []
    position = 0
    for span in sorted(spans or [], key=lambda span: span["start"]):
        start, end = max(span["start"], position), min(span["end"], len(text))
        if start >= end:
            continue
        if start > position:
            segments.append({"text": text[position:start], "type": None})
        segments.append({"text": text[start:end], "type": span["type"]})
        position = end
    if position < len(text):
        segments.append({"text": text[position:], "type": None})
    return segments


def quality_panel(*, message_id: int, text: str) -> dict[str, Any]:
    """What the moderators' quality panel shows for one message: the contract object,
    whether anything was computed, and the text cut at its PII spans."""
    payload = quality_payloads([message_id])[message_id]
    return {
        **payload,
        "computed": payload["flags"] is not None,
        "pii_segments": pii_segments(text, payload["pii"]) if payload["pii"] else [],
    }
