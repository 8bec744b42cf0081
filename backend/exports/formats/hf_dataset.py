"""A Hugging Face-ready dataset: Parquet splits of four configs and a dataset card, zipped.

The zip holds::

    README.md                                   the dataset card (``hf_card``)
    data/trees/train-00000-of-00001.parquet     one row per tree
    data/messages/train-00000-of-00001.parquet  one row per message (the parquet format)
    data/preferences/train-00000-of-00001.parquet   one row per preference pair
    data/sft/train-00000-of-00001.parquet       one row per SFT conversation
    data/<config>/validation-00000-of-00001.parquet  with a validation fraction > 0

Its contents are a dataset repository as the Hub expects one: ``datasets.load_dataset``
reads each config from the card's ``configs`` (or from ``data_files`` directly).

- The rows come from the same record builders as the JSONL formats
  (``preference_records``, ``sft_records``, ``tree_record``) and the messages table is
  the ``parquet`` format's own writer, so the columns match the other formats.
- **Splits are by tree**: a tree and everything built from it (its messages, pairs and
  conversations) are in one split. The split is a hash of the tree's root message id in
  Arbor, not of the exported id, so it does not depend on the anonymisation secret: the
  same tree lands in the same split in every export with the same fraction, and a
  larger fraction only moves trees from train to validation.
- A split with no rows is left out of the zip and of the card (``datasets`` refuses a
  split whose files hold no row), and so is a config with no rows at all (say,
  ``preferences`` when nothing was ranked): the card's configs always match files with
  data. The zip is deterministic: entries in a fixed order with a fixed timestamp.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from backend.exports.formats.oasst import tree_record
from backend.exports.formats.parquet import MessagesParquetWriter
from backend.exports.formats.preferences import preference_records
from backend.exports.formats.records import ExportTree
from backend.exports.formats.sft import sft_records

CONFIGS = ("trees", "messages", "preferences", "sft")
TRAIN, VALIDATION = "train", "validation"
CARD_NAME = "README.md"
# Rows buffered per file before a row group is written (trees rows hold whole trees).
ROW_GROUP_ROWS = {"trees": 1_000, "preferences": 10_000, "sft": 10_000}
# Zip entries carry this time, so the same data gives the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SPLIT_SALT = b"arbor-hf-split:"

TURNS_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def trees_schema() -> pa.Schema:
    """One row per tree; ``prompt`` is the ``oasst-trees`` line's nested prompt as JSON
    text (a tree has no fixed depth, which Parquet columns need)."""
    return pa.schema(
        [
            pa.field("message_tree_id", pa.string(), nullable=False),
            pa.field("tree_state", pa.string()),
            pa.field("lang", pa.string()),
            pa.field("message_count", pa.int32()),
            pa.field("prompt", pa.string(), nullable=False),
        ]
    )


def preferences_schema(*, with_consensus: bool) -> pa.Schema:
    """The ``preferences`` lines' fields, typed."""
    fields = [
        pa.field("message_tree_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("role", pa.string()),
        pa.field("prompt", TURNS_TYPE),
        pa.field("chosen", pa.string()),
        pa.field("rejected", pa.string()),
        pa.field("chosen_id", pa.string()),
        pa.field("rejected_id", pa.string()),
        pa.field("chosen_rank", pa.int32()),
        pa.field("rejected_rank", pa.int32()),
        pa.field("margin", pa.int32()),
        pa.field("agreement", pa.float64()),
        pa.field("rankers", pa.int32()),
        pa.field("chosen_model", pa.string()),
        pa.field("rejected_model", pa.string()),
    ]
    if with_consensus:
        fields += [
            pa.field("chosen_score", pa.float64()),
            pa.field("rejected_score", pa.float64()),
            pa.field("confidence", pa.float64()),
        ]
    return pa.schema(fields)


def sft_schema() -> pa.Schema:
    """The ``sft`` lines' fields, typed."""
    return pa.schema(
        [
            pa.field("message_tree_id", pa.string(), nullable=False),
            pa.field("lang", pa.string()),
            pa.field("messages", TURNS_TYPE),
        ]
    )


def split_of(tree: ExportTree, validation_fraction: float) -> str:
    """``train`` or ``validation``: a hash of the tree's root message pk, so the same
    tree gets the same split in every export (whatever the anonymisation secret)."""
    if validation_fraction <= 0:
        return TRAIN
    digest = hashlib.sha256(SPLIT_SALT + str(tree.root.pk).encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return VALIDATION if position < validation_fraction else TRAIN


def data_file(config: str, split: str) -> str:
    """The path of a split's file inside the zip (the Hub's ``split-NNNNN-of-NNNNN``)."""
    return f"data/{config}/{split}-00000-of-00001.parquet"


def data_glob(config: str, split: str) -> str:
    """The card's ``data_files`` pattern for a split."""
    return f"data/{config}/{split}-*.parquet"


class RecordsParquetWriter:
    """Dict records into a Parquet file with a fixed schema, in bounded row groups."""

    def __init__(self, sink: str, schema: pa.Schema, *, row_group_rows: int) -> None:
        self.schema = schema
        self._rows: list[dict[str, Any]] = []
        self._row_group_rows = row_group_rows
        self._writer = pq.ParquetWriter(sink, schema, compression="zstd")
        self.rows = 0

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        written = 0
        for record in records:
            self._rows.append(record)
            written += 1
        self.rows += written
        if len(self._rows) >= self._row_group_rows:
            self.flush()
        return written

    def flush(self) -> None:
        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        self._writer.write_table(table, row_group_size=len(self._rows))
        self._rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


@dataclass
class HfCounts:
    """Rows per config and split, trees per split, and the languages seen."""

    rows: dict[str, dict[str, int]] = field(
        default_factory=lambda: {config: {} for config in CONFIGS}
    )
    trees: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    languages: set[str] = field(default_factory=set)

    def total(self, config: str) -> int:
        return sum(self.rows[config].values())

    def splits(self, config: str) -> list[str]:
        """The config's splits that have rows (train first)."""
        return [split for split in (TRAIN, VALIDATION) if self.rows[config].get(split)]


class HfDatasetWriter:
    """Streams export trees into the four configs' Parquet files under ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        messages_schema: pa.Schema,
        with_consensus: bool,
        validation_fraction: float,
    ) -> None:
        self.directory = directory
        self.with_consensus = with_consensus
        self.validation_fraction = validation_fraction
        self.splits = (TRAIN, VALIDATION) if validation_fraction > 0 else (TRAIN,)
        self.counts = HfCounts()
        self._messages: dict[str, MessagesParquetWriter] = {}
        self._records: dict[tuple[str, str], RecordsParquetWriter] = {}
        schemas = {
            "trees": trees_schema(),
            "preferences": preferences_schema(with_consensus=with_consensus),
            "sft": sft_schema(),
        }
        for split in self.splits:
            for config in CONFIGS:
                self.counts.rows[config][split] = 0
                path = directory / data_file(config, split)
                path.parent.mkdir(parents=True, exist_ok=True)
                if config == "messages":
                    self._messages[split] = MessagesParquetWriter(str(path), messages_schema)
                else:
                    self._records[(config, split)] = RecordsParquetWriter(
                        str(path), schemas[config], row_group_rows=ROW_GROUP_ROWS[config]
                    )
            self.counts.trees[split] = 0

    def write_tree(self, tree: ExportTree) -> int:
        """Write a tree to its split of every config; the number of messages written."""
        split = split_of(tree, self.validation_fraction)
        rows = self.counts.rows
        messages = self._messages[split].write_tree(tree)
        rows["messages"][split] += messages
        self.counts.messages += messages
        self.counts.trees[split] += 1
        self.counts.languages.update(node.lang for node in tree.nodes() if node.lang)
        record = tree_record(tree)
        rows["trees"][split] += self._records[("trees", split)].write(
            [
                {
                    "message_tree_id": tree.message_tree_id,
                    "tree_state": tree.tree_state,
                    "lang": tree.lang,
                    "message_count": tree.size,
                    "prompt": orjson.dumps(record["prompt"]).decode(),
                }
            ]
        )
        rows["preferences"][split] += self._records[("preferences", split)].write(
            preference_records(tree, with_consensus=self.with_consensus)
        )
        rows["sft"][split] += self._records[("sft", split)].write(sft_records(tree))
        return messages

    def close(self) -> None:
        for writer in self._messages.values():
            writer.close()
        for records in self._records.values():
            records.close()

    def files(self) -> Iterator[str]:
        """The data files that have rows, in the zip's order (``datasets`` refuses a
        split whose files are all empty, so empty ones are left out)."""
        for config in CONFIGS:
            for split in self.counts.splits(config):
                yield data_file(config, split)


def hf_dataset_zip(*, directory: Path, files: Iterable[str], card: str, destination: Path) -> None:
    """Zip the card and the data files; Parquet is compressed inside, so it is stored."""
    with zipfile.ZipFile(destination, "w") as archive:
        entry = zipfile.ZipInfo(CARD_NAME, date_time=ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        archive.writestr(entry, card.encode())
        for name in files:
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_STORED
            entry.external_attr = 0o644 << 16
            with (directory / name).open("rb") as source, archive.open(entry, "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)


def hf_dataset_write(
    *,
    destination: Path,
    batches: Iterator[tuple[int, list[ExportTree]]],
    writer: HfDatasetWriter,
    card: Callable[[HfCounts], str],
    on_batch: Callable[[int, int], None] | None = None,
) -> HfCounts:
    """Write every batch through ``writer`` (whose directory is a scratch one), then zip
    the files with the card that ``card(counts)`` renders. ``on_batch(trees read,
    messages rows so far)`` follows each batch."""
    try:
        for read, trees in batches:
            for tree in trees:
                writer.write_tree(tree)
            if on_batch is not None:
                on_batch(read, writer.counts.messages)
    finally:
        writer.close()
    hf_dataset_zip(
        directory=writer.directory,
        files=writer.files(),
        card=card(writer.counts),
        destination=destination,
    )
    return writer.counts
