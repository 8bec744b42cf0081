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
  ``PII_LABEL_THRESHOLD``, when the quality app detected PII spans in it (stored, or
  found on the fly by ``BuildSettings.find_pii`` for a message whose signals are not
  computed yet) or when the configured detector says so. ``pii="mask"`` replaces typed
  spans with their typed mask (``[EMAIL]``, ``[PHONE]``, … from
  ``backend.quality.signals.pii``), the detector's untyped spans with ``PII_MASK``, and
  a message flagged by people as a whole with ``PII_MASK``; ``pii="exclude"`` leaves
  it out;
- the quality filters (``exclude_near_duplicates``, ``exclude_leaked``,
  ``exclude_lang_mismatch``, ``max_toxicity``) leave a message out by its quality
  object, with its subtree like every other exclusion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.exports.formats.anonymize import IdMapper
from backend.exports.formats.records import ExportNode, ExportTree
from backend.quality.signals.pii import MASKS, PiiSpan, mask

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
# ``find_pii(text, lang=...)``: typed spans of a message whose stored signals are missing.
PiiFinder = Callable[..., list[PiiSpan]]
ALL_EVAL_SETS = "all"


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
    # Quality objects by message pk (the quality app's contract object), for the
    # messages that have stored signals; their ``pii`` (null: not computed) is what
    # masking reads. Empty when neither the ``quality`` key, nor a quality filter, nor
    # PII masking needs them. A message without computed PII has it found on the fly.
    quality: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Origin ids of the messages that quality objects name as ``near_duplicate_of``
    # (pk → origin id, "" for Arbor's own), so the reference gets an export id.
    duplicate_origins: dict[int, str] = field(default_factory=dict)
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
    # Finds PII in a message with no stored spans (``backend.quality.signals.pii.find_pii``);
    # None: only stored spans, labels and the detector count.
    find_pii: PiiFinder | None = None
    with_quality: bool = True
    exclude_near_duplicates: bool = False
    exclude_leaked: str | None = None  # an eval set's name, ALL_EVAL_SETS, or None
    exclude_lang_mismatch: bool = False
    max_toxicity: float | None = None

    @property
    def quality_filters(self) -> bool:
        return (
            self.exclude_near_duplicates
            or self.exclude_leaked is not None
            or self.exclude_lang_mismatch
            or self.max_toxicity is not None
        )


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


def _flags(payload: dict[str, Any]) -> list[str]:
    flags = payload.get("flags")
    return flags if isinstance(flags, list) else []


def _nested(payload: dict[str, Any], key: str, name: str) -> Any:
    part = payload.get(key)
    return part.get(name) if isinstance(part, dict) else None


def quality_excludes(payload: dict[str, Any] | None, settings: BuildSettings) -> bool:
    """Whether the quality filters leave this message out (never without a quality object).

    - ``exclude_near_duplicates``: flagged ``near_duplicate`` or ``exact_duplicate`` (the
      earliest original is never flagged, so it stays);
    - ``exclude_leaked``: flagged ``leakage``, by any eval set (``"all"``) or the named one;
    - ``exclude_lang_mismatch``: flagged ``lang_mismatch``;
    - ``max_toxicity``: a toxicity score above it (no score — no model for the language —
      is kept).
    """
    if not payload:
        return False
    flags = _flags(payload)
    if settings.exclude_near_duplicates and (
        "near_duplicate" in flags or "exact_duplicate" in flags
    ):
        return True
    leaked = settings.exclude_leaked
    if (
        leaked is not None
        and "leakage" in flags
        and (leaked == ALL_EVAL_SETS or _nested(payload, "leakage", "eval_set") == leaked)
    ):
        return True
    if settings.exclude_lang_mismatch and "lang_mismatch" in flags:
        return True
    if settings.max_toxicity is not None:
        score = _nested(payload, "toxicity", "score")
        if isinstance(score, int | float) and score > settings.max_toxicity:
            return True
    return False


def stored_pii(payload: dict[str, Any] | None) -> list[PiiSpan] | None:
    """The PII spans of a quality object; None when PII was not computed."""
    if not payload:
        return None
    spans = payload.get("pii")
    if not isinstance(spans, list):
        return None
    return [PiiSpan(span["type"], span["start"], span["end"]) for span in spans]


def mask_pii(
    text: str, typed: Sequence[PiiSpan], untyped: Sequence[tuple[int, int]] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """``text`` with every span masked, and the typed masks' spans in the masked text.

    Typed spans become their type's mask (``backend.quality.signals.pii.mask``); the
    detector hook's untyped spans ``PII_MASK``. Where spans overlap they are merged, the
    earliest span's mask standing for the whole.
    """
    spans = sorted(
        [
            (max(0, span.start), min(len(text), span.end), span.type)
            for span in typed
            if span.end > span.start
        ]
        + [(max(0, start), min(len(text), end), "") for start, end in untyped if end > start]
    )
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, kind])
    if not any(kind == "" for _, _, kind in merged) and all(kind in MASKS for _, _, kind in merged):
        masked = mask(text, [PiiSpan(kind, start, end) for start, end, kind in merged])
    else:
        masked = _mask_merged(text, merged)
    positions: list[dict[str, Any]] = []
    shift = 0
    for start, end, kind in merged:
        token = MASKS.get(kind, PII_MASK) if kind else PII_MASK
        if kind:
            positions.append(
                {"type": kind, "start": start + shift, "end": start + shift + len(token)}
            )
        shift += len(token) - (end - start)
    return masked, positions


def _mask_merged(text: str, merged: list[list[Any]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end, kind in merged:
        pieces.append(text[position:start])
        pieces.append(MASKS.get(kind, PII_MASK) if kind else PII_MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


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
    find_pii = settings.find_pii
    quality = rows.quality
    with_quality = settings.with_quality
    quality_filters = settings.quality_filters
    duplicate_origins = rows.duplicate_origins
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
            payload = quality.get(pk) if quality else None
            if quality_filters and quality_excludes(payload, settings):
                continue
            message_labels = labels.get(pk)
            pii_positions: list[dict[str, Any]] | None = None
            if check_pii:
                verdict: bool | Sequence[tuple[int, int]] = False
                if detector is not None or (
                    message_labels is not None and PII_LABEL in message_labels
                ):
                    verdict = _pii_verdict(text, message_labels, detector)
                typed: list[PiiSpan] | None = None
                if verdict is not True:
                    typed = stored_pii(payload)
                    if typed is None and find_pii is not None:
                        typed = find_pii(text, lang=message_lang)
                if verdict is not False or typed:
                    if exclude_pii:
                        continue
                    if verdict is True:
                        text = PII_MASK
                        pii_positions = []
                    else:
                        text, pii_positions = mask_pii(
                            text, typed or (), verdict if verdict is not False else ()
                        )
            node_quality: dict[str, Any] | None = None
            if with_quality and payload:
                node_quality = payload
                if pii_positions is not None and isinstance(payload.get("pii"), list):
                    # Spans into the exported text: where the masks stand.
                    node_quality = {**payload, "pii": pii_positions}
                original = payload.get("near_duplicate_of")
                if isinstance(original, int):
                    node_quality = {
                        **node_quality,
                        "near_duplicate_of": ids(
                            "message", duplicate_origins.get(original) or str(original)
                        ),
                    }
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
                node_quality,
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
