"""A project's label schema, checked (pure; docs/projects.md).

Each label: ``name`` (lower-case letters, digits, ``_``), ``kind`` (``flag`` — yes/no —
or ``likert`` — a five-step scale), ``mandatory``, and optionally the words volunteers
see (``question``, ``description``; a scale's ``low`` and ``high`` ends) and
``retired`` (no longer asked; its votes stay). ``spam`` is always asked, as a mandatory
flag. A label that has votes cannot be removed or change kind, only be retired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from backend.common.errors import ArborError

KINDS = ("flag", "likert")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TEXT_LIMITS = {"question": 200, "description": 500, "low": 60, "high": 60}
KEYS = {"name", "kind", "mandatory", "retired", *TEXT_LIMITS}
MAX_LABELS = 40


class SchemaProblems:
    def __init__(self) -> None:
        self.fields: dict[str, list[dict[str, str]]] = {}

    def add(self, path: str, code: str, detail: str) -> None:
        self.fields.setdefault(path, []).append({"code": code, "detail": detail})

    def raise_if_any(self) -> None:
        if self.fields:
            raise ArborError(
                "invalid_label_schema", "The label schema is invalid.", fields=self.fields
            )


def label_schema_clean(
    raw: Any, *, old: Iterable[dict[str, Any]] = (), in_use: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The schema in its stored form, or ``ArborError`` with a problem per field
    (``label_schema.<i>.<key>``)."""
    problems = SchemaProblems()
    if not isinstance(raw, list) or not raw:
        problems.add("label_schema", "invalid", "A list of labels, at least spam.")
        problems.raise_if_any()
    if len(raw) > MAX_LABELS:
        problems.add("label_schema", "too_many", f"At most {MAX_LABELS} labels.")
        problems.raise_if_any()
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, spec in enumerate(raw):
        path = f"label_schema.{index}"
        if not isinstance(spec, dict):
            problems.add(path, "invalid", "Each label is an object.")
            continue
        for key in sorted(set(spec) - KEYS):
            problems.add(f"{path}.{key}", "unknown_key", f"Labels have no {key!r}.")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.add(
                f"{path}.name",
                "invalid",
                "Lower-case letters, digits and _, starting with a letter.",
            )
            continue
        if name in seen:
            problems.add(f"{path}.name", "duplicate", f"{name!r} appears twice.")
            continue
        seen.add(name)
        kind = spec.get("kind")
        if kind not in KINDS:
            problems.add(f"{path}.kind", "invalid_choice", "A label is a flag or a likert scale.")
            continue
        label: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "mandatory": spec.get("mandatory", False),
        }
        for flag in ("mandatory", "retired"):
            if not isinstance(spec.get(flag, False), bool):
                problems.add(f"{path}.{flag}", "invalid", "true or false.")
        if spec.get("retired"):
            label["retired"] = True
        for key, limit in TEXT_LIMITS.items():
            value = spec.get(key)
            if value in (None, ""):
                continue
            if key in ("low", "high") and kind != "likert":
                problems.add(f"{path}.{key}", "not_a_scale", "Only scales have ends.")
            elif not isinstance(value, str) or len(value) > limit:
                problems.add(f"{path}.{key}", "invalid", f"Text of at most {limit} characters.")
            else:
                label[key] = value.strip()
        if name == "spam" and (kind != "flag" or spec.get("retired")):
            problems.add(f"{path}.name", "spam_required", "spam is always asked, as a flag.")
        if name == "spam":
            label["mandatory"] = True
        cleaned.append(label)
    if "spam" not in seen and not problems.fields:
        problems.add("label_schema", "spam_required", "spam is always asked: keep it.")
    used = set(in_use)
    old_kinds = {spec["name"]: spec.get("kind") for spec in old if "name" in spec}
    for name in sorted(used & (set(old_kinds) - seen)):
        problems.add(
            "label_schema",
            "label_in_use",
            f"{name!r} has votes: retire it instead of removing it.",
        )
    for index, label in enumerate(cleaned):
        before = old_kinds.get(label["name"])
        if label["name"] in used and before is not None and before != label["kind"]:
            problems.add(
                f"label_schema.{index}.kind",
                "label_in_use",
                f"{label['name']!r} has votes as a {before}: its kind cannot change.",
            )
    problems.raise_if_any()
    return cleaned
