"""Panels that apps above moderation add to a queue item's page.

Moderation never imports the apps above it (docs/architecture.md), yet some of them
hold what a moderator must see to decide on an item (the arena's held battles on a
prompt). Such an app registers a panel in its ``AppConfig.ready()``: a function that
takes the queue item and answers the template to include and its context, or None
when it has nothing to show for that item. The item page renders the panels in the
order they were registered; a panel's template reads its context as ``panel``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.moderation.models import QueueItem

ItemPanel = Callable[[QueueItem], tuple[str, dict[str, Any]] | None]

_panels: list[ItemPanel] = []


def item_panels_register(panel: ItemPanel) -> ItemPanel:
    """Add a panel to the item page (registering the same function twice adds it once)."""
    if panel not in _panels:
        _panels.append(panel)
    return panel


def item_panels_unregister(panel: ItemPanel) -> None:
    if panel in _panels:
        _panels.remove(panel)


def item_panels_for(item: QueueItem) -> list[dict[str, Any]]:
    """The panels that have something to show for ``item``: ``{"template", "context"}``."""
    shown = []
    for panel in _panels:
        found = panel(item)
        if found is not None:
            template, context = found
            shown.append({"template": template, "context": context})
    return shown
