"""The messages table as Parquet, laid out like the oasst1/oasst2 Parquet files.

One row per exported message, the ``oasst-messages`` fields as typed columns:
``created_date`` a UTC timestamp, ``rank`` and ``review_count`` int32, ``emojis`` a
struct of parallel lists ``{name, count}`` and ``labels`` ``{name, value, count}`` (as
in the published oasst datasets), null where the JSON omits the field. ``events``, when
asked for, is a JSON text column (its shape varies by event type). With quality (the
default) the quality object's fields follow as typed columns (``QUALITY_COLUMNS``,
``quality_pii_types`` and ``quality_flags`` lists of strings) and ``quality``, the
whole object as JSON text; null for messages without stored signals.
With consensus (the default) four typed columns follow — ``consensus_rank`` (int32),
``consensus_score``, ``rank_confidence`` (float64) and ``ranking_voters`` (int32) — and
``consensus``, the whole consensus object (labels with intervals, acceptance, …) as JSON
text, as in ``oasst-messages``.
Rows are buffered and written as row groups of ``ROW_GROUP_ROWS``, so memory stays
bounded whatever the size of the export.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from backend.exports.formats.records import ExportTree

ROW_GROUP_ROWS = 50_000

EMOJIS_TYPE = pa.struct([("name", pa.list_(pa.string())), ("count", pa.list_(pa.int32()))])
LABELS_TYPE = pa.struct(
    [
        ("name", pa.list_(pa.string())),
        ("value", pa.list_(pa.float64())),
        ("count", pa.list_(pa.int32())),
    ]
)


# Typed consensus columns: (column, key of the consensus object, type).
CONSENSUS_COLUMNS = (
    ("consensus_rank", "rank", pa.int32()),
    ("consensus_score", "score", pa.float64()),
    ("rank_confidence", "rank_confidence", pa.float64()),
    ("ranking_voters", "ranking_voters", pa.int32()),
)


# Typed quality columns: (column, path into the quality object, type).
QUALITY_COLUMNS: tuple[tuple[str, tuple[str, ...], pa.DataType], ...] = (
    ("quality_lang", ("lang", "detected"), pa.string()),
    ("quality_lang_confidence", ("lang", "confidence"), pa.float64()),
    ("quality_lang_mismatch", ("lang", "mismatch"), pa.bool_()),
    ("quality_toxicity", ("toxicity", "score"), pa.float64()),
    ("quality_toxicity_model", ("toxicity", "model"), pa.string()),
    ("quality_near_duplicate_of", ("near_duplicate_of",), pa.string()),
    ("quality_similarity", ("similarity",), pa.float64()),
    ("quality_leakage_eval_set", ("leakage", "eval_set"), pa.string()),
    ("quality_leakage_score", ("leakage", "score"), pa.float64()),
)
# Lists: the PII types found (one entry per span) and the flags raised.
QUALITY_LIST_COLUMNS = ("quality_pii_types", "quality_flags")


def _quality_value(quality: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = quality
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parquet_schema(
    *, with_labels: bool, with_events: bool, with_quality: bool, with_consensus: bool = False
) -> pa.Schema:
    fields = [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("created_date", pa.timestamp("us", tz="UTC")),
        pa.field("text", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("review_count", pa.int32()),
        pa.field("review_result", pa.bool_()),
        pa.field("deleted", pa.bool_()),
        pa.field("rank", pa.int32()),
        pa.field("synthetic", pa.bool_()),
        pa.field("model_name", pa.string()),
        pa.field("message_tree_id", pa.string(), nullable=False),
        pa.field("tree_state", pa.string()),
        pa.field("emojis", EMOJIS_TYPE),
    ]
    if with_labels:
        fields.append(pa.field("labels", LABELS_TYPE))
    if with_events:
        fields.append(pa.field("events", pa.string()))
    if with_quality:
        fields.extend(pa.field(name, kind) for name, _, kind in QUALITY_COLUMNS)
        fields.extend(pa.field(name, pa.list_(pa.string())) for name in QUALITY_LIST_COLUMNS)
        fields.append(pa.field("quality", pa.string()))
    if with_consensus:
        fields.extend(pa.field(name, kind) for name, _, kind in CONSENSUS_COLUMNS)
        fields.append(pa.field("consensus", pa.string()))
    return pa.schema(fields)


class MessagesParquetWriter:
    """Streams export trees into a Parquet file, one row group per ``ROW_GROUP_ROWS``."""

    def __init__(self, sink: str | BinaryIO, schema: pa.Schema) -> None:
        self.schema = schema
        self._names = schema.names
        self._columns: dict[str, list[Any]] = {name: [] for name in self._names}
        self._buffered = 0
        self._writer = pq.ParquetWriter(sink, schema, compression="zstd")
        self.rows = 0

    def write_tree(self, tree: ExportTree) -> int:
        columns = self._columns
        has_labels = "labels" in columns
        has_events = "events" in columns
        has_quality = "quality" in columns
        has_consensus = "consensus" in columns
        written = 0
        for node in tree.nodes():
            columns["message_id"].append(node.message_id)
            columns["parent_id"].append(node.parent_id)
            columns["user_id"].append(node.user_id)
            columns["created_date"].append(node.created_at)
            columns["text"].append(node.text)
            columns["role"].append(node.role)
            columns["lang"].append(node.lang)
            columns["review_count"].append(node.review_count)
            columns["review_result"].append(node.review_result)
            columns["deleted"].append(node.deleted)
            columns["rank"].append(node.rank)
            columns["synthetic"].append(node.synthetic)
            columns["model_name"].append(node.model_name)
            columns["message_tree_id"].append(tree.message_tree_id)
            columns["tree_state"].append(tree.tree_state)
            if node.emojis:
                names = sorted(node.emojis)
                columns["emojis"].append({"name": names, "count": [node.emojis[n] for n in names]})
            else:
                columns["emojis"].append(None)
            if has_labels:
                if node.labels:
                    names = sorted(node.labels)
                    columns["labels"].append(
                        {
                            "name": names,
                            "value": [node.labels[n]["value"] for n in names],
                            "count": [node.labels[n]["count"] for n in names],
                        }
                    )
                else:
                    columns["labels"].append(None)
            if has_events:
                columns["events"].append(
                    orjson.dumps(node.events).decode() if node.events else None
                )
            if has_quality:
                quality = node.quality
                for name, path, _ in QUALITY_COLUMNS:
                    columns[name].append(_quality_value(quality, path) if quality else None)
                if quality:
                    pii = quality.get("pii")
                    columns["quality_pii_types"].append(
                        [span["type"] for span in pii] if isinstance(pii, list) else None
                    )
                    flags = quality.get("flags")
                    columns["quality_flags"].append(
                        list(flags) if isinstance(flags, list) else None
                    )
                    columns["quality"].append(orjson.dumps(quality).decode())
                else:
                    columns["quality_pii_types"].append(None)
                    columns["quality_flags"].append(None)
                    columns["quality"].append(None)
            if has_consensus:
                consensus = node.consensus
                for name, key, _ in CONSENSUS_COLUMNS:
                    columns[name].append(consensus.get(key) if consensus else None)
                columns["consensus"].append(orjson.dumps(consensus).decode() if consensus else None)
            written += 1
        self._buffered += written
        self.rows += written
        if self._buffered >= ROW_GROUP_ROWS:
            self.flush()
        return written

    def flush(self) -> None:
        if not self._buffered:
            return
        table = pa.Table.from_pydict(self._columns, schema=self.schema)
        self._writer.write_table(table, row_group_size=max(self._buffered, 1))
        self._columns = {name: [] for name in self._names}
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        self._writer.close()
