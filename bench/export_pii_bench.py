"""What PII masking costs an export: building export trees (``formats.build``) for
synthetic batches shaped like ``export_bench.py``'s (trees of 10 messages, prompts of ~120
characters, replies of ~600), one core, no database.

    python bench/export_pii_bench.py                  # 20,000 messages
    python bench/export_pii_bench.py --messages 100000

Three runs over the same rows: ``pii=keep`` (no PII work), ``pii=mask`` with every
message's PII already computed (stored spans in the quality objects), and ``pii=mask``
with none computed (every text scanned on the fly with ``find_pii``: imported data, or
data from before the quality app). Prints messages/s for each.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.exports.formats.anonymize import IdMapper
from backend.exports.formats.build import BatchRows, BuildSettings, build_trees
from backend.quality.signals.pii import find_pii

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "it",
    "for",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "or",
    "from",
    "at",
    "an",
    "which",
    "model",
    "tree",
    "answer",
    "question",
    "data",
    "reply",
    "rank",
    "label",
    "export",
    "stream",
    "python",
    "database",
    "naïve",
    "café",
    "résumé",
    "über",
    "straße",
    "東京",
    "данные",
]
# (parent index within the tree or None, role); as export_bench.py's SHAPE.
SHAPE = [
    (None, "prompter"),
    (0, "assistant"),
    (0, "assistant"),
    (0, "assistant"),
    (1, "prompter"),
    (1, "prompter"),
    (4, "assistant"),
    (4, "assistant"),
    (6, "prompter"),
    (8, "assistant"),
]
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BATCH_TREES = 1000


def text(rng: random.Random, length: int, serial: int) -> str:
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < length:
        words.append(rng.choice(WORDS))
    # One message in fifty holds an email address, as real data sometimes does.
    if serial % 50 == 0:
        words.insert(3, f"person{serial}@example.org")
    return " ".join(words)


def batches(messages: int) -> list[BatchRows]:
    rng = random.Random(7)
    out: list[BatchRows] = []
    trees = messages // len(SHAPE)
    pk = 0
    for start in range(0, trees, BATCH_TREES):
        tree_rows: list[tuple[Any, ...]] = []
        message_rows: list[tuple[Any, ...]] = []
        for tree_pk in range(start + 1, min(trees, start + BATCH_TREES) + 1):
            first = pk + 1
            for parent, role in SHAPE:
                pk += 1
                length = 120 if role == "prompter" else 600
                message_rows.append(
                    (
                        pk,
                        tree_pk,
                        None if parent is None else first + parent,
                        1 + pk % 1000,
                        T0,
                        text(rng, length, pk),
                        role,
                        "en",
                        3,
                        True,
                        None,
                        False,
                        False,
                        "",
                        "",
                    )
                )
            tree_rows.append((tree_pk, "ready_for_export", "en", "", first))
        out.append(BatchRows(trees=tree_rows, messages=message_rows))
    return out


def stored(rows: list[BatchRows]) -> list[BatchRows]:
    """The same batches with every message's PII computed (as the quality app stores it)."""
    with_quality = []
    for batch in rows:
        quality = {
            message[0]: {
                "pii": [
                    {"type": span.type, "start": span.start, "end": span.end}
                    for span in find_pii(message[5], lang="en")
                ],
                "flags": [],
            }
            for message in batch.messages
        }
        with_quality.append(BatchRows(trees=batch.trees, messages=batch.messages, quality=quality))
    return with_quality


def run(rows: list[BatchRows], settings: BuildSettings) -> tuple[float, int]:
    started = time.process_time()
    count = 0
    for batch in rows:
        for tree in build_trees(batch, settings):
            count += tree.size
    return time.process_time() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    arguments = parser.parse_args()
    rows = batches(arguments.messages)
    computed = stored(rows)
    ids = IdMapper("bench-secret")
    cases = [
        ("pii=keep", rows, BuildSettings(ids=ids, pii="keep", with_quality=False)),
        ("pii=mask, PII stored", computed, BuildSettings(ids=ids, find_pii=find_pii)),
        ("pii=mask, none stored", rows, BuildSettings(ids=ids, find_pii=find_pii)),
    ]
    print(f"export PII bench: {arguments.messages:,} messages, build_trees only, one core")
    for name, data, settings in cases:
        seconds, count = run(data, settings)
        print(
            f"{name:24} {seconds:6.2f} s CPU, {count / seconds:10,.0f} messages/s "
            f"({1e6 * seconds / count:6.1f} µs a message)"
        )
    print(
        "machine load (1/5/15 min): "
        + " ".join(f"{value:.1f}" for value in os.getloadavg())
        + f" on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
