"""Exports: the streaming writer and the job's transitions.

``export_write`` is the engine: batches of trees from ``selectors.export_batches``
go through ``formats.build`` and one format's writer into a local file, so memory holds
one batch at a time whatever the size of the export. Jobs wrap it:

    queued ──run──▶ running ──▶ succeeded (file, size, sha256, counts)
                       └──────▶ failed (error)

Each transition is one function that locks the job row, checks its state, saves with
``update_fields`` and writes an audit event in the same transaction. A job that finishes
wipes its anonymisation secret.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from django.core.files import File
from django.db import connection, connections, transaction
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import NotFound
from backend.common.events import ExportFinished, emit
from backend.common.outbox import enqueue
from backend.exports import hooks
from backend.exports.formats.anonymize import IdMapper, new_secret
from backend.exports.formats.build import BatchRows, BuildSettings, build_trees
from backend.exports.formats.oasst import message_records, tree_record
from backend.exports.formats.preferences import preference_records
from backend.exports.formats.records import ExportTree
from backend.exports.formats.registry import RecordFormat, record_format
from backend.exports.formats.sft import sft_records
from backend.exports.models import ExportFormat, ExportJob, JobState, export_file_name
from backend.exports.options import ExportOptions, export_options_build
from backend.exports.permissions import require_researcher_or_admin
from backend.exports.selectors import DEFAULT_BATCH_TREES, export_batches, export_tree_count
from backend.exports.services.jobs import (
    STALE_RUNNING_AFTER,
    job_claim,
    job_notify,
    stale_job_ids,
)
from backend.projects.models import Project
from backend.quality.signals.pii import find_pii

logger = logging.getLogger(__name__)

# Progress is written to the job row (and pushed to the websocket) at most this often.
PROGRESS_INTERVAL_SECONDS = 1.0
GZIP_LEVEL = 6
HASH_CHUNK = 1 << 20

ProgressCallback = Callable[[int, int, int], None]  # (trees done, trees in total, rows)


@dataclass(frozen=True)
class ExportResult:
    row_count: int
    message_count: int
    tree_count: int
    byte_size: int
    sha256: str


# --- The engine -----------------------------------------------------------------------


def _records(options: ExportOptions, tree: ExportTree) -> Iterable[dict[str, Any]]:
    format = options.format
    if format == ExportFormat.OASST_TREES:
        return (tree_record(tree),)
    if format == ExportFormat.OASST_MESSAGES:
        return message_records(tree)
    if format == ExportFormat.PREFERENCES:
        return preference_records(tree, with_consensus=options.with_consensus)
    if format == ExportFormat.SFT:
        return sft_records(tree)
    raise ValueError(f"{format} is not a JSONL format")


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _prefetch(batches: Generator[BatchRows, None, None], *, depth: int = 2) -> Iterator[BatchRows]:
    """Read the next batches in a thread while this one is built and written.

    The database works (on its own core) while Python builds JSON; at most ``depth``
    batches wait in the queue, so memory stays bounded. The thread has its own
    database connection, closed when it ends.
    """
    handoff: queue.Queue[BatchRows | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: BatchRows | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for rows in batches:
                if not put(rows):
                    return
            put(None)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put(error)
        finally:
            batches.close()
            connections.close_all()

    reader = threading.Thread(target=produce, name="export-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _batches_of_trees(
    options: ExportOptions, settings: BuildSettings, batch_trees: int, prefetch: bool | None
) -> Generator[tuple[int, list[ExportTree]], None, None]:
    """(trees read in the batch, the export trees built from it)."""
    quality = hooks.quality_provider()
    reader = export_batches(options, batch_trees=batch_trees, quality=quality)
    if prefetch is None:
        # A reader thread has its own connection: it cannot see the rows of an open
        # transaction (tests), and SQLite gains nothing from it.
        prefetch = connection.vendor == "postgresql" and not connection.in_atomic_block
    batches = _prefetch(reader) if prefetch else reader
    for rows in batches:
        yield len(rows.trees), build_trees(rows, settings)


def export_write(
    *,
    options: ExportOptions,
    destination: Path,
    secret: str | None = None,
    on_progress: ProgressCallback | None = None,
    batch_trees: int = DEFAULT_BATCH_TREES,
    prefetch: bool | None = None,
) -> ExportResult:
    """Stream the export described by ``options`` into the local file ``destination``.

    With ``options.anonymize`` the ids are hashed with ``secret`` (a fresh random one
    when None: the ids then cannot be linked to any other export).
    """
    spec = record_format(options.format)
    if spec is not None:
        return _write_records(spec, options, destination, on_progress)
    if options.anonymize and not secret:
        secret = new_secret()
    settings = BuildSettings(
        ids=IdMapper(secret if options.anonymize else None),
        include_deleted=options.include_deleted,
        include_rejected=options.include_rejected,
        include_synthetic=options.include_synthetic,
        with_labels=options.with_labels,
        with_events=options.with_events,
        pii=options.pii,
        pii_detector=hooks.pii_detector() if options.pii != "keep" else None,
        find_pii=find_pii if options.pii != "keep" else None,
        with_quality=options.with_quality,
        exclude_near_duplicates=options.exclude_near_duplicates,
        exclude_leaked=options.exclude_leaked,
        exclude_lang_mismatch=options.exclude_lang_mismatch,
        max_toxicity=options.max_toxicity,
    )
    total = export_tree_count(options)
    if on_progress is not None:
        on_progress(0, total, 0)
    with closing(_batches_of_trees(options, settings, batch_trees, prefetch)) as batches:
        rows, messages, trees_written = _write(options, destination, batches, total, on_progress)
    byte_size, sha256 = file_digest(destination)
    return ExportResult(
        row_count=rows,
        message_count=messages,
        tree_count=trees_written,
        byte_size=byte_size,
        sha256=sha256,
    )


def _write_records(
    spec: RecordFormat,
    options: ExportOptions,
    destination: Path,
    on_progress: ProgressCallback | None,
) -> ExportResult:
    """A format that is not made of trees: its records, one JSON line each."""
    rows = 0
    with destination.open("wb") as raw:
        sink: gzip.GzipFile | io.BufferedWriter = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)
            if options.gzip
            else raw
        )
        try:
            for record in spec.records(options.project_id, options.languages):
                sink.write(orjson.dumps(record) + b"\n")
                rows += 1
        finally:
            if sink is not raw:
                sink.close()
    if on_progress is not None:
        on_progress(1, 1, rows)
    byte_size, sha256 = file_digest(destination)
    return ExportResult(
        row_count=rows, message_count=0, tree_count=0, byte_size=byte_size, sha256=sha256
    )


def _write(
    options: ExportOptions,
    destination: Path,
    batches: Iterator[tuple[int, list[ExportTree]]],
    total: int,
    on_progress: ProgressCallback | None,
) -> tuple[int, int, int]:
    """Write every batch in the options' format; (rows, messages, trees) written."""
    done = rows = messages = trees_written = 0
    if options.format == ExportFormat.HF_DATASET:
        from backend.exports.services.hf_dataset import hf_dataset_export

        return hf_dataset_export(options, destination, batches, total, on_progress)
    if options.format == ExportFormat.PARQUET:
        # Imported here: pyarrow costs ~60 MB of memory, which JSONL exports do not need.
        from backend.exports.formats.parquet import MessagesParquetWriter, parquet_schema

        schema = parquet_schema(
            with_labels=options.with_labels,
            with_events=options.with_events,
            with_quality=options.with_quality,
            with_consensus=options.with_consensus,
        )
        writer = MessagesParquetWriter(str(destination), schema)
        try:
            for read, trees in batches:
                for tree in trees:
                    messages += writer.write_tree(tree)
                trees_written += len(trees)
                done += read
                if on_progress is not None:
                    on_progress(done, total, writer.rows)
        finally:
            writer.close()
        rows = writer.rows
    else:
        with destination.open("wb") as raw:
            # mtime=0 and no file name: the same data gives byte-identical files.
            sink: gzip.GzipFile | io.BufferedWriter = (
                gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
                )
                if options.gzip
                else raw
            )
            try:
                for read, trees in batches:
                    chunk: list[bytes] = []
                    for tree in trees:
                        for record in _records(options, tree):
                            chunk.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                        messages += tree.size
                    rows += len(chunk)
                    sink.write(b"".join(chunk))
                    trees_written += len(trees)
                    done += read
                    if on_progress is not None:
                        on_progress(done, total, rows)
            finally:
                if sink is not raw:
                    sink.close()
    return rows, messages, trees_written


def export_file_basename(*, options: ExportOptions, label: str) -> str:
    return f"arbor-{options.project_slug}-{options.format}-{label}{options.extension}"


# --- CLI ------------------------------------------------------------------------------


def export_to_path(
    *,
    options: ExportOptions,
    destination: Path,
    secret: str | None = None,
    on_progress: ProgressCallback | None = None,
    actor_id: int | None = None,
) -> ExportResult:
    """An export written straight to a path (the CLI); audited like a job."""
    result = export_write(
        options=options, destination=destination, secret=secret, on_progress=on_progress
    )
    with transaction.atomic():
        audit_record(
            action=AuditAction.EXPORT_WRITTEN,
            target_type="export_file",
            target_id=str(destination)[:64],
            actor_id=actor_id,
            project_id=options.project_id,
            after={
                "format": options.format,
                "project": options.project_slug,
                "filters": options.as_filters(),
                "path": str(destination),
                **_result_fields(result),
            },
        )
    return result


def _result_fields(result: ExportResult) -> dict[str, Any]:
    return {
        "row_count": result.row_count,
        "message_count": result.message_count,
        "tree_count": result.tree_count,
        "byte_size": result.byte_size,
        "sha256": result.sha256,
    }


# --- Jobs -----------------------------------------------------------------------------


def export_job_create(
    *,
    user: Any,
    project_slug: str,
    format: str,
    filters: dict[str, Any],
    secret: str | None = None,
) -> ExportJob:
    """Queue an export; the worker runs it after commit. Researchers and admins only."""
    require_researcher_or_admin(user)
    project = Project.objects.filter(slug=project_slug).first()
    if project is None:
        raise NotFound("project_not_found", f"No project {project_slug!r}.")
    options = export_options_build(project=project, format=format, filters=filters)
    with transaction.atomic():
        job = ExportJob.objects.create(
            created_by=user,
            project=project,
            format=options.format,
            filters=options.as_filters(),
            secret=(secret or new_secret()) if options.anonymize else "",
        )
        audit_record(
            action=AuditAction.EXPORT_REQUESTED,
            target_type="export",
            target_id=job.pk,
            actor_id=user.pk,
            project_id=project.pk,
            after={"format": job.format, "project": project.slug, "filters": job.filters},
        )
        job_id = job.pk
        _enqueue_export(job_id)
    job.refresh_from_db()  # in eager mode the job may already have run
    return job


def _enqueue_export(job_id: int) -> None:
    # Jobs are their own durable record (a queued job whose task was lost is queued
    # again by ``tasks.exports.requeue_stale``); the outbox sends it by name.
    enqueue("tasks.exports.run_export", job_id)


def export_options_of(job: ExportJob) -> ExportOptions:
    return export_options_build(project=job.project, format=job.format, filters=job.filters)


def _claim(job_id: int) -> ExportJob | None:
    return job_claim(ExportJob, job_id, kind="export")


def _notify(job: ExportJob, **payload: Any) -> None:
    job_notify(job, kind="export", **payload)


class _ProgressReporter:
    """Writes progress to the job row and the owner's websocket, throttled."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.last_percent = -1
        self.last_time = 0.0

    def __call__(self, done: int, total: int, rows: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last_time < PROGRESS_INTERVAL_SECONDS:
            return
        percent = min(99, (100 * done) // total) if total else 0
        self.last_percent, self.last_time = percent, now
        ExportJob.objects.filter(pk=self.job.pk, state=JobState.RUNNING).update(
            progress=percent, row_count=rows, heartbeat_at=timezone.now()
        )
        _notify(self.job, state=JobState.RUNNING, progress=percent, row_count=rows)


def export_job_run(*, job_id: int) -> str:
    """Run a queued export to the end. Safe to call twice: a finished job, or one
    another worker is running, is left alone."""
    job = _claim(job_id)
    if job is None:
        current = ExportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        return current or "missing"
    _notify(job, state=JobState.RUNNING, progress=0, row_count=0)
    try:
        options = export_options_of(job)
        basename = export_file_basename(options=options, label=str(job.pk))
        with tempfile.TemporaryDirectory(prefix="arbor-export-") as directory:
            path = Path(directory) / basename
            result = export_write(
                options=options,
                destination=path,
                secret=job.secret or None,
                on_progress=_ProgressReporter(job),
            )
            storage = job.file.storage
            with path.open("rb") as handle:
                stored_name = storage.save(export_file_name(job, basename), File(handle, basename))
    except Exception as error:  # any failure ends the job as failed, with why
        logger.exception("export %s failed", job_id)
        return _fail(job_id, f"{type(error).__name__}: {error}")
    return _succeed(job_id, result, stored_name)


def _succeed(job_id: int, result: ExportResult, stored_name: str) -> str:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.state != JobState.RUNNING:
            return job.state
        job.state = JobState.SUCCEEDED
        job.progress = 100
        job.row_count = result.row_count
        job.message_count = result.message_count
        job.tree_count = result.tree_count
        job.byte_size = result.byte_size
        job.sha256 = result.sha256
        job.file.name = stored_name
        job.secret = ""
        job.finished_at = timezone.now()
        job.save(
            update_fields=[
                "state",
                "progress",
                "row_count",
                "message_count",
                "tree_count",
                "byte_size",
                "sha256",
                "file",
                "secret",
                "finished_at",
            ]
        )
        audit_record(
            action=AuditAction.EXPORT_SUCCEEDED,
            target_type="export",
            target_id=job.pk,
            actor_id=job.created_by_id,
            project_id=job.project_id,
            before={"state": JobState.RUNNING},
            after={
                "state": JobState.SUCCEEDED,
                "format": job.format,
                "filters": job.filters,
                **_result_fields(result),
            },
        )
        emit(ExportFinished(job.pk, job.project_id, job.format, JobState.SUCCEEDED))
    _notify(job, state=JobState.SUCCEEDED, progress=100, row_count=result.row_count)
    return job.state


def _fail(job_id: int, reason: str) -> str:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.state != JobState.RUNNING:
            return job.state
        job.state = JobState.FAILED
        job.error = reason[:2000]
        job.secret = ""
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "secret", "finished_at"])
        audit_record(
            action=AuditAction.EXPORT_FAILED,
            target_type="export",
            target_id=job.pk,
            actor_id=job.created_by_id,
            project_id=job.project_id,
            before={"state": JobState.RUNNING},
            after={"state": JobState.FAILED, "format": job.format, "filters": job.filters},
            reason=job.error,
        )
        emit(ExportFinished(job.pk, job.project_id, job.format, JobState.FAILED))
    _notify(job, state=JobState.FAILED, progress=job.progress, row_count=job.row_count)
    return job.state


def export_jobs_requeue_stale(*, older_than: timedelta = STALE_RUNNING_AFTER) -> int:
    """Hand queued jobs whose task never arrived (broker down at creation), and running
    jobs whose worker died, to Celery again. Running a job twice is harmless."""
    job_ids = stale_job_ids(ExportJob, older_than=older_than)
    for job_id in job_ids:
        _enqueue_export(job_id)
    return len(job_ids)
