"""Supervised fine-tuning conversations along the best-ranked paths.

From the root, each message is followed by its best reply: the lowest-ranked one when
some replies are ranked, or every reply when none is (an unranked group has no
preferred member, as in Open-Assistant's ``top_k=1`` threads). Each path ends at a
leaf; trailing user turns are dropped, since a conversation teaches the assistant's
last answer; paths left with no assistant turn are skipped, and paths that become the
same conversation after trimming are written once. A line::

    {"message_tree_id", "lang", "messages": [{"role": "user"|"assistant", "content"}]}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backend.exports.formats.preferences import turn
from backend.exports.formats.records import ExportNode, ExportTree


def best_replies(node: ExportNode) -> list[ExportNode]:
    ranked = [child for child in node.children if child.rank is not None]
    if ranked:
        return [min(ranked, key=lambda child: (child.rank, child.pk))]
    return list(node.children)


def sft_records(tree: ExportTree) -> Iterator[dict[str, Any]]:
    seen: set[tuple[int, ...]] = set()
    stack: list[list[ExportNode]] = [[tree.root]]
    while stack:
        path = stack.pop()
        replies = best_replies(path[-1])
        if replies:
            stack.extend([*path, reply] for reply in reversed(replies))
            continue
        while path and path[-1].role != "assistant":
            path = path[:-1]
        key = tuple(node.pk for node in path)
        if not path or key in seen:
            continue
        seen.add(key)
        yield {
            "message_tree_id": tree.message_tree_id,
            "lang": tree.lang,
            "messages": [turn(node) for node in path],
        }
