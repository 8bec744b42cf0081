"""Export formats that are not made of trees: a higher app registers one (name, label,
and the JSON records it writes for a project), and export jobs, the API, the command
and the exports page offer it next to the tree formats. The arena's ``arena-battles``
is one (docs/arena.md); the exports app never imports the apps that register."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# The records of a project (its id) in the given languages (empty: every language).
RecordSource = Callable[[int, tuple[str, ...]], Iterable[dict[str, Any]]]


@dataclass(frozen=True)
class RecordFormat:
    name: str
    label: Any  # str or a lazy translation
    description: Any
    records: RecordSource


_registry: dict[str, RecordFormat] = {}


def record_format_register(spec: RecordFormat) -> RecordFormat:
    existing = _registry.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"export format {spec.name!r} is registered already")
    _registry[spec.name] = spec
    return spec


def record_format(name: str) -> RecordFormat | None:
    return _registry.get(name)


def record_formats() -> list[RecordFormat]:
    return list(_registry.values())
