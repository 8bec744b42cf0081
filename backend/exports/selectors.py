"""Reads for exports and imports.

``export_batches`` is what keeps an export's memory constant: it walks the selected
trees in id order, ``batch_trees`` at a time (keyset pagination, so each page is one
indexed range scan however deep into the export it is), and for each page reads the
messages, label aggregates, emoji counts, consensus results (ranking results and label
results, unless ``with_consensus`` is off), quality objects (unless neither the
``quality`` key, nor a quality filter, nor PII masking needs them) and — only when
needed — raw votes with one query each. Nothing outlives its batch.

Each batch reads committed data of its own moment: a tree that changes while a long
export runs is exported as it was when its batch was read (trees are never split
across batches, so a tree is always self-consistent).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import orjson
from django.db import connection
from django.db.models import Avg, Count, Q, QuerySet
from psycopg.types.datetime import TimestamptzLoader

from backend.accounts.models import User
from backend.assignments.models import LabelVote, RankingVote
from backend.consensus.selectors import (
    LABEL_COLUMNS,
    RESULT_COLUMNS,
    consensus_extras_build,
    message_labels_of_trees,
    ranking_results_of_trees,
)
from backend.exports.formats.build import (
    MESSAGE_COLUMNS,
    PII_LABEL,
    TREE_COLUMNS,
    BatchRows,
    PiiPolicy,
)
from backend.exports.hooks import QualityProvider
from backend.exports.models import ExportFormat, ExportJob, ImportedEmoji, ImportedLabel, ImportJob
from backend.exports.options import ExportOptions
from backend.exports.quality import origin_ids, quality_objects
from backend.trees.models import Message, Reaction, Tree

DEFAULT_BATCH_TREES = 1000


def export_trees(options: ExportOptions) -> QuerySet[Tree]:
    trees = Tree.objects.filter(project_id=options.project_id)
    if options.states is not None:
        trees = trees.filter(state__in=options.states)
    if options.languages:
        trees = trees.filter(lang__in=options.languages)
    if options.created_from is not None:
        trees = trees.filter(created_at__gte=options.created_from)
    if options.created_to is not None:
        trees = trees.filter(created_at__lt=options.created_to)
    return trees


def export_tree_count(options: ExportOptions) -> int:
    return export_trees(options).count()


def export_batches(
    options: ExportOptions,
    *,
    batch_trees: int = DEFAULT_BATCH_TREES,
    quality: QualityProvider | None = None,
) -> Generator[BatchRows, None, None]:
    trees = export_trees(options).order_by("pk")
    needs_label_means = options.with_labels or options.pii != "keep"
    needs_rankings = options.with_events or options.format == ExportFormat.PREFERENCES
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        # The label aggregation sorts ~60k votes per batch: in memory, not on disk.
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '64MB'")
    try:
        yield from _batches(options, trees, batch_trees, quality, needs_label_means, needs_rankings)
    finally:
        if on_postgresql and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("RESET work_mem")


def _fetch(rows: QuerySet[Any]) -> list[Any]:
    """A values_list queryset's rows as tuples.

    On PostgreSQL the compiled SQL runs on the driver's cursor, with psycopg's own (C)
    timestamptz loader: Django's loader is a Python subclass that re-attaches the time
    zone to every value, and its per-row converter pass only copies values here (the
    columns read are text, numbers, booleans and timestamps, which the driver already
    returns as Python values; timestamps come back in UTC, the session's time zone).
    Together they cost more than the rest of the query for a million messages.
    Elsewhere (SQLite stores dates as text, booleans as integers) Django converts.
    """
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # On the driver's cursor only; executed through Django's wrapper, so the query is
        # instrumented like any other.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fetch_with_json(
    rows: QuerySet[Any], columns: tuple[str, ...], json_columns: set[str]
) -> list[Any]:
    """``_fetch`` for rows with JSON columns: on PostgreSQL Django has the driver return
    jsonb as text (its field decodes it per row); orjson decodes it here, several times
    faster. Elsewhere Django has already decoded it.

    (Handing the database's text to the encoder undecoded, as ``orjson.Fragment``, saves
    a fifth of the consensus columns' cost but writes jsonb's spacing, key order and
    number format into the file: the same data would give other bytes on SQLite.)"""
    fetched = _fetch(rows)
    if connection.vendor != "postgresql":
        return fetched
    positions = [index for index, name in enumerate(columns) if name in json_columns]
    loads = orjson.loads
    decoded = []
    for row in fetched:
        values = list(row)
        for position in positions:
            if isinstance(values[position], str):
                values[position] = loads(values[position])
        decoded.append(values)
    return decoded


def _batches(
    options: ExportOptions,
    trees: QuerySet[Tree],
    batch_trees: int,
    quality: QualityProvider | None,
    needs_label_means: bool,
    needs_rankings: bool,
) -> Iterator[BatchRows]:
    last_pk = 0
    while True:
        tree_rows = list(trees.filter(pk__gt=last_pk).values_list(*TREE_COLUMNS)[:batch_trees])
        if not tree_rows:
            return
        # The batch's trees as a subquery (the filters plus an id range), not a list of
        # 1,000 ids: no parameters to build and send, and one plan for every batch.
        batch = trees.filter(pk__gt=last_pk, pk__lte=tree_rows[-1][0]).order_by().values("pk")
        last_pk = tree_rows[-1][0]
        in_batch = Q(message__tree__in=batch)
        rows = BatchRows(
            trees=tree_rows,
            messages=_fetch(Message.objects.filter(tree__in=batch).values_list(*MESSAGE_COLUMNS)),
        )
        if needs_label_means:
            votes = LabelVote.objects.filter(in_batch)
            imported = ImportedLabel.objects.filter(in_batch)
            if not options.with_labels:  # only the PII flag is needed
                votes = votes.filter(label=PII_LABEL)
                imported = imported.filter(name=PII_LABEL)
            rows.label_means = _fetch(
                votes.order_by()
                .values("message_id", "label")
                .annotate(mean=Avg("value"), count=Count("pk"))
                .order_by("message_id", "label")
                .values_list("message_id", "label", "mean", "count")
            )
            rows.imported_labels = _fetch(
                imported.values_list("message_id", "name", "value", "count")
            )
        rows.reaction_counts = _fetch(
            Reaction.objects.filter(in_batch)
            .order_by()
            .values("message_id", "emoji")
            .annotate(count=Count("pk"))
            .values_list("message_id", "emoji", "count")
        )
        rows.imported_emojis = _fetch(
            ImportedEmoji.objects.filter(in_batch).values_list("message_id", "emoji", "count")
        )
        if options.with_events:
            rows.label_votes = _fetch(
                LabelVote.objects.filter(in_batch)
                .order_by("message_id", "created_at", "pk")
                .values_list("message_id", "user_id", "label", "value", "created_at")
            )
            rows.reactions = _fetch(
                Reaction.objects.filter(in_batch)
                .order_by("message_id", "created_at", "pk")
                .values_list("message_id", "user_id", "emoji", "created_at")
            )
        if needs_rankings:
            # Through Django: ``ranking`` is JSON, which Django decodes.
            rows.ranking_votes = list(
                RankingVote.objects.filter(parent__tree__in=batch)
                .order_by("parent_id", "created_at", "pk")
                .values_list("parent_id", "user_id", "ranking", "created_at")
            )
        if options.with_consensus:
            rows.consensus = consensus_extras_build(
                message_ids=None,
                ranking_rows=_fetch_with_json(
                    ranking_results_of_trees(batch), RESULT_COLUMNS, {"order", "scores"}
                ),
                label_rows=_fetch_with_json(
                    message_labels_of_trees(batch), LABEL_COLUMNS, {"labels"}
                ),
            )
        _read_quality(options, rows, quality)
        yield rows


def _read_quality(
    options: ExportOptions, rows: BatchRows, provider: QualityProvider | None
) -> None:
    """The batch's quality objects — for the ``quality`` key, the quality filters and the
    stored PII spans masking reads — with one query per ``IDS_PER_QUERY`` messages, plus
    one for the origin ids of the near-duplicates' originals."""
    if not (options.with_quality or options.quality_filters or options.pii != PiiPolicy.KEEP):
        return
    message_ids = [row[0] for row in rows.messages]
    if not message_ids:
        return
    rows.quality = provider(message_ids) if provider is not None else quality_objects(message_ids)
    if options.with_quality and rows.quality:
        originals = {
            payload["near_duplicate_of"]
            for payload in rows.quality.values()
            if isinstance(payload, dict) and isinstance(payload.get("near_duplicate_of"), int)
        }
        rows.duplicate_origins = origin_ids(originals)


def _is_staff(user: User) -> bool:
    return bool(user.is_staff)


def export_jobs_of(*, user: User) -> QuerySet[ExportJob]:
    """The user's own exports, newest first."""
    return ExportJob.objects.filter(created_by=user).select_related("project")


def export_job_visible_to(*, user: User, job_id: int) -> ExportJob | None:
    """A job its creator (or an admin) may see; None otherwise, so ids do not leak."""
    jobs = ExportJob.objects.select_related("project").filter(pk=job_id)
    if not _is_staff(user):
        jobs = jobs.filter(created_by=user)
    return jobs.first()


def import_jobs_of(*, user: User) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(created_by=user).select_related("project")


def import_job_visible_to(*, user: User, job_id: int) -> ImportJob | None:
    jobs = ImportJob.objects.select_related("project").filter(pk=job_id)
    if not _is_staff(user):
        jobs = jobs.filter(created_by=user)
    return jobs.first()
