"""Open-Assistant's published export schema (``oasst_data.schemas``), as a checker.

Field names and types of ``ExportMessageTree``, ``ExportMessageNode``,
``LabelAvgValue`` and ``ExportMessageEvent`` (every field optional except
``message_tree_id``, ``message_id``, ``text`` and ``role``; events are
``{type: [{"type": str, "user_id": str | None, ...}]}``). Unknown keys are allowed, as
pydantic allows them there. ``check_tree`` raises AssertionError naming the bad field.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

NODE_TYPES: dict[str, tuple[type, ...]] = {
    "message_id": (str,),
    "parent_id": (str,),
    "user_id": (str,),
    "created_date": (str,),
    "text": (str,),
    "role": (str,),
    "lang": (str,),
    "review_count": (int,),
    "review_result": (bool,),
    "deleted": (bool,),
    "rank": (int,),
    "synthetic": (bool,),
    "model_name": (str,),
    "emojis": (dict,),
    "replies": (list,),
    "labels": (dict,),
    "events": (dict,),
    "message_tree_id": (str,),
    "tree_state": (str,),
}
REQUIRED_NODE_FIELDS = ("message_id", "text", "role")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_node(node: dict[str, Any], where: str = "prompt", *, uuid_ids: bool = False) -> int:
    """Check a node and its replies; returns how many nodes were checked."""
    assert isinstance(node, dict), f"{where}: not an object"
    for name in REQUIRED_NODE_FIELDS:
        assert name in node, f"{where}: {name} is required"
    checked = 1
    for name, value in node.items():
        if name not in NODE_TYPES:
            continue
        assert value is not None, f"{where}.{name}: null fields are omitted"
        types = NODE_TYPES[name]
        if int in types:
            assert _is_int(value), f"{where}.{name}: not an int"
        else:
            assert isinstance(value, types), f"{where}.{name}: not {types}"
    assert node["role"] in ("prompter", "assistant"), f"{where}.role"
    if uuid_ids:
        for name in ("message_id", "parent_id", "user_id"):
            if name in node:
                uuid.UUID(node[name])
    if "created_date" in node:
        datetime.fromisoformat(node["created_date"])
    for emoji, count in node.get("emojis", {}).items():
        assert isinstance(emoji, str) and _is_int(count), f"{where}.emojis.{emoji}"
    for label, average in node.get("labels", {}).items():
        assert set(average) == {"value", "count"}, f"{where}.labels.{label}: {{value, count}}"
        assert average["value"] is None or isinstance(average["value"], int | float)
        assert _is_int(average["count"]), f"{where}.labels.{label}.count"
    for kind, events in node.get("events", {}).items():
        assert isinstance(events, list), f"{where}.events.{kind}"
        for event in events:
            assert isinstance(event.get("type"), str), f"{where}.events.{kind}: type"
            assert event.get("user_id") is None or isinstance(event["user_id"], str)
            if event["type"] == "ranking":
                assert all(_is_int(position) for position in event["ranking"])
                assert all(isinstance(item, str) for item in event["ranked_message_ids"])
    for index, reply in enumerate(node.get("replies", [])):
        checked += check_node(reply, f"{where}.replies[{index}]", uuid_ids=uuid_ids)
    return checked


def check_tree(tree: dict[str, Any], *, uuid_ids: bool = False) -> int:
    assert isinstance(tree.get("message_tree_id"), str), "message_tree_id is required"
    if uuid_ids:
        uuid.UUID(tree["message_tree_id"])
    assert tree.get("tree_state") is None or isinstance(tree["tree_state"], str)
    assert isinstance(tree.get("prompt"), dict), "prompt"
    return check_node(tree["prompt"], uuid_ids=uuid_ids)
