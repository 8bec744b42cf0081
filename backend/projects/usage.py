"""Which of a project's labels have votes: asked by the projects services (a label with
votes may be retired, not removed) and answered by the app that stores votes (the
assignment engine registers it in its ``ready()``), since projects sit below it."""

from __future__ import annotations

from collections.abc import Callable

from backend.projects.models import Project

_finders: list[Callable[[Project, set[str]], set[str]]] = []


def label_usage_register(finder: Callable[[Project, set[str]], set[str]]) -> None:
    if finder not in _finders:
        _finders.append(finder)


def labels_in_use(project: Project, names: set[str]) -> set[str]:
    """Which of ``names`` have votes in ``project``."""
    used: set[str] = set()
    for finder in _finders:
        used |= finder(project, names)
    return used


_kind_lists: list[Callable[[], list[str]]] = []


def task_kinds_register(lister: Callable[[], list[str]]) -> None:
    """The engine tells which task kinds exist (for per-kind instructions and weights)."""
    if lister not in _kind_lists:
        _kind_lists.append(lister)


def task_kinds() -> list[str]:
    return [kind for lister in _kind_lists for kind in lister()]
