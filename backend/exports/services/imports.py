"""Imports: Open-Assistant trees and ShareGPT conversations into a project.

``import_trees_run`` is the engine, shared by the CLI and the upload job. It streams the
file line by line (``.gz`` files too), parses each line with a pure parser, and inserts
trees in chunks of ``CHUNK_TREES`` — one transaction per chunk, messages inserted level
by level with ``bulk_create`` so parents have ids before their replies.

- Limits (``docs/security.md``): an upload larger than ``IMPORT_MAX_UPLOAD_BYTES`` is
  refused (413); a file that holds more than ``IMPORT_MAX_DECOMPRESSED_BYTES`` once
  unzipped, or a line (or array item) larger than ``IMPORT_MAX_RECORD_BYTES``, stops
  the import with ``ImportLimitExceeded`` and the job fails saying which limit. Reading
  never holds more than one chunk plus one record in memory, however the file is
  compressed: a gzip bomb costs CPU until the limit, never memory.
- An uploaded file is deleted when its job ends (succeeded or failed);
  ``import_files_sweep`` removes any left behind (a job that never ran, a crash).
- A bad line is reported with its number and reason; the other lines import. With
  ``strict`` the whole file is validated first and nothing is imported if any line is
  bad; then everything is imported in one transaction.
- A tree whose origin id (Open-Assistant's ``message_tree_id``; for ShareGPT a UUID
  derived from the item) already exists in the project is skipped and counted as a
  duplicate, so importing a file twice creates nothing the second time. The database's
  unique constraint on (project, origin_id) settles two imports racing each other.
- Label aggregates and emoji counts land in ``ImportedLabel``/``ImportedEmoji``;
  ranks, review results, deletion, synthetic flags, model names and (when given)
  creation dates are kept on the messages, so an export gives the same trees back.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, NotFound, ValidationFailed
from backend.common.events import ImportFinished, emit
from backend.common.outbox import enqueue
from backend.exports.content import (
    content_hash,
    has_mask,
    path_hashes,
    tree_within,
    unmasked_prefix,
)
from backend.exports.formats.oasst_import import parse_oasst_tree
from backend.exports.formats.records import ImportLineError, ImportMessage, ImportTree
from backend.exports.formats.sharegpt import parse_sharegpt
from backend.exports.models import (
    FINISHED_JOB_STATES,
    ImportedEmoji,
    ImportedLabel,
    ImportedTreeHash,
    ImportFormat,
    ImportJob,
    JobState,
)
from backend.exports.permissions import require_researcher_or_admin
from backend.exports.services.jobs import (
    STALE_RUNNING_AFTER,
    job_claim,
    job_notify,
    stale_job_ids,
)
from backend.projects.models import Project
from backend.trees.models import Message, Tree, TreeState, text_digest

logger = logging.getLogger(__name__)

CHUNK_TREES = 200
READ_CHUNK = 1 << 20
MAX_REPORTED_ERRORS = 1000
IMPORT_STATES = (TreeState.BACKLOG.value, TreeState.READY_FOR_EXPORT.value)
PROGRESS_INTERVAL_SECONDS = 1.0

PARSERS: dict[str, Callable[..., ImportTree]] = {
    ImportFormat.OASST_TREES: parse_oasst_tree,
    ImportFormat.SHAREGPT: parse_sharegpt,
}

OpenFile = Callable[[], BinaryIO]
ImportProgress = Callable[[int, "ImportReport"], None]  # (bytes read, report so far)


@dataclass
class ImportReport:
    lines_read: int = 0
    trees_created: int = 0
    trees_duplicate: int = 0
    messages_created: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    imported_nothing: bool = False  # the file was refused: the import fails
    failure: str = ""  # why, when it was refused

    def refuse(self, failure: str) -> None:
        self.imported_nothing = True
        self.failure = failure

    def add_error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "reason": reason})

    def counts(self) -> dict[str, int]:
        return {
            "lines_read": self.lines_read,
            "trees_created": self.trees_created,
            "trees_duplicate": self.trees_duplicate,
            "messages_created": self.messages_created,
            "error_count": self.error_count,
        }


# --- Reading --------------------------------------------------------------------------


def _decode(raw_line: bytes) -> Any:
    try:
        text = raw_line.decode("utf-8")
    except UnicodeDecodeError:
        return ImportLineError("the line is not UTF-8 text")
    try:
        return json.loads(text)
    except RecursionError:
        return ImportLineError("invalid JSON: nested too deeply")
    except ValueError as error:
        return ImportLineError(f"invalid JSON: {error}")


class ImportLimitExceeded(ArborError):
    """The file breaks one of the size limits; the import stops (413 for an upload)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, status_code=413)


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):g} MB"


class _CountingReader:
    """Reads a (decompressed) stream and stops it at ``limit`` bytes."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.count = 0

    def read(self, size: int) -> bytes:
        chunk: bytes = self.stream.read(size)
        self.count += len(chunk)
        if self.count > self.limit:
            raise ImportLimitExceeded(
                "import_too_large",
                f"the file holds more than {_megabytes(self.limit)} of data once "
                "decompressed (IMPORT_MAX_DECOMPRESSED_BYTES)",
            )
        return chunk


def _record_too_large(kind: str, number: int, limit: int) -> ImportLimitExceeded:
    return ImportLimitExceeded(
        "import_record_too_large",
        f"{kind} {number} is larger than {_megabytes(limit)}, the limit for one record "
        "(IMPORT_MAX_RECORD_BYTES)",
    )


def read_records(open_file: OpenFile) -> Iterator[tuple[int, Any, int]]:
    """(line number, decoded JSON or an ``ImportLineError``, bytes read so far).

    JSONL, gzipped or not. A file that is one JSON array (common for ShareGPT dumps) is
    read item by item, numbered from 1 like lines. Raises ``ImportLimitExceeded`` when
    the file or one record is larger than the settings allow.
    """
    record_limit = int(settings.IMPORT_MAX_RECORD_BYTES)
    with open_file() as raw:
        magic = raw.read(2)
        raw.seek(0)
        compressed: Any = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
        stream = _CountingReader(compressed, int(settings.IMPORT_MAX_DECOMPRESSED_BYTES))
        head = stream.read(256)
        if head.lstrip()[:1] == b"[":
            yield from _array_items(stream, head, record_limit)
            return
        # Read in fixed-size chunks (not by iterating: Django's File rewinds for that).
        position = 0
        number = 0
        buffer = head
        while True:
            *lines, buffer = buffer.split(b"\n")
            for raw_line in lines:
                number += 1
                if len(raw_line) > record_limit:
                    raise _record_too_large("line", number, record_limit)
                position += len(raw_line) + 1
                if raw_line.strip():
                    yield number, _decode(raw_line), position
            if len(buffer) > record_limit:  # a line that has not ended yet
                raise _record_too_large("line", number + 1, record_limit)
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            buffer += chunk
        if buffer.strip():
            number += 1
            position += len(buffer)
            yield number, _decode(buffer), position


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _array_items(stream: _CountingReader, head: bytes, record_limit: int) -> Iterator[
    tuple[int, Any, int]
]:  # fmt: skip
    """The items of a JSON array, decoded one at a time from a bounded buffer."""
    text_decoder = codecs.getincrementaldecoder("utf-8")()
    json_decoder = json.JSONDecoder()
    pending = ""
    offset = 0
    is_at_end = False
    number = 0
    expects_item = True  # an item (or the closing bracket) comes next, not a comma

    def fill() -> str | None:
        nonlocal pending, offset, is_at_end
        chunk = stream.read(READ_CHUNK)
        is_at_end = not chunk
        try:
            pending = pending[offset:] + text_decoder.decode(chunk, final=is_at_end)
        except UnicodeDecodeError:
            return "the file is not UTF-8 text"
        offset = 0
        return None

    problem = None
    try:
        pending = text_decoder.decode(head)
    except UnicodeDecodeError:
        problem = "the file is not UTF-8 text"
    offset = _WHITESPACE.match(pending).end() + 1  # type: ignore[union-attr]  # past "["
    while problem is None:
        offset = _WHITESPACE.match(pending, offset).end()  # type: ignore[union-attr]
        if offset >= len(pending):
            if is_at_end:
                problem = "invalid JSON: the array does not end"
                break
            problem = fill()
            continue
        character = pending[offset]
        if character == "]" and (number == 0 or not expects_item):
            return
        if not expects_item:
            if character != ",":
                problem = f"invalid JSON: a comma or ] expected after item {number}"
                break
            offset += 1
            expects_item = True
            continue
        try:
            value, end = json_decoder.raw_decode(pending, offset)
        except RecursionError:
            problem = "invalid JSON: nested too deeply"
            break
        except ValueError as error:
            if is_at_end:
                problem = f"invalid JSON: {error}"
                break
            if len(pending) - offset > record_limit:
                raise _record_too_large("item", number + 1, record_limit) from None
            problem = fill()  # the item goes on in the next chunk
            continue
        if end == len(pending) and not is_at_end and not isinstance(value, dict | list):
            problem = fill()  # a number may go on in the next chunk: decode it again
            continue
        if end - offset > record_limit:
            raise _record_too_large("item", number + 1, record_limit)
        number += 1
        offset = end
        expects_item = False
        yield number, value, stream.count
    yield max(1, number + 1), ImportLineError(problem), stream.count


# --- Inserting ------------------------------------------------------------------------


@dataclass
class _ChunkResult:
    created: int = 0
    duplicate: int = 0
    messages: int = 0
    langs: set[str] = field(default_factory=set)


@dataclass
class _KnownContent:
    hashes: set[str]
    # root text digest -> the path-hash sets of the project's trees with that root text
    trees: dict[str, list[set[str]]]
    # candidate index -> the messages of the trees a candidate with PII masks may be in
    masked: dict[int, list[list[tuple[int, int | None, str, str]]]]


MASKED_ROOT_CANDIDATES = 50
MASKED_ROOT_MIN_PREFIX = 8


def _content_already_here(
    project: Project, candidates: list[tuple[ImportTree, set[str], str]]
) -> _KnownContent:
    """What of the candidates' content the project already holds: the stored content
    hashes of imported trees, and the path hashes of every tree (imported or written
    here) whose root has the same text as a candidate's root; for a candidate with PII
    masks, the messages of the trees whose root text it may be (same text, or the same
    text up to the first mask)."""
    if not candidates:
        return _KnownContent(set(), {}, {})
    hashes = set(
        ImportedTreeHash.objects.filter(
            project=project, content_hash__in=[digest for _, _, digest in candidates]
        ).values_list("content_hash", flat=True)
    )
    # Through Tree.root: the project's trees (index on project), then their roots by
    # primary key; Message has no index on text_digest.
    project_roots = Message.objects.filter(
        pk__in=Tree.objects.filter(project=project, root__isnull=False).values("root_id")
    )
    digests = {text_digest(tree.messages[0].text) for tree, _, _ in candidates}
    tree_ids = set(project_roots.filter(text_digest__in=digests).values_list("tree_id", flat=True))
    masked_ids: dict[int, set[int]] = {}
    for index, (tree, _, _) in enumerate(candidates):
        if not any(has_mask(message.text) for message in tree.messages):
            continue
        root_text = tree.messages[0].text
        if not has_mask(root_text):
            query = project_roots.filter(text_digest=text_digest(root_text))
        elif len(prefix := unmasked_prefix(root_text).strip()) >= MASKED_ROOT_MIN_PREFIX:
            query = project_roots.filter(text__startswith=prefix)
        else:
            continue
        masked_ids[index] = set(query.values_list("tree_id", flat=True)[:MASKED_ROOT_CANDIDATES])
        tree_ids |= masked_ids[index]
    rows: dict[int, list[tuple[int, int | None, str, str]]] = {}
    for tree_id, pk, parent_id, role, text in (
        Message.objects.filter(tree_id__in=tree_ids)
        .order_by("depth", "pk")
        .values_list("tree_id", "pk", "parent_id", "role", "text")
    ):
        rows.setdefault(tree_id, []).append((pk, parent_id, role, text))
    trees: dict[str, list[set[str]]] = {}
    for messages in rows.values():
        trees.setdefault(text_digest(messages[0][3]), []).append(path_hashes(messages))
    masked = {
        index: [rows[tree_id] for tree_id in ids if tree_id in rows]
        for index, ids in masked_ids.items()
    }
    return _KnownContent(hashes, trees, masked)


def _insert(project: Project, target_state: str, trees: list[ImportTree]) -> _ChunkResult:
    """Insert the trees that are not in the project yet. Call inside a transaction."""
    result = _ChunkResult()
    origins = {tree.origin_id for tree in trees}
    existing = set(
        Tree.objects.filter(project=project, origin_id__in=origins).values_list(
            "origin_id", flat=True
        )
    )
    candidates: list[tuple[ImportTree, set[str], str]] = []
    for tree in trees:
        if tree.origin_id in existing:
            result.duplicate += 1
            continue
        existing.add(tree.origin_id)
        paths = path_hashes(
            (message.origin_id, message.parent_origin_id, message.role, message.text)
            for message in tree.messages
        )
        candidates.append((tree, paths, content_hash(paths)))
    known = _content_already_here(project, candidates)
    fresh: list[ImportTree] = []
    hashes: list[str] = []
    for index, (tree, paths, digest) in enumerate(candidates):
        nodes = [
            (message.origin_id, message.parent_origin_id, message.role, message.text)
            for message in tree.messages
        ]
        if (
            digest in known.hashes
            or any(
                paths <= here for here in known.trees.get(text_digest(tree.messages[0].text), ())
            )
            or any(tree_within(nodes, here) for here in known.masked.get(index, ()))
        ):
            result.duplicate += 1
            continue
        known.hashes.add(digest)
        known.trees.setdefault(text_digest(tree.messages[0].text), []).append(paths)
        fresh.append(tree)
        hashes.append(digest)
    if not fresh:
        return result
    tree_rows = Tree.objects.bulk_create(
        [
            Tree(project=project, lang=tree.lang, state=target_state, origin_id=tree.origin_id)
            for tree in fresh
        ]
    )
    levels: dict[int, list[tuple[int, ImportMessage]]] = {}
    for index, tree in enumerate(fresh):
        for message in tree.messages:
            levels.setdefault(message.depth, []).append((index, message))
    saved: dict[tuple[int, str], Message] = {}
    dated: list[Message] = []
    labels: list[ImportedLabel] = []
    emojis: list[ImportedEmoji] = []
    for depth in sorted(levels):
        level = levels[depth]
        rows = [
            Message(
                tree=tree_rows[index],
                parent=saved[(index, message.parent_origin_id)]
                if message.parent_origin_id is not None
                else None,
                depth=depth,
                role=message.role,
                text=message.text,
                text_digest=text_digest(message.text),
                lang=message.lang,
                synthetic=message.synthetic,
                model_name=message.model_name,
                review_count=message.review_count,
                review_result=message.review_result,
                rank=message.rank,
                is_deleted=message.deleted,
                origin_id=message.origin_id,
            )
            for index, message in level
        ]
        Message.objects.bulk_create(rows, batch_size=500)
        for (index, message), row in zip(level, rows, strict=True):
            saved[(index, message.origin_id)] = row
            if message.created_at is not None:
                row.created_at = message.created_at
                dated.append(row)
            labels.extend(
                ImportedLabel(message=row, name=name, value=value, count=count)
                for name, (value, count) in message.labels.items()
            )
            emojis.extend(
                ImportedEmoji(message=row, emoji=emoji, count=count)
                for emoji, count in message.emojis.items()
            )
    for index, tree_row in enumerate(tree_rows):
        root = saved[(index, fresh[index].messages[0].origin_id)]
        tree_row.root = root
        if fresh[index].messages[0].created_at is not None:
            tree_row.created_at = root.created_at
        result.langs.add(tree_row.lang)
    Tree.objects.bulk_update(tree_rows, ["root", "created_at"], batch_size=500)
    if dated:
        # bulk_update bypasses auto_now_add, which bulk_create applied.
        Message.objects.bulk_update(dated, ["created_at"], batch_size=500)
    ImportedTreeHash.objects.bulk_create(
        [
            ImportedTreeHash(tree=tree_row, project=project, content_hash=digest)
            for tree_row, digest in zip(tree_rows, hashes, strict=True)
        ],
        batch_size=1000,
    )
    ImportedLabel.objects.bulk_create(labels, batch_size=1000)
    ImportedEmoji.objects.bulk_create(emojis, batch_size=1000)
    result.created = len(fresh)
    result.messages = sum(len(tree.messages) for tree in fresh)
    return result


def _insert_chunk(
    project: Project,
    target_state: str,
    chunk: list[tuple[int, ImportTree]],
    report: ImportReport,
    langs: set[str],
    *,
    strict: bool,
) -> None:
    def apply(result: _ChunkResult) -> None:
        report.trees_created += result.created
        report.trees_duplicate += result.duplicate
        report.messages_created += result.messages
        langs.update(result.langs)

    trees = [tree for _, tree in chunk]
    if strict:  # inside the import's one transaction: any failure undoes everything
        apply(_insert(project, target_state, trees))
        return
    try:
        with transaction.atomic():
            result = _insert(project, target_state, trees)
        apply(result)
        return
    except DatabaseError:
        logger.info("chunk insert failed; retrying tree by tree", exc_info=True)
    # One tree at a time, so one bad tree (or one inserted meanwhile by a concurrent
    # import of the same file) does not cost the others.
    for line, tree in chunk:
        try:
            with transaction.atomic():
                result = _insert(project, target_state, [tree])
            apply(result)
        except IntegrityError:
            if Tree.objects.filter(project=project, origin_id=tree.origin_id).exists():
                report.trees_duplicate += 1
            else:
                report.add_error(line, "the database refused the tree")
        except DatabaseError as error:
            report.add_error(line, f"the database refused the tree: {error}"[:300])


def _import_pass(
    *,
    open_file: OpenFile,
    project: Project,
    format: str,
    target_state: str,
    default_lang: str,
    report: ImportReport,
    langs: set[str],
    strict: bool,
    on_progress: ImportProgress | None,
) -> None:
    parse = PARSERS[format]
    chunk: list[tuple[int, ImportTree]] = []
    for number, record, position in read_records(open_file):
        report.lines_read += 1
        try:
            if isinstance(record, ImportLineError):
                raise record
            chunk.append((number, parse(record, default_lang=default_lang)))
        except ImportLineError as error:
            if strict:  # validated before: the file changed underneath
                raise
            report.add_error(number, error.reason)
        if len(chunk) >= CHUNK_TREES:
            _insert_chunk(project, target_state, chunk, report, langs, strict=strict)
            chunk = []
            if on_progress is not None:
                on_progress(position, report)
    if chunk:
        _insert_chunk(project, target_state, chunk, report, langs, strict=strict)


def _validate(*, open_file: OpenFile, format: str, default_lang: str, report: ImportReport) -> None:
    parse = PARSERS[format]
    for number, record, _ in read_records(open_file):
        report.lines_read += 1
        try:
            if isinstance(record, ImportLineError):
                raise record
            parse(record, default_lang=default_lang)
        except ImportLineError as error:
            report.add_error(number, error.reason)


def import_trees_run(
    *,
    open_file: OpenFile,
    project: Project,
    format: str,
    target_state: str = TreeState.BACKLOG,
    strict: bool = False,
    lang: str = "",
    on_progress: ImportProgress | None = None,
) -> ImportReport:
    """Import every good line of the file (all or nothing with ``strict``)."""
    if format not in PARSERS:
        raise ValidationFailed(
            "format", "invalid_format", f"Format is one of {', '.join(PARSERS)}."
        )
    if target_state not in IMPORT_STATES:
        raise ValidationFailed(
            "state", "invalid_state", f"Imported trees start in {' or '.join(IMPORT_STATES)}."
        )
    default_lang = lang or (project.languages[0] if project.languages else "en")
    report = ImportReport()
    langs: set[str] = set()
    arguments: dict[str, Any] = {
        "open_file": open_file,
        "project": project,
        "format": format,
        "target_state": target_state,
        "default_lang": default_lang,
        "report": report,
        "langs": langs,
        "strict": strict,
        "on_progress": on_progress,
    }
    if strict:
        _validate(open_file=open_file, format=format, default_lang=default_lang, report=report)
        if report.error_count:
            report.refuse(
                f"strict import refused: {report.error_count} bad line(s), nothing imported"
            )
            return report
        report.lines_read = 0
        with transaction.atomic():
            _import_pass(**arguments)
            _schedule_lottery(project, target_state, langs)
    else:
        _import_pass(**arguments)
        _schedule_lottery(project, target_state, langs)
    _refuse_if_nothing_imported(report, format)
    return report


def _first_error(report: ImportReport) -> str:
    first = report.errors[0] if report.errors else {"line": "?", "reason": "unknown"}
    return f"line {first['line']}: {first['reason']}"


def _refuse_if_nothing_imported(report: ImportReport, format: str) -> None:
    """A file from which not one tree could be read fails: every line bad (often a file
    that is not the declared format) or no line at all. Trees skipped because they are
    already here count as read: importing a file twice succeeds."""
    if report.imported_nothing or report.trees_created or report.trees_duplicate:
        return
    if report.error_count:
        report.refuse(
            f"nothing imported: all {report.error_count} line(s) are bad — is this really"
            f" a {format} file? (first: {_first_error(report)})"
        )
    else:
        report.refuse("nothing imported: the file holds no conversations")


def _schedule_lottery(project: Project, target_state: str, langs: set[str]) -> None:
    """Trees imported into ``backlog`` wait for the prompt lottery; run it now rather
    than at the next sweep."""
    if target_state != TreeState.BACKLOG:
        return
    project_id = project.pk
    for lang in sorted(langs):
        enqueue("tasks.trees.activate_waiting_trees", project_id, lang)


def _audit_import(
    *, report: ImportReport, project: Project, actor_id: int | None, target_id: object, source: str
) -> None:
    audit_record(
        action=(
            AuditAction.IMPORT_REFUSED if report.imported_nothing else AuditAction.IMPORT_FINISHED
        ),
        target_type="import",
        target_id=target_id,
        actor_id=actor_id,
        project_id=project.pk,
        after={"source": source, **report.counts(), "errors": report.errors[:20]},
    )


# --- CLI ------------------------------------------------------------------------------


def import_file(
    *,
    path: str,
    project_slug: str,
    format: str,
    target_state: str = TreeState.BACKLOG,
    strict: bool = False,
    lang: str = "",
    actor_id: int | None = None,
    on_progress: ImportProgress | None = None,
) -> ImportReport:
    project = Project.objects.filter(slug=project_slug).first()
    if project is None:
        raise NotFound("project_not_found", f"No project {project_slug!r}.")

    def open_file() -> BinaryIO:
        return open(path, "rb")  # read_records closes it

    report = import_trees_run(
        open_file=open_file,
        project=project,
        format=format,
        target_state=target_state,
        strict=strict,
        lang=lang,
        on_progress=on_progress,
    )
    with transaction.atomic():
        _audit_import(
            report=report, project=project, actor_id=actor_id, target_id=path[-64:], source=path
        )
    return report


# --- Jobs -----------------------------------------------------------------------------


def import_job_create(
    *,
    user: Any,
    project_slug: str,
    format: str,
    upload: UploadedFile,
    target_state: str = TreeState.BACKLOG,
    strict: bool = False,
    lang: str = "",
) -> ImportJob:
    """Store the upload and queue its import. Researchers and admins only."""
    require_researcher_or_admin(user)
    upload_limit = int(settings.IMPORT_MAX_UPLOAD_BYTES)
    if upload.size is not None and upload.size > upload_limit:
        raise ImportLimitExceeded(
            "file_too_large",
            f"The file is larger than {_megabytes(upload_limit)}, the limit for an upload.",
        )
    project = Project.objects.filter(slug=project_slug).first()
    if project is None:
        raise NotFound("project_not_found", f"No project {project_slug!r}.")
    if format not in PARSERS:
        raise ValidationFailed(
            "format", "invalid_format", f"Format is one of {', '.join(PARSERS)}."
        )
    if target_state not in IMPORT_STATES:
        raise ValidationFailed(
            "state", "invalid_state", f"Imported trees start in {' or '.join(IMPORT_STATES)}."
        )
    with transaction.atomic():
        job = ImportJob(
            created_by=user,
            project=project,
            format=format,
            target_state=target_state,
            is_strict=strict,
            lang=lang,
            original_name=(upload.name or "upload")[:255],
        )
        job.file.save(
            f"{timezone.now():%Y%m%d%H%M%S}-{upload.name or 'upload'}"[-200:], upload, save=False
        )
        job.save()
        audit_record(
            action=AuditAction.IMPORT_REQUESTED,
            target_type="import",
            target_id=job.pk,
            actor_id=user.pk,
            project_id=project.pk,
            after={
                "format": format,
                "project": project.slug,
                "state": target_state,
                "strict": strict,
                "file": job.original_name,
            },
        )
        job_id = job.pk
        _enqueue_import(job_id)
    job.refresh_from_db()
    return job


def _enqueue_import(job_id: int) -> None:
    enqueue("tasks.exports.run_import", job_id)


def _notify(job: ImportJob, **payload: Any) -> None:
    job_notify(job, kind="import", **payload)


def _claim(job_id: int) -> ImportJob | None:
    return job_claim(ImportJob, job_id, kind="import")


def import_job_run(*, job_id: int) -> str:
    """Run a queued import to the end; safe to call twice (see the export job).

    A job that was taken over after its worker died re-reads the file from the start:
    the trees the first attempt committed are found again and counted as duplicates.
    """
    job = _claim(job_id)
    if job is None:
        current = ImportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        return current or "missing"
    storage = job.file.storage
    name = job.file.name
    total_bytes = max(1, storage.size(name))
    last_report = [0.0]

    def on_progress(position: int, report: ImportReport) -> None:
        now = time.monotonic()
        if now - last_report[0] < PROGRESS_INTERVAL_SECONDS:
            return
        last_report[0] = now
        percent = min(99, 100 * position // total_bytes)
        ImportJob.objects.filter(pk=job_id, state=JobState.RUNNING).update(
            progress=percent, heartbeat_at=timezone.now(), **report.counts()
        )
        _notify(job, state=JobState.RUNNING, progress=percent, **report.counts())

    try:
        report = import_trees_run(
            open_file=lambda: storage.open(name, "rb"),
            project=job.project,
            format=job.format,
            target_state=job.target_state,
            strict=job.is_strict,
            lang=job.lang,
            on_progress=on_progress,
        )
    except ImportLimitExceeded as error:
        return _finish(job_id, None, f"import stopped: {error.detail}")
    except Exception as error:  # any failure ends the job as failed, with why
        logger.exception("import %s failed", job_id)
        return _finish(job_id, None, f"{type(error).__name__}: {error}")
    return _finish(job_id, report, "")


def _finish(job_id: int, report: ImportReport | None, error: str) -> str:
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("project")
            .get(pk=job_id)
        )
        if job.state != JobState.RUNNING:
            return job.state
        fields = ["state", "finished_at", "error", "progress"]
        job.finished_at = timezone.now()
        if report is None:
            job.state = JobState.FAILED
            job.error = error[:2000]
        else:
            for name, value in report.counts().items():
                setattr(job, name, value)
            job.errors = report.errors
            fields += [*report.counts(), "errors"]
            if report.imported_nothing:
                job.state = JobState.FAILED
                job.error = report.failure[:2000]
            else:
                job.state = JobState.SUCCEEDED
                job.progress = 100
            _audit_import(
                report=report,
                project=job.project,
                actor_id=job.created_by_id,
                target_id=job.pk,
                source=job.original_name,
            )
        if report is None:
            audit_record(
                action=AuditAction.IMPORT_FAILED,
                target_type="import",
                target_id=job.pk,
                actor_id=job.created_by_id,
                project_id=job.project_id,
                reason=job.error,
            )
        job.save(update_fields=fields)
        if job.state in (JobState.SUCCEEDED, JobState.FAILED):
            emit(ImportFinished(job.pk, job.project_id, job.state))
    _import_file_delete(job_id)
    _notify(job, state=job.state, progress=job.progress, **(report.counts() if report else {}))
    return job.state


def _import_file_delete(job_id: int) -> None:
    """The upload is not needed once its job has ended: delete it, then forget its name
    (a file that cannot be deleted now is left for ``import_files_sweep``)."""
    job = ImportJob.objects.filter(pk=job_id).only("file", "state").first()
    if job is None or not job.file.name or job.state not in FINISHED_JOB_STATES:
        return
    name = job.file.name
    try:
        job.file.storage.delete(name)
    except OSError:
        logger.warning("could not delete the upload %s of import %s", name, job_id, exc_info=True)
        return
    ImportJob.objects.filter(pk=job_id, file=name).update(file="")


def import_files_sweep(*, older_than: timedelta | None = None) -> int:
    """Delete uploads nobody needs any more; returns how many files went.

    Those of finished jobs go at once; any other file under ``imports/`` that no queued
    or running job names goes once it is older than ``older_than`` (default
    ``IMPORT_FILE_RETENTION_HOURS``): an upload whose job row was never written, or was
    deleted.
    """
    if older_than is None:
        older_than = timedelta(hours=float(settings.IMPORT_FILE_RETENTION_HOURS))
    removed = 0
    for job_id in (
        ImportJob.objects.filter(state__in=FINISHED_JOB_STATES)
        .exclude(file="")
        .values_list("pk", flat=True)
    ):
        _import_file_delete(job_id)
        removed += 1
    storage = ImportJob._meta.get_field("file").storage  # type: ignore[union-attr]
    try:
        _, names = storage.listdir("imports")
    except (FileNotFoundError, NotImplementedError):
        return removed
    in_use = set(
        ImportJob.objects.exclude(state__in=FINISHED_JOB_STATES)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    cutoff = timezone.now() - older_than
    for name in names:
        path = f"imports/{name}"
        if path in in_use:
            continue
        try:
            if storage.get_modified_time(path) > cutoff:
                continue
            storage.delete(path)
        except (OSError, NotImplementedError):
            logger.warning("could not sweep the upload %s", path, exc_info=True)
            continue
        removed += 1
    return removed


def import_jobs_requeue_stale(*, older_than: timedelta = STALE_RUNNING_AFTER) -> int:
    """Like ``export_jobs_requeue_stale``, for imports."""
    job_ids = stale_job_ids(ImportJob, older_than=older_than)
    for job_id in job_ids:
        _enqueue_import(job_id)
    return len(job_ids)
