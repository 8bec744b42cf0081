"""The shapes the writers read and the parsers produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# --- Export --------------------------------------------------------------------------


@dataclass(slots=True)
class ExportNode:
    """One exported message. ``message_id``/``parent_id``/``user_id`` are export ids
    (anonymised or not); ``pk`` and ``parent_pk`` are Arbor's, used only to join.

    ``children`` holds the included replies, best-ranked first and unranked last.
    ``rankings`` are the raw ranking votes cast on this message's replies, each a
    list of Arbor message pks, best first (preferences compute agreement from them).
    """

    pk: int
    parent_pk: int | None
    message_id: str
    parent_id: str | None
    user_id: str | None
    created_at: datetime
    text: str
    role: str
    lang: str
    review_count: int
    review_result: bool | None
    deleted: bool
    rank: int | None
    synthetic: bool
    model_name: str | None
    emojis: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] | None = None
    events: dict[str, list[dict[str, Any]]] | None = None
    quality: dict[str, Any] | None = None
    children: list[ExportNode] = field(default_factory=list)
    rankings: list[list[int]] = field(default_factory=list)
    # Arbor's consensus results (known fields only; see ``BatchRows.consensus``), None
    # when unscored.
    consensus: dict[str, Any] | None = None


@dataclass(slots=True)
class ExportTree:
    message_tree_id: str
    tree_state: str
    lang: str
    root: ExportNode
    size: int = 0  # how many messages the tree exports
    # The nodes in pre-order, when the builder recorded them (it visits them so).
    preorder: list[ExportNode] | None = None

    def nodes(self) -> list[ExportNode]:
        """Every node in pre-order (a node before its replies, replies in order)."""
        if self.preorder is not None:
            return self.preorder
        ordered: list[ExportNode] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            ordered.append(node)
            stack.extend(reversed(node.children))
        return ordered


# --- Import --------------------------------------------------------------------------


@dataclass(slots=True)
class ImportMessage:
    origin_id: str
    parent_origin_id: str | None
    depth: int
    role: str
    text: str
    lang: str
    review_count: int = 0
    review_result: bool | None = None
    deleted: bool = False
    rank: int | None = None
    synthetic: bool = False
    model_name: str = ""
    created_at: datetime | None = None
    labels: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    emojis: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ImportTree:
    """A parsed tree; ``messages`` lists parents before their replies."""

    origin_id: str
    lang: str
    messages: list[ImportMessage]


class ImportLineError(ValueError):
    """A line (or item) that cannot be imported; ``reason`` says why, for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
