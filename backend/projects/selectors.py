from __future__ import annotations

import threading
import time
from typing import Any

from backend.projects.models import TREE_SETTING_NAMES, Project

# Projects are read on every claim and change rarely: each process keeps them for a
# few seconds. A change made in this process is seen at once (the cache is dropped on
# save); another process sees it within ``PROJECT_CACHE_SECONDS``.
PROJECT_CACHE_SECONDS = 5.0
_cache: dict[tuple[str, object], tuple[float, Project]] = {}
_lock = threading.Lock()


def project_settings(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in TREE_SETTING_NAMES}


def project_cached(*, project_id: int | None = None, slug: str | None = None) -> Project:
    """The project by id or slug, from this process's short-lived cache.

    Raises ``Project.DoesNotExist``. Treat the instance as read-only: it is shared.
    """
    key: tuple[str, object] = ("id", project_id) if slug is None else ("slug", slug)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    lookup = {"pk": project_id} if slug is None else {"slug": slug}
    project = Project.objects.get(**lookup)
    with _lock:
        expires = now + PROJECT_CACHE_SECONDS
        _cache[("id", project.pk)] = (expires, project)
        _cache[("slug", project.slug)] = (expires, project)
    return project


def project_cache_clear(**kwargs: Any) -> None:
    with _lock:
        _cache.clear()


def _language_chain(lang: str) -> tuple[str, ...]:
    base = lang.split("-")[0].split("_")[0]
    return (lang, base) if base != lang else (lang,)


def project_guidelines(project: Project, lang: str) -> str:
    """The guidelines in the interface language ``lang`` (or its base language), else
    the project's default text."""
    for code in _language_chain(lang):
        text = project.guidelines_translations.get(code)
        if text:
            return str(text)
    return project.guidelines


def project_kind_instruction(project: Project, kind: str, lang: str) -> str | None:
    """The project's own instruction for ``kind`` in ``lang`` (falling back to its
    default text), or None when the project keeps the built-in instruction."""
    texts = project.kind_instructions.get(kind) or {}
    for code in (*_language_chain(lang), ""):
        if texts.get(code):
            return str(texts[code])
    return None
