"""The ``hf-dataset`` export: the engine's batches into four configs' Parquet splits,
zipped with a dataset card (``formats.hf_dataset``, ``formats.hf_card``).

Imported only when such an export runs: it pulls in pyarrow.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from backend.exports.formats.hf_card import CardInfo, render_card
from backend.exports.formats.hf_dataset import HfCounts, HfDatasetWriter, hf_dataset_write
from backend.exports.formats.parquet import parquet_schema
from backend.exports.formats.records import ExportTree
from backend.exports.options import ExportOptions
from backend.projects.models import Project


def hf_dataset_export(
    options: ExportOptions,
    destination: Path,
    batches: Iterator[tuple[int, list[ExportTree]]],
    total: int,
    on_progress: Callable[[int, int, int], None] | None,
) -> tuple[int, int, int]:
    """Write the zip to ``destination``; (rows, messages, trees) as the engine counts them:
    rows are the ``messages`` config's rows (one per message, as in ``parquet``)."""
    project = Project.objects.only("name", "slug", "guidelines").get(pk=options.project_id)
    info = CardInfo(
        project_name=project.name,
        project_slug=project.slug,
        guidelines=project.guidelines,
        license=options.license,
        filters=options.as_filters(),
        with_consensus=options.with_consensus,
        validation_fraction=options.validation_fraction,
    )
    messages_schema = parquet_schema(
        with_labels=options.with_labels,
        with_events=options.with_events,
        with_quality=options.with_quality,
        with_consensus=options.with_consensus,
    )
    done = 0

    def on_batch(read: int, messages: int) -> None:
        nonlocal done
        done += read
        if on_progress is not None:
            on_progress(done, total, messages)

    def card(counts: HfCounts) -> str:
        return render_card(info, counts)

    with tempfile.TemporaryDirectory(prefix="arbor-hf-", dir=destination.parent) as scratch:
        writer = HfDatasetWriter(
            Path(scratch),
            messages_schema=messages_schema,
            with_consensus=options.with_consensus,
            validation_fraction=options.validation_fraction,
        )
        counts = hf_dataset_write(
            destination=destination,
            batches=batches,
            writer=writer,
            card=card,
            on_batch=on_batch,
        )
    return counts.messages, counts.messages, sum(counts.trees.values())
