"""Open-Assistant's export format: trees (nested ``replies``) and flat messages.

Field names, types and order follow Open-Assistant's published schema
(``oasst_data.schemas.ExportMessageNode``): ``message_id, parent_id, user_id,
created_date, text, role, lang, review_count, review_result, deleted, rank, synthetic,
model_name, emojis, replies, labels, events``; null fields are omitted, as
Open-Assistant's exporter does (``exclude_none``). Arbor's extras have keys of their
own: ``quality`` (automatic signals, when a provider is configured) and ``consensus``
(Arbor's consensus results, ``BatchRows.consensus``). ``events`` uses
Open-Assistant's shape ``{type: [event, ...]}`` with a ``type`` and ``user_id`` in each
event, adding ``label`` events (one per raw label vote).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backend.exports.formats.records import ExportNode, ExportTree


def node_fields(node: ExportNode) -> dict[str, Any]:
    """The node's own fields, without ``replies``, in the schema's order.

    ``created_date`` stays a datetime: the JSON encoder (orjson) writes it as ISO 8601,
    exactly as ``isoformat()`` does.
    """
    fields: dict[str, Any] = {"message_id": node.message_id}
    if node.parent_id is not None:
        fields["parent_id"] = node.parent_id
    if node.user_id is not None:
        fields["user_id"] = node.user_id
    fields["created_date"] = node.created_at
    fields["text"] = node.text
    fields["role"] = node.role
    fields["lang"] = node.lang
    fields["review_count"] = node.review_count
    if node.review_result is not None:
        fields["review_result"] = node.review_result
    fields["deleted"] = node.deleted
    if node.rank is not None:
        fields["rank"] = node.rank
    fields["synthetic"] = node.synthetic
    if node.model_name is not None:
        fields["model_name"] = node.model_name
    if node.emojis:
        fields["emojis"] = (
            dict(sorted(node.emojis.items())) if len(node.emojis) > 1 else node.emojis
        )
    return fields


def _extras(node: ExportNode, fields: dict[str, Any]) -> dict[str, Any]:
    if node.labels:
        fields["labels"] = node.labels
    if node.events:
        fields["events"] = node.events
    if node.quality:
        fields["quality"] = node.quality
    if node.consensus:
        fields["consensus"] = node.consensus
    return fields


def tree_record(tree: ExportTree) -> dict[str, Any]:
    """One ``oasst-trees`` line: ``{message_tree_id, tree_state, prompt}``."""
    # Iterative, so a deep tree cannot exhaust the interpreter's stack.
    records: dict[int, dict[str, Any]] = {}
    for node in reversed(tree.nodes()):
        fields = node_fields(node)
        fields["replies"] = [records.pop(child.pk) for child in node.children]
        records[node.pk] = _extras(node, fields)
    return {
        "message_tree_id": tree.message_tree_id,
        "tree_state": tree.tree_state,
        "prompt": records[tree.root.pk],
    }


def message_records(tree: ExportTree) -> Iterator[dict[str, Any]]:
    """The ``oasst-messages`` lines of a tree: its nodes in pre-order, flat."""
    for node in tree.nodes():
        fields = _extras(node, node_fields(node))
        fields["message_tree_id"] = tree.message_tree_id
        fields["tree_state"] = tree.tree_state
        yield fields
