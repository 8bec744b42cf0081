"""Parse one ShareGPT-style conversation into a linear import tree.

Accepted shapes: ``{"id"?, "lang"?, "model"?, "conversations"|"messages": [turn, ...]}``
or a bare list of turns, each turn ``{"from"|"role": ..., "value"|"content": ...}``.
``human``/``user`` turns become prompter messages and ``gpt``/``assistant`` (also
``chatgpt``, ``bard``, ``bing``, ``model``) assistant messages. The conversation must
start with the user and alternate; ``system`` turns are refused (Arbor trees have no
place for them). Every turn is stored as accepted (``review_result`` true). When the
item names a ``model``, its assistant turns are marked synthetic with that model name.

Ids: the tree's origin id is a UUID derived from the item's ``id`` (or, without one,
from its turns), each message's from the tree's and its position, so importing the
same conversation twice finds the first import.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from backend.exports.formats.oasst_import import (
    MAX_LANG_LENGTH,
    MAX_MODEL_NAME_LENGTH,
    MAX_TREE_MESSAGES,
    clean_string,
)
from backend.exports.formats.records import ImportLineError, ImportMessage, ImportTree

# Fixed namespace for the derived ids; changing it would break duplicate detection.
SHAREGPT_NAMESPACE = uuid.UUID("6f1d7a52-3c4b-4f0e-9a57-2b8f4c1e9d30")

USER_ROLES = {"human", "user", "prompter"}
ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "bard", "bing", "model"}


def _turns(record: Any) -> list[Any]:
    if isinstance(record, list):
        return record
    if isinstance(record, dict):
        for key in ("conversations", "messages", "conversation"):
            if key in record:
                turns = record[key]
                if not isinstance(turns, list):
                    raise ImportLineError(f"{key}: must be a list of turns")
                return turns
    raise ImportLineError('expected {"conversations": [...]} or a list of turns')


def parse_sharegpt(record: Any, *, default_lang: str) -> ImportTree:
    turns = _turns(record)
    if not turns:
        raise ImportLineError("the conversation has no turns")
    if len(turns) > MAX_TREE_MESSAGES:
        raise ImportLineError(f"the conversation has more than {MAX_TREE_MESSAGES} turns")
    options = record if isinstance(record, dict) else {}
    lang = options.get("lang")
    lang = (
        clean_string(lang, "lang", max_length=MAX_LANG_LENGTH) if lang is not None else default_lang
    )
    model = options.get("model")
    model_name = (
        clean_string(model, "model", max_length=MAX_MODEL_NAME_LENGTH) if model is not None else ""
    )

    parsed: list[tuple[str, str]] = []
    for index, item in enumerate(turns):
        where = f"turn {index + 1}"
        if not isinstance(item, dict):
            raise ImportLineError(f"{where}: must be an object {{from, value}}")
        speaker = item.get("from", item.get("role"))
        text = item.get("value", item.get("content"))
        if not isinstance(speaker, str):
            raise ImportLineError(f'{where}: needs "from" (or "role")')
        speaker = speaker.strip().lower()
        if speaker == "system":
            raise ImportLineError(f"{where}: system turns are not supported")
        if speaker in USER_ROLES:
            role = "prompter"
        elif speaker in ASSISTANT_ROLES:
            role = "assistant"
        else:
            raise ImportLineError(f"{where}: unknown speaker {speaker!r}")
        expected = "prompter" if index % 2 == 0 else "assistant"
        if role != expected:
            raise ImportLineError(
                f"{where}: expected {'a user' if expected == 'prompter' else 'an assistant'} turn "
                "(turns alternate, starting with the user)"
            )
        parsed.append((role, clean_string(text, f"{where} text")))

    source_id = options.get("id")
    if isinstance(source_id, str | int) and not isinstance(source_id, bool) and str(source_id):
        key = f"id:{source_id}"
    else:
        key = "turns:" + json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    tree_origin = str(uuid.uuid5(SHAREGPT_NAMESPACE, key))

    messages: list[ImportMessage] = []
    parent: str | None = None
    for depth, (role, text) in enumerate(parsed):
        origin = str(uuid.uuid5(SHAREGPT_NAMESPACE, f"{tree_origin}/{depth}"))
        is_model_turn = role == "assistant" and bool(model_name)
        messages.append(
            ImportMessage(
                origin_id=origin,
                parent_origin_id=parent,
                depth=depth,
                role=role,
                text=text,
                lang=lang,
                review_result=True,
                synthetic=is_model_turn,
                model_name=model_name if is_model_turn else "",
            )
        )
        parent = origin
    return ImportTree(origin_id=tree_origin, lang=lang, messages=messages)
