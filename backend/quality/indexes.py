"""The in-process indexes the providers query: MinHash LSH indexes of a project's
prompts per (project, language, threshold), and the n-gram matchers of its eval sets.

Both are built from database rows (``MinHashSignature``, ``EvalPrompt``), never from
anything only this process knows, so a restarted process rebuilds them on first use
and every process converges on the same answers. They stay fresh by asking the
database what changed since they last looked: signatures written (or rewritten by an
edit) since then, eval sets added or deleted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from backend.quality.models import EvalPrompt, EvalSet, MinHashSignature
from backend.quality.signals import duplicates
from backend.quality.signals.leakage import EvalSetMatcher

# A signature committed late (its transaction ran long) carries an ``updated_at`` from
# before it became visible: each refresh looks this far back to catch it. A quality
# computation's transaction lasts well under a second.
FRESHNESS_OVERLAP = timedelta(seconds=30)


@dataclass
class _LoadedIndex:
    index: duplicates.NearDuplicateIndex
    signatures: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # message id → the ``updated_at`` of the row its signature came from.
    loaded_at: dict[int, datetime] = field(default_factory=dict)
    seen_until: datetime | None = None


class NearDuplicateIndexes:
    """One ``NearDuplicateIndex`` per (project, language, threshold)."""

    def __init__(self) -> None:
        self._indexes: dict[tuple[int, str, float], _LoadedIndex] = {}
        self._lock = threading.Lock()

    def _fresh(self, project_id: int, lang: str, threshold: float) -> _LoadedIndex:
        key = (project_id, lang, threshold)
        loaded = self._indexes.get(key)
        if loaded is None:
            loaded = _LoadedIndex(index=duplicates.NearDuplicateIndex(threshold))
            self._indexes[key] = loaded
        now = timezone.now()
        rows = MinHashSignature.objects.filter(
            project_id=project_id, lang=lang, version=duplicates.VERSION
        )
        if loaded.seen_until is None:
            changed = rows
        else:
            # Ids and times first: only rows this process has not loaded are read whole.
            recent = rows.filter(updated_at__gte=loaded.seen_until - FRESHNESS_OVERLAP)
            stale = [
                message_id
                for message_id, updated_at in recent.values_list("message_id", "updated_at")
                if loaded.loaded_at.get(message_id) != updated_at
            ]
            changed = rows.filter(message_id__in=stale) if stale else rows.none()
        for message_id, signature, updated_at in changed.values_list(
            "message_id", "signature", "updated_at"
        ).iterator():
            self._put(loaded, message_id, signature)
            loaded.loaded_at[message_id] = updated_at
        loaded.seen_until = now
        return loaded

    @staticmethod
    def _put(loaded: _LoadedIndex, message_id: int, signature: list[int]) -> None:
        stored = tuple(signature)
        if loaded.signatures.get(message_id) == stored:
            return
        loaded.index.remove(message_id)  # an edited prompt replaces its signature
        loaded.index.add(message_id, stored)
        loaded.signatures[message_id] = stored

    def candidates(
        self, *, project_id: int, lang: str, threshold: float, signature: list[int]
    ) -> dict[int, tuple[int, ...]]:
        """``{message_id: signature}`` of the prompts LSH proposes as near copies."""
        with self._lock:
            loaded = self._fresh(project_id, lang, threshold)
            return {
                message_id: loaded.signatures[message_id]
                for message_id in loaded.index.query(signature)
                if message_id in loaded.signatures
            }

    def add(self, *, project_id: int, lang: str, message_id: int, signature: list[int]) -> None:
        """Index a prompt at once in this process (others read it from its row)."""
        with self._lock:
            for (project, index_lang, _), loaded in self._indexes.items():
                if project == project_id and index_lang == lang:
                    self._put(loaded, message_id, signature)

    def forget(self, *, project_id: int | None = None) -> None:
        """Drop the indexes (of one project): the next query rebuilds them from rows."""
        with self._lock:
            for key in list(self._indexes):
                if project_id is None or key[0] == project_id:
                    del self._indexes[key]


@dataclass(frozen=True)
class LoadedEvalSet:
    id: int
    name: str
    matcher: EvalSetMatcher


class EvalSetMatchers:
    """The matchers of each project's eval sets (an eval set never changes once
    uploaded; it is only added or deleted)."""

    def __init__(self) -> None:
        self._matchers: dict[int, LoadedEvalSet] = {}
        self._lock = threading.Lock()

    def for_project(self, project_id: int) -> list[LoadedEvalSet]:
        current = list(
            EvalSet.objects.filter(project_id=project_id).order_by("pk").values_list("pk", "name")
        )
        with self._lock:
            loaded = []
            for eval_set_id, name in current:
                entry = self._matchers.get(eval_set_id)
                if entry is None:
                    prompts = list(
                        EvalPrompt.objects.filter(eval_set_id=eval_set_id)
                        .order_by("position")
                        .values_list("text", flat=True)
                    )
                    entry = LoadedEvalSet(eval_set_id, name, EvalSetMatcher(prompts))
                    self._matchers[eval_set_id] = entry
                loaded.append(entry)
            return loaded

    def forget(self, *, eval_set_id: int | None = None) -> None:
        with self._lock:
            if eval_set_id is None:
                self._matchers.clear()
            else:
                self._matchers.pop(eval_set_id, None)


# This process's indexes (a worker keeps them between tasks).
near_duplicate_indexes = NearDuplicateIndexes()
eval_set_matchers = EvalSetMatchers()
