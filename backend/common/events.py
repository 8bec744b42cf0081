"""Typed domain events: how lower layers tell higher ones that something happened.

A lower app (trees, the assignment engine, consensus) never imports a higher one
(moderation, community, exports, quality, arena, webhooks). It emits an event; higher
apps subscribe in their ``AppConfig.ready()``. The definitions live here, at the
bottom, so any layer may emit and subscribe (docs/architecture.md).

Handlers run synchronously, in the order they subscribed, inside the transaction of
the change that emitted the event: what they write commits or rolls back with it.
Work that must wait for the commit (Celery, websockets) is the handler's to defer,
with ``transaction.on_commit`` or ``backend.common.outbox.enqueue``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class MessageCreated:
    """A prompt or reply was written (or imported) and stored."""

    message_id: int
    tree_id: int
    project_id: int
    author_id: int | None
    is_root: bool


@dataclass(frozen=True)
class MessageEdited:
    message_id: int
    tree_id: int
    project_id: int
    actor_id: int | None


@dataclass(frozen=True)
class MessageQualityFlagged:
    """The quality signals newly raised ``flags`` on a message (backend/quality)."""

    message_id: int
    tree_id: int
    project_id: int
    flags: tuple[str, ...]


@dataclass(frozen=True)
class MessageReviewed:
    """A message has all its reviews and the acceptance rule decided."""

    message_id: int
    tree_id: int
    project_id: int
    author_id: int | None
    is_root: bool
    is_accepted: bool


@dataclass(frozen=True)
class MessageReacted:
    message_id: int
    tree_id: int
    project_id: int
    user_id: int
    emoji: str


@dataclass(frozen=True)
class TreeStateChanged:
    tree_id: int
    project_id: int
    before: str
    after: str
    actor_id: int | None
    reason: str


@dataclass(frozen=True)
class TreeScoringGaveUp:
    """Scoring failed ``attempts`` times in a row; automatic retries have stopped."""

    tree_id: int
    project_id: int
    attempts: int
    error: str


@dataclass(frozen=True)
class AssignmentSubmitted:
    assignment_id: int
    user_id: int
    project_id: int
    kind: str
    tree_id: int | None
    message_id: int | None
    # The message written starts a tree (a new prompt, whatever the kind that wrote it).
    is_prompt: bool = False
    # The answer went to a substitute of the work (a gold item), not to real work.
    is_substitute: bool = False


@dataclass(frozen=True)
class AssignmentSkipped:
    assignment_id: int
    user_id: int
    project_id: int
    kind: str
    tree_id: int | None


@dataclass(frozen=True)
class ModerationResolved:
    """A moderator resolved a queue item with ``action`` (dismiss, delete_message, …);
    ``message_id`` is None for items about a whole tree."""

    queue_item_id: int
    project_id: int
    tree_id: int
    message_id: int | None
    action: str


@dataclass(frozen=True)
class AssignmentUndone:
    """A person took back a submission within the undo window (nothing depended on it
    yet): its votes are gone and the assignment is open again. ``message_id`` is the
    message a review labelled, ``ranking_vote_id`` the ranking vote removed."""

    assignment_id: int
    user_id: int
    project_id: int
    kind: str
    message_id: int | None = None
    ranking_vote_id: int | None = None
    # The answer taken back went to a substitute of the work (a gold item).
    is_substitute: bool = False


@dataclass(frozen=True)
class ExportFinished:
    """An export job ended: ``state`` is ``succeeded`` or ``failed``."""

    job_id: int
    project_id: int
    format: str
    state: str


@dataclass(frozen=True)
class ImportFinished:
    """An import job ended: ``state`` is ``succeeded`` or ``failed``."""

    job_id: int
    project_id: int
    state: str


Event = Any
E = TypeVar("E")
Handler = Callable[[Any], None]

_handlers: defaultdict[type, list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler`` for every ``event_type`` emitted from now on (once per handler,
    however often ``ready()`` runs)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def emit(event: Event) -> None:
    """Hand ``event`` to its subscribers, in subscription order."""
    for handler in tuple(_handlers.get(type(event), ())):
        handler(event)


def subscribers(event_type: type) -> tuple[Handler, ...]:
    return tuple(_handlers.get(event_type, ()))
