"""Parse one Open-Assistant tree (a decoded ``oasst-trees`` line) into an import tree.

Every problem is an ``ImportLineError`` whose reason names the field by its path
(``prompt.replies[1].role: ...``), so the import report tells people exactly what to
fix. Fields Arbor does not keep (``user_id``, ``events``, ``detoxify``, the file's
``tree_state``) are ignored: the importer chooses the state, and imported messages
have no Arbor author.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from backend.exports.formats.records import ImportLineError, ImportMessage, ImportTree

MAX_ID_LENGTH = 64
MAX_LANG_LENGTH = 32
MAX_MODEL_NAME_LENGTH = 128
MAX_NAME_LENGTH = 64
MAX_TREE_MESSAGES = 10_000
MAX_DEPTH = 500
ROLES = ("prompter", "assistant")


def clean_string(
    value: Any, where: str, *, max_length: int | None = None, empty_ok: bool = False
) -> str:
    """A string that PostgreSQL and SQLite both store as is."""
    if not isinstance(value, str):
        raise ImportLineError(f"{where}: must be a string")
    if not empty_ok and not value.strip():
        raise ImportLineError(f"{where}: must not be empty")
    if max_length is not None and len(value) > max_length:
        raise ImportLineError(f"{where}: longer than {max_length} characters")
    if "\x00" in value:
        raise ImportLineError(f"{where}: contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ImportLineError(f"{where}: is not valid text (lone surrogate)") from error
    return value


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImportLineError(f"{where}: must be a whole number ≥ 0")
    if value > 2**31 - 1:
        raise ImportLineError(f"{where}: is too large")
    return value


def _optional_bool(node: dict[str, Any], key: str, where: str, default: bool | None) -> bool | None:
    value = node.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ImportLineError(f"{where}.{key}: must be true or false")
    return value


def _created(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    text = clean_string(value, where, max_length=64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ImportLineError(f"{where}: not an ISO 8601 date") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _labels(value: Any, where: str) -> dict[str, tuple[float | None, int]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportLineError(f"{where}: must be an object of {{name: {{value, count}}}}")
    labels: dict[str, tuple[float | None, int]] = {}
    for name, entry in value.items():
        name = clean_string(name, f"{where} name", max_length=MAX_NAME_LENGTH)
        if not isinstance(entry, dict):
            raise ImportLineError(f"{where}.{name}: must be an object {{value, count}}")
        raw = entry.get("value")
        if raw is not None and (
            isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw)
        ):
            raise ImportLineError(f"{where}.{name}.value: must be a number or null")
        labels[name] = (
            float(raw) if raw is not None else None,
            _count(entry.get("count"), f"{where}.{name}.count"),
        )
    return labels


def _emojis(value: Any, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportLineError(f"{where}: must be an object of {{emoji: count}}")
    return {
        clean_string(name, f"{where} name", max_length=MAX_NAME_LENGTH): _count(
            count, f"{where}.{name}"
        )
        for name, count in value.items()
    }


def parse_oasst_tree(record: Any, *, default_lang: str) -> ImportTree:
    if not isinstance(record, dict):
        raise ImportLineError("a line must be a JSON object {message_tree_id, tree_state, prompt}")
    tree_id = clean_string(
        record.get("message_tree_id"), "message_tree_id", max_length=MAX_ID_LENGTH
    )
    prompt = record.get("prompt")
    if not isinstance(prompt, dict):
        raise ImportLineError("prompt: must be an object (the root message)")
    root_lang = prompt.get("lang")
    tree_lang = (
        clean_string(root_lang, "prompt.lang", max_length=MAX_LANG_LENGTH)
        if root_lang is not None
        else default_lang
    )

    messages: list[ImportMessage] = []
    seen_ids: set[str] = set()
    # (node, where, parent message or None, depth); iterative so deep input cannot
    # exhaust the stack, pre-order so parents come before their replies.
    stack: list[tuple[Any, str, ImportMessage | None, int]] = [(prompt, "prompt", None, 0)]
    while stack:
        node, where, parent, depth = stack.pop()
        if not isinstance(node, dict):
            raise ImportLineError(f"{where}: must be an object")
        if depth > MAX_DEPTH:
            raise ImportLineError(f"{where}: the tree is deeper than {MAX_DEPTH}")
        if len(messages) >= MAX_TREE_MESSAGES:
            raise ImportLineError(f"the tree has more than {MAX_TREE_MESSAGES} messages")
        message_id = clean_string(
            node.get("message_id"), f"{where}.message_id", max_length=MAX_ID_LENGTH
        )
        if message_id in seen_ids:
            raise ImportLineError(f"{where}.message_id: {message_id!r} appears twice in the tree")
        seen_ids.add(message_id)
        parent_id = node.get("parent_id")
        expected_parent = parent.origin_id if parent is not None else None
        if parent_id is not None and parent_id != expected_parent:
            raise ImportLineError(
                f"{where}.parent_id: is {parent_id!r} but the message replies to "
                f"{expected_parent!r}"
            )
        role = node.get("role")
        if role not in ROLES:
            raise ImportLineError(f"{where}.role: must be 'prompter' or 'assistant'")
        if parent is None and role != "prompter":
            raise ImportLineError(f"{where}.role: the first message of a tree is the prompter's")
        if parent is not None and role == parent.role:
            raise ImportLineError(
                f"{where}.role: a {role} message cannot reply to a {role} message"
            )
        lang = node.get("lang")
        rank = node.get("rank")
        model_name = node.get("model_name")
        message = ImportMessage(
            origin_id=message_id,
            parent_origin_id=expected_parent,
            depth=depth,
            role=role,
            text=clean_string(node.get("text"), f"{where}.text"),
            lang=clean_string(lang, f"{where}.lang", max_length=MAX_LANG_LENGTH)
            if lang is not None
            else tree_lang,
            review_count=_count(node.get("review_count", 0), f"{where}.review_count"),
            review_result=_optional_bool(node, "review_result", where, None),
            deleted=bool(_optional_bool(node, "deleted", where, False)),
            rank=_count(rank, f"{where}.rank") if rank is not None else None,
            synthetic=bool(_optional_bool(node, "synthetic", where, False)),
            model_name=clean_string(
                model_name, f"{where}.model_name", max_length=MAX_MODEL_NAME_LENGTH
            )
            if model_name is not None
            else "",
            created_at=_created(node.get("created_date"), f"{where}.created_date"),
            labels=_labels(node.get("labels"), f"{where}.labels"),
            emojis=_emojis(node.get("emojis"), f"{where}.emojis"),
        )
        messages.append(message)
        replies = node.get("replies")
        if replies is None:
            continue
        if not isinstance(replies, list):
            raise ImportLineError(f"{where}.replies: must be a list")
        for index in range(len(replies) - 1, -1, -1):
            stack.append((replies[index], f"{where}.replies[{index}]", message, depth + 1))
    return ImportTree(origin_id=tree_id, lang=tree_lang, messages=messages)
