"""Panels that apps above moderation add to a queue item's page: registered once, asked
for each item, shown only when they answer."""

from __future__ import annotations

from typing import Any

import pytest

from backend.moderation.models import QueueItem
from backend.moderation.panels import item_panels_for, item_panels_register, item_panels_unregister
from tests.moderation.mixed_queue import mixed_queue

pytestmark = pytest.mark.django_db


def test_panels_answer_per_item_and_register_once():
    first, second = (arrival.item for arrival in mixed_queue(2))
    asked: list[int] = []

    def panel(item: QueueItem) -> tuple[str, dict[str, Any]] | None:
        asked.append(item.pk)
        return ("some/panel.html", {"item": item.pk}) if item.pk == first.pk else None

    item_panels_register(panel)
    item_panels_register(panel)
    try:
        assert item_panels_for(first) == [
            {"template": "some/panel.html", "context": {"item": first.pk}}
        ]
        assert item_panels_for(second) == []
        assert asked == [first.pk, second.pk]
    finally:
        item_panels_unregister(panel)
    assert item_panels_for(first) == []
