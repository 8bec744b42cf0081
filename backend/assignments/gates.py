"""Claim gates (which task kinds a person may not be handed yet) and substitutes (work
handed out in place of real work).

Apps above the engine (onboarding's qualifications) register a gate in their
``AppConfig.ready()``; the claim asks the gates in Python before its statement, so the
claim statement itself stays as it is. A gate answers the subset of ``kinds`` that is
locked for the person in the project, and should cost nothing for a project that
locks nothing (read the project's settings first; it is cached).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from backend.accounts.models import User
from backend.assignments.claims import Turn
from backend.assignments.models import Assignment
from backend.assignments.registry import KindSpec, SubmitContext, get_kind
from backend.common.errors import ArborError
from backend.projects.models import Project

Gate = Callable[[User, Project, list[str]], set[str]]

_gates: list[Gate] = []


class KindLocked(ArborError):
    """The person may not take this kind yet (403 ``kind_locked``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            "kind_locked",
            f"{kind!r} is locked for you in this project; take its qualification first.",
            status_code=403,
            extra={"kind": kind},
        )
        self.kind = kind


def claim_gate_register(gate: Gate) -> None:
    if gate not in _gates:
        _gates.append(gate)


def claim_gate_unregister(gate: Gate) -> None:
    if gate in _gates:
        _gates.remove(gate)


def kinds_locked_for(*, user: User, project: Project, kinds: Iterable[str]) -> set[str]:
    """The subset of ``kinds`` some gate locks for ``user`` in ``project``."""
    wanted = list(kinds)
    locked: set[str] = set()
    for gate in _gates:
        locked |= gate(user, project, wanted)
    return locked & set(wanted)


# --- Substitutes ----------------------------------------------------------------------


class Substitute(Protocol):
    """Work handed out in place of real work (onboarding's gold items): an assignment
    with no work item, of a kind that normally has one.

    ``pick`` runs on every claim before the claim statement and must decide in Python
    (a dice roll against a project setting) so that an ordinary claim costs nothing;
    only when it picks does ``create`` write the assignment. ``shown`` draws what the
    assignment shows; ``submit`` checks and records an answer instead of the kind's
    ``apply`` (no votes, no messages).
    """

    def pick(
        self, *, user: User, project: Project, lang: str, kinds: list[str], rng: random.Random
    ) -> Any | None: ...

    def create(
        self, *, picked: Any, user: User, project: Project, lang: str, expires: datetime
    ) -> tuple[Assignment, list[Turn], list[Turn]]: ...

    def shown(self, assignment: Assignment) -> tuple[list[Turn], list[Turn]]: ...

    def submit(
        self, context: SubmitContext, spec: KindSpec, payload: Mapping[str, Any]
    ) -> None: ...

    def undo(self, assignment: Assignment) -> None: ...


_substitutes: list[Substitute] = []


def substitute_register(substitute: Substitute) -> None:
    if substitute not in _substitutes:
        _substitutes.append(substitute)


def substitute_unregister(substitute: Substitute) -> None:
    if substitute in _substitutes:
        _substitutes.remove(substitute)


def substitutes() -> list[Substitute]:
    return list(_substitutes)


def is_substituted(assignment: Assignment) -> bool:
    """An assignment of a work-item kind without a work item came from a substitute
    (no query)."""
    spec = get_kind(assignment.kind)
    return (
        spec is not None
        and spec.uses_work_item
        and assignment.work_item_id is None
        and bool(_substitutes)
    )


def substituted_shown(assignment: Assignment) -> tuple[list[Turn], list[Turn]]:
    for substitute in _substitutes:
        return substitute.shown(assignment)
    return [], []


def substituted_submit(context: SubmitContext, spec: KindSpec, payload: Mapping[str, Any]) -> None:
    for substitute in _substitutes:
        substitute.submit(context, spec, payload)
        return
    raise ArborError("work_item_closed", "This work is no longer needed.", status_code=409)


def substituted_undo(assignment: Assignment) -> None:
    for substitute in _substitutes:
        substitute.undo(assignment)
        return
