"""What the arena plugs into the engine when the app starts: its task kind."""

from __future__ import annotations


def connect() -> None:
    from backend.arena.kind import COMPARE
    from backend.assignments.registry import register

    register(COMPARE)
