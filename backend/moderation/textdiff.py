"""A word-level difference of two texts, for moderators deciding a suggested edit.

Pure: two strings in, a list of ``(operation, text)`` pieces out, where operation is
``equal``, ``delete`` (only in the old text) or ``insert`` (only in the new one).
Joining the ``equal`` and ``delete`` pieces gives the old text back, joining the
``equal`` and ``insert`` pieces the new one; whitespace is kept with the words.
"""

from __future__ import annotations

import difflib
import re

_TOKENS = re.compile(r"\s+|[^\s]+")


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    before, after = _tokens(old), _tokens(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    pieces: list[tuple[str, str]] = []

    def add(operation: str, text: str) -> None:
        if not text:
            return
        if pieces and pieces[-1][0] == operation:
            pieces[-1] = (operation, pieces[-1][1] + text)
        else:
            pieces.append((operation, text))

    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            add("equal", "".join(before[a_start:a_end]))
            continue
        add("delete", "".join(before[a_start:a_end]))
        add("insert", "".join(after[b_start:b_end]))
    return pieces
