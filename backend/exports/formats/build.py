"""Turn one batch of database rows into export trees: filtering, ids, labels, PII.

Pure: the rows come in as tuples (see ``MESSAGE_COLUMNS``), the trees go out as
``ExportTree``; nothing here touches the database, so the rules are tested directly.

Rules, in the order they apply to each message, root first:
- a message that is left out (deleted, rejected, synthetic — unless included — or
  PII-flagged with ``pii="exclude"``) takes its whole subtree with it: a reply is
  meaningless without what it replies to. A tree whose root is left out has no line;
- replies are sorted best rank first, unranked last (by Arbor id among themselves);
- ``labels`` merge the votes (mean, count) with imported aggregates, weighted by count;
- a message is PII-flagged when its merged ``pii`` label is at least
  ``PII_LABEL_THRESHOLD`` or when the configured detector says so; ``pii="mask"``
  replaces the detected spans (or the whole text) with ``PII_MASK``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.exports.formats.anonymize import IdMapper
from backend.exports.formats.records import ExportNode, ExportTree

# The columns the selector reads for each message, in this order.
MESSAGE_COLUMNS = (
    "pk",
    "tree_id",
    "parent_id",
    "author_id",
    "created_at",
    "text",
    "role",
    "lang",
    "review_count",
    "review_result",
    "rank",
    "is_deleted",
    "synthetic",
    "model_name",
    "origin_id",
)
TREE_COLUMNS = ("pk", "state", "lang", "origin_id", "root_id")

PII_LABEL = "pii"
PII_LABEL_THRESHOLD = 0.5
PII_MASK = "[PII]"

PiiDetector = Callable[[str], bool | Sequence[tuple[int, int]]]


class PiiPolicy:
    MASK = "mask"
    EXCLUDE = "exclude"
    KEEP = "keep"
    CHOICES = (MASK, EXCLUDE, KEEP)


@dataclass(slots=True)
class BatchRows:
    """What the selector read for one batch of trees."""

    trees: list[tuple[Any, ...]]  # TREE_COLUMNS
    messages: list[tuple[Any, ...]]  # MESSAGE_COLUMNS
    # (message pk, label, mean of the votes, number of votes)
    label_means: list[tuple[int, str, float | None, int]] = field(default_factory=list)
    # (message pk, label, imported mean, imported count)
    imported_labels: list[tuple[int, str, float | None, int]] = field(default_factory=list)
    # (message pk, emoji, count)
    reaction_counts: list[tuple[int, str, int]] = field(default_factory=list)
    imported_emojis: list[tuple[int, str, int]] = field(default_factory=list)
    # Raw votes, read only for ``events``: (message pk, user pk, label, value, created)
    label_votes: list[tuple[int, int, str, float, datetime]] = field(default_factory=list)
    # (message pk, user pk, emoji, created)
    reactions: list[tuple[int, int, str, datetime]] = field(default_factory=list)
    # (parent pk, user pk, ranking as message pks best first, created); read for
    # ``events`` and for the agreement of preference pairs.
    ranking_votes: list[tuple[int, int, list[int], datetime]] = field(default_factory=list)
    # Quality signals by message pk, from the configured provider (empty without one).
    quality: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Consensus results by message pk, in the compact shape of
    # ``backend.consensus.selectors.consensus_extras_build`` (known fields only), for the
    # messages that have one; empty when the export leaves consensus out.
    consensus: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BuildSettings:
    ids: IdMapper
    include_deleted: bool = False
    include_rejected: bool = False
    include_synthetic: bool = False
    with_labels: bool = True
    with_events: bool = False
    pii: str = PiiPolicy.MASK
    pii_detector: PiiDetector | None = None


def merge_labels(
    label_means: list[tuple[int, str, float | None, int]],
    imported: list[tuple[int, str, float | None, int]],
) -> dict[int, dict[str, dict[str, Any]]]:
    """``{message pk: {label: {"value": mean, "count": n}}}`` over votes and imports.

    The merged value is the count-weighted mean of the parts that have a value; the
    count is the sum of all parts (Open-Assistant allows a null value with a count).
    Labels are in name order when ``label_means`` comes sorted by (message, label), as
    the selector reads it.
    """
    merged: dict[int, dict[str, dict[str, Any]]] = {}
    if not imported:  # the common case, on the hot path of every export
        for message_pk, label, value, count in label_means:
            entry = merged.get(message_pk)
            if entry is None:
                merged[message_pk] = entry = {}
            entry[label] = {"value": value, "count": count}
        return merged
    parts: dict[int, dict[str, list[tuple[float | None, int]]]] = {}
    for message_pk, label, value, count in label_means:
        parts.setdefault(message_pk, {}).setdefault(label, []).append((value, count))
    for message_pk, label, value, count in imported:
        parts.setdefault(message_pk, {}).setdefault(label, []).append((value, count))
    for message_pk, by_label in parts.items():
        out: dict[str, dict[str, Any]] = {}
        for label in sorted(by_label):
            pieces = by_label[label]
            total = sum(count for _, count in pieces)
            weighted = [(value, count) for value, count in pieces if value is not None]
            weight = sum(count for _, count in weighted)
            if len(pieces) == 1:
                merged_value = pieces[0][0]
            elif weight:
                merged_value = sum(value * count for value, count in weighted) / weight  # type: ignore[operator]
            else:
                merged_value = None
            out[label] = {"value": merged_value, "count": total}
        merged[message_pk] = out
    return merged


def mask_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Replace each ``[start, end)`` span (merged where they overlap) with ``PII_MASK``."""
    cleaned = sorted((max(0, start), min(len(text), end)) for start, end in spans if end > start)
    merged: list[list[int]] = []
    for start, end in cleaned:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces.append(text[position:start])
        pieces.append(PII_MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _pii_verdict(
    text: str, labels: dict[str, dict[str, Any]] | None, detector: PiiDetector | None
) -> bool | Sequence[tuple[int, int]]:
    """True (whole message), a list of spans, or False."""
    if labels is not None:
        pii = labels.get(PII_LABEL)
        if pii is not None and pii["value"] is not None and pii["value"] >= PII_LABEL_THRESHOLD:
            return True
    if detector is None:
        return False
    verdict = detector(text)
    if isinstance(verdict, bool):
        return verdict
    spans = list(verdict)
    return spans if spans else False


EMPTY: dict[str, int] = {}


def build_trees(rows: BatchRows, settings: BuildSettings) -> list[ExportTree]:
    """The export trees of one batch, in the order of ``rows.trees``.

    This runs once per exported message, so it is written for speed: one pass, local
    names, positional construction, and one keyed hash per included message (a reply's
    ``parent_id`` is its parent node's id; people's ids are cached per batch).
    """
    ids = settings.ids
    by_tree: dict[int, list[tuple[Any, ...]]] = {}
    for message in rows.messages:
        tree_messages = by_tree.get(message[1])
        if tree_messages is None:
            by_tree[message[1]] = [message]
        else:
            tree_messages.append(message)

    labels = merge_labels(rows.label_means, rows.imported_labels)
    emojis: dict[int, dict[str, int]] = {}
    for message_pk, emoji, count in rows.reaction_counts:
        emojis.setdefault(message_pk, {})[emoji] = count
    for message_pk, emoji, count in rows.imported_emojis:
        per_message = emojis.setdefault(message_pk, {})
        per_message[emoji] = per_message.get(emoji, 0) + count

    people: dict[int, str] = {}

    def person(user_pk: int) -> str:
        found = people.get(user_pk)
        if found is None:
            people[user_pk] = found = ids("user", str(user_pk))
        return found

    rankings: dict[int, list[tuple[int, list[int], datetime]]] = {}
    for parent_pk, user_pk, ranking, created in rows.ranking_votes:
        rankings.setdefault(parent_pk, []).append((user_pk, list(ranking), created))
    with_events = settings.with_events
    label_events: dict[int, list[dict[str, Any]]] = {}
    emoji_events: dict[int, list[dict[str, Any]]] = {}
    if with_events:
        for message_pk, user_pk, label, value, created in rows.label_votes:
            label_events.setdefault(message_pk, []).append(
                {
                    "type": "label",
                    "user_id": person(user_pk),
                    "created_date": created,
                    "label": label,
                    "value": value,
                }
            )
        for message_pk, user_pk, emoji, created in rows.reactions:
            emoji_events.setdefault(message_pk, []).append(
                {
                    "type": "emoji",
                    "user_id": person(user_pk),
                    "created_date": created,
                    "emoji": emoji,
                }
            )

    include_deleted = settings.include_deleted
    include_rejected = settings.include_rejected
    include_synthetic = settings.include_synthetic
    with_labels = settings.with_labels
    check_pii = settings.pii != PiiPolicy.KEEP
    exclude_pii = settings.pii == PiiPolicy.EXCLUDE
    detector = settings.pii_detector
    quality = rows.quality
    consensus = rows.consensus
    no_rankings: list[list[int]] = []

    trees: list[ExportTree] = []
    for tree_pk, state, lang, origin_id, root_pk in rows.trees:
        messages = by_tree.get(tree_pk)
        if not messages:
            continue
        tree_id = ids("tree", origin_id or str(tree_pk))
        children: dict[int, list[tuple[Any, ...]]] = {}
        roots: list[tuple[Any, ...]] = []
        for message in messages:
            parent_pk = message[2]
            if parent_pk is None:
                roots.append(message)
            else:
                siblings = children.get(parent_pk)
                if siblings is None:
                    children[parent_pk] = [message]
                else:
                    siblings.append(message)
        if not roots:
            continue
        root = next((message for message in roots if message[0] == root_pk), None) or min(
            roots, key=_sibling_order
        )
        root_node: ExportNode | None = None
        preorder: list[ExportNode] = []
        stack: list[tuple[tuple[Any, ...], ExportNode | None]] = [(root, None)]
        while stack:
            message, parent_node = stack.pop()
            (
                pk,
                _,
                parent_pk,
                author_pk,
                created_at,
                text,
                role,
                message_lang,
                review_count,
                review_result,
                rank,
                is_deleted,
                synthetic,
                model_name,
                message_origin,
            ) = message
            # Left out, with the replies below it (they are never pushed).
            if is_deleted and not include_deleted:
                continue
            if review_result is False and not include_rejected:
                continue
            if synthetic and not include_synthetic:
                continue
            message_labels = labels.get(pk)
            if check_pii and (
                detector is not None or (message_labels is not None and PII_LABEL in message_labels)
            ):
                verdict = _pii_verdict(text, message_labels, detector)
                if verdict is not False:
                    if exclude_pii:
                        continue
                    text = PII_MASK if verdict is True else mask_spans(text, verdict)  # type: ignore[arg-type]
            node = ExportNode(
                pk,
                parent_pk,
                ids("message", message_origin or str(pk)),
                parent_node.message_id if parent_node is not None else None,
                person(author_pk) if author_pk is not None else None,
                created_at,
                text,
                role,
                message_lang,
                review_count,
                review_result,
                is_deleted,
                rank,
                synthetic,
                model_name or None,
                emojis.get(pk, EMPTY),
                message_labels if with_labels else None,
                None,
                quality.get(pk) if quality else None,
                [],
                [ranking for _, ranking, _ in rankings[pk]] if pk in rankings else no_rankings,
                consensus.get(pk) if consensus else None,
            )
            preorder.append(node)
            if with_events:
                node.events = (
                    _events(
                        node, messages, label_events, emoji_events, rankings, ids, person, tree_id
                    )
                    or None
                )
            if parent_node is None:
                root_node = node
            else:
                parent_node.children.append(node)
            replies = children.get(pk)
            if replies:
                if len(replies) > 1:
                    replies.sort(key=_sibling_order)
                for reply in reversed(replies):
                    stack.append((reply, node))
        if root_node is not None:
            trees.append(ExportTree(tree_id, state, lang, root_node, len(preorder), preorder))
    return trees


def _sibling_order(message: tuple[Any, ...]) -> tuple[bool, int, int]:
    rank = message[10]
    return (rank is None, rank if rank is not None else 0, message[0])


def _events(
    node: ExportNode,
    tree_messages: list[tuple[Any, ...]],
    label_events: dict[int, list[dict[str, Any]]],
    emoji_events: dict[int, list[dict[str, Any]]],
    rankings: dict[int, list[tuple[int, list[int], datetime]]],
    ids: IdMapper,
    person: Callable[[int], str],
    tree_id: str,
) -> dict[str, list[dict[str, Any]]]:
    events: dict[str, list[dict[str, Any]]] = {}
    if node.pk in emoji_events:
        events["emoji"] = emoji_events[node.pk]
    if node.pk in label_events:
        events["label"] = label_events[node.pk]
    if node.pk in rankings:
        # Ranked messages may be left out of the export (deleted since): their ids are
        # still the ones they would have, from their origin id when they have one.
        origins = {message[0]: message[14] for message in tree_messages}
        events["ranking"] = [
            {
                "type": "ranking",
                "user_id": person(user_pk),
                "created_date": created,
                # Open-Assistant's ``ranking`` indexes into ``ranked_message_ids``;
                # Arbor stores the ids already ordered, best first.
                "ranking": list(range(len(ranking))),
                "ranked_message_ids": [
                    ids("message", origins.get(message_pk) or str(message_pk))
                    for message_pk in ranking
                ],
                "ranking_parent_id": node.message_id,
                "message_tree_id": tree_id,
            }
            for user_pk, ranking, created in rankings[node.pk]
        ]
    return events
