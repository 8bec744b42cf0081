"""What exports read of the quality app: quality objects and eval sets.

Reads go through the quality app's selectors, in chunks of ``IDS_PER_QUERY`` message
ids, so a batch of trees costs a bounded number of queries whatever its size. The
stored PII spans come with the quality objects (``pii``: null while not computed, ``[]``
when none was found), which tells "clean" from "not computed yet"; ``detected_pii``
lists only messages with spans, so it cannot. A message without computed PII has its
PII found on the fly by the builder (``find_pii``): a default export never carries PII
that the detector would have found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.quality.selectors import eval_sets_of_project, quality_payloads
from backend.trees.models import Message

# Message ids per query: well under SQLite's bound on query parameters.
IDS_PER_QUERY = 20_000

# The contract object's signal fields: a message whose fields are all null has no
# stored signals (the selector answers so for messages without a row; a row always has
# a ``flags`` list, possibly empty).
SIGNAL_FIELDS = ("lang", "toxicity", "pii", "near_duplicate_of", "similarity", "leakage")


def _chunks(message_ids: Sequence[int]) -> list[Sequence[int]]:
    return [
        message_ids[start : start + IDS_PER_QUERY]
        for start in range(0, len(message_ids), IDS_PER_QUERY)
    ]


def has_signals(payload: dict[str, Any] | None) -> bool:
    if not payload:
        return False
    return payload.get("flags") is not None or any(
        payload.get(name) is not None for name in SIGNAL_FIELDS
    )


def quality_objects(message_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``{message id: quality object}`` for the messages that have stored signals."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(message_ids):
        for message_id, payload in quality_payloads(chunk).items():
            if has_signals(payload):
                found[message_id] = payload
    return found


def origin_ids(message_ids: set[int]) -> dict[int, str]:
    """Origin ids (``""`` for Arbor's own messages) of the messages named as originals."""
    if not message_ids:
        return {}
    return dict(Message.objects.filter(pk__in=message_ids).values_list("pk", "origin_id"))


def eval_set_names(*, project_id: int) -> set[str]:
    return {eval_set.name for eval_set in eval_sets_of_project(project_id=project_id)}


def eval_set_names_all(project_ids: Sequence[int]) -> list[str]:
    """The eval sets' names of these projects, for the exports page's choice."""
    names: set[str] = set()
    for project_id in project_ids:
        names |= eval_set_names(project_id=project_id)
    return sorted(names)
