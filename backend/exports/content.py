"""Content hashes of conversation trees: how an import recognises trees already here.

Pure functions. A message's *path hash* covers its role and text (surrounding and
repeated whitespace ignored) and the path hash of its parent, so it names "this text,
said by this role, after exactly this conversation". A tree is the set of its path
hashes; its *content hash* is the hash of that set, independent of ids, order of
replies, dates, labels and anything else an export may rename or anonymise.

An imported tree is already here when an existing tree of the project has the same
content hash, or holds every one of its path hashes (an export that left out deleted
or rejected replies gives back a part of the tree it came from), or — for a tree with
PII masks in its texts — holds it with each mask standing for some text (``tree_within``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable

from backend.exports.formats.build import PII_MASK
from backend.quality.signals.pii import MASKS


def normalise(text: str) -> str:
    return " ".join(text.split())


def path_hashes(messages: Iterable[tuple[Hashable, Hashable | None, str, str]]) -> set[str]:
    """``messages`` are ``(key, parent_key, role, text)``, parents before replies.

    A message whose parent is not among them is hashed as a root."""
    by_key: dict[Hashable, str] = {}
    for key, parent_key, role, text in messages:
        parent = by_key.get(parent_key, "") if parent_key is not None else ""
        digest = hashlib.sha256(f"{parent}\x1f{role}\x1f{normalise(text)}".encode()).hexdigest()
        by_key[key] = digest
    return set(by_key.values())


def content_hash(paths: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(paths)).encode()).hexdigest()


# --- Texts with PII masks -------------------------------------------------------------
# An export with ``pii=mask`` (the default) replaces personal data with its kind's mask.
# Imported back, such a text is the original with spans unknown: each mask stands for
# one or more characters of the text already here.

MASK_TOKENS = (*MASKS.values(), PII_MASK)
_MASK = re.compile("|".join(re.escape(token) for token in MASK_TOKENS))

Node = tuple[Hashable, Hashable | None, str, str]  # (key, parent key, role, text)


def has_mask(text: str) -> bool:
    return _MASK.search(text) is not None


def unmasked_prefix(text: str) -> str:
    """The text before its first mask (whitespace as written)."""
    found = _MASK.search(text)
    return text[: found.start()] if found else text


def _matcher(text: str) -> Callable[[str], bool]:
    wanted = normalise(text)
    if not has_mask(wanted):
        return lambda other: normalise(other) == wanted
    pattern = re.compile(
        ".+?".join(re.escape(part) for part in _MASK.split(wanted)), flags=re.DOTALL
    )
    return lambda other: pattern.fullmatch(normalise(other)) is not None


def tree_within(incoming: Iterable[Node], existing: Iterable[Node]) -> bool:
    """Whether every incoming message (parents first) has a counterpart in ``existing``
    under its parent's counterpart, with the same role and the same text, a mask in an
    incoming text matching any non-empty span."""
    children: dict[Hashable | None, list[tuple[Hashable, str, str]]] = {}
    existing = list(existing)
    keys = {key for key, _, _, _ in existing}
    for key, parent, role, text in existing:
        children.setdefault(parent if parent in keys else None, []).append((key, role, text))
    matched: dict[Hashable, set[Hashable]] = {}
    for key, parent, role, text in incoming:
        parents: set[Hashable | None] = {None} if parent is None else set(matched.get(parent, ()))
        matches = _matcher(text)
        found = {
            other
            for place in parents
            for other, other_role, other_text in children.get(place, ())
            if other_role == role and matches(other_text)
        }
        if not found:
            return False
        matched[key] = found
    return True
