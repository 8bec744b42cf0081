"""Claim gates: which task kinds a person may not be handed yet.

Apps above the engine (onboarding's qualifications) register a gate in their
``AppConfig.ready()``; the claim asks the gates in Python before its statement, so the
claim statement itself stays as it is. A gate answers the subset of ``kinds`` that is
locked for the person in the project, and should cost nothing for a project that
locks nothing (read the project's settings first; it is cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from backend.accounts.models import User
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
