"""Content hashes of conversation trees: how an import recognises trees already here.

Pure functions. A message's *path hash* covers its role and text (surrounding and
repeated whitespace ignored) and the path hash of its parent, so it names "this text,
said by this role, after exactly this conversation". A tree is the set of its path
hashes; its *content hash* is the hash of that set, independent of ids, order of
replies, dates, labels and anything else an export may rename or anonymise.

An imported tree is already here when an existing tree of the project has the same
content hash, or holds every one of its path hashes (an export that left out deleted
or rejected replies gives back a part of the tree it came from).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable


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
