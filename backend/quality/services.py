"""Writes of the quality app: computing a message's signals, eval sets, and the jobs
that recompute signals over a project (docs/quality.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import Field
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import NotFound, ValidationFailed
from backend.common.events import MessageQualityFlagged, emit
from backend.common.outbox import enqueue
from backend.projects.models import Project
from backend.quality.models import (
    EvalPrompt,
    EvalSet,
    MessageQuality,
    QualityFlag,
    QualityJob,
    QualityJobKind,
    QualityJobState,
)
from backend.quality.registry import QualityContext, SignalProvider, all_providers, get_provider
from backend.trees.models import Message, Role

logger = logging.getLogger(__name__)

JOB_TASK = "tasks.quality.quality_job_run"
# Eval sets: what one upload may hold.
EVAL_SET_MAX_BYTES = 20 * 1024 * 1024
EVAL_SET_MAX_PROMPTS = 50_000
EVAL_PROMPT_MAX_CHARS = 20_000
EVAL_SET_NAME_MAX = 200
# A job reports progress after this many messages.
JOB_PROGRESS_EVERY = 50

_FLAG_ORDER = [flag.value for flag in QualityFlag]


def _indexes() -> ModuleType:
    """This process's indexes, imported on first use: the detectors' libraries take
    seconds to import, which pages and commands that never compute should not pay."""
    from backend.quality import indexes

    return indexes


def _selected_providers(signals: Sequence[str] | None) -> list[SignalProvider]:
    if signals is None:
        return all_providers()
    chosen = []
    for name in signals:
        provider = get_provider(name)
        if provider is None:
            raise ValidationFailed("signal", "unknown_signal", f"No quality signal {name!r}.")
        chosen.append(provider)
    order = {provider.name: index for index, provider in enumerate(all_providers())}
    return sorted(chosen, key=lambda provider: order[provider.name])


def _reset(row: MessageQuality, fields: Sequence[str]) -> None:
    for name in fields:
        model_field = cast(Field, MessageQuality._meta.get_field(name))
        attribute = getattr(model_field, "attname", name)
        default = model_field.get_default() if model_field.has_default() else None
        if default is None and not model_field.null:
            default = ""
        setattr(row, attribute, default)


def _attribute(name: str) -> str:
    return cast(Field, MessageQuality._meta.get_field(name)).attname


def message_quality_compute(
    *, message_id: int, signals: Sequence[str] | None = None
) -> MessageQuality | None:
    """Compute the signals of one message (all, or the ones named) and store them with
    their detectors' versions.

    The detectors run before the transaction (no lock is held while they work); the
    row is then locked and written only if the message's text is still the one they
    read, so an edit made meanwhile is left to its own computation. Flags of the
    signals not recomputed stay; a flag the message did not have before emits
    ``MessageQualityFlagged`` with all its current flags. A deleted or vanished message
    is left alone. Safe to run twice.
    """
    chosen = _selected_providers(signals)
    message = Message.objects.select_related("tree__project").filter(pk=message_id).first()
    if message is None or message.is_deleted:
        return None
    project = message.tree.project
    now = timezone.now()
    context = _context(project, message, now)
    if signals is not None and "language" not in signals:
        # The language is not recomputed: the later signals read the stored one.
        stored = (
            MessageQuality.objects.filter(message_id=message.pk)
            .values_list("lang_detected", "lang_confidence")
            .first()
        )
        if stored and stored[1] is not None and stored[1] >= project.quality_lang_min_confidence:
            context.confident_lang = stored[0] or None
    scratch = MessageQuality(message_id=message.pk, project_id=project.pk, computed_at=now)
    computed: dict[str, set[str]] = {}
    for provider in chosen:
        if provider.applies_to(context):
            computed[provider.name] = set(provider.compute(scratch, context))

    with transaction.atomic():
        current = Message.objects.filter(pk=message.pk).values_list("text", "is_deleted").first()
        if current is None or current[1] or current[0] != message.text:
            return None  # deleted or edited meanwhile: its own computation follows
        MessageQuality.objects.get_or_create(
            message_id=message.pk, defaults={"project_id": project.pk, "computed_at": now}
        )
        row = MessageQuality.objects.select_for_update().get(message_id=message.pk)
        before = set(row.flags)
        flags = set(before)
        versions = dict(row.versions)
        for provider in chosen:
            _reset(row, provider.fields)
            flags -= set(provider.flags)
            versions.pop(provider.name, None)
            if provider.name in computed:
                for name in provider.fields:
                    setattr(row, _attribute(name), getattr(scratch, _attribute(name)))
                flags |= computed[provider.name]
                versions[provider.name] = provider.version
        row.flags = _ordered_flags(flags)
        row.versions = versions
        row.computed_at = now
        row.save()
        raised = flags - before
        if raised:
            audit_record(
                action=AuditAction.QUALITY_FLAGGED,
                target_type="message",
                target_id=message.pk,
                project_id=project.pk,
                before={"flags": sorted(before)},
                after={"flags": row.flags},
                is_automatic=True,
            )
            emit(
                MessageQualityFlagged(
                    message_id=message.pk,
                    tree_id=message.tree_id,
                    project_id=project.pk,
                    flags=tuple(row.flags),
                )
            )
    return row


def _context(project: Project, message: Message, now: datetime) -> QualityContext:
    """What the providers read besides the message: this process's indexes and matchers."""
    return QualityContext(
        project=project,
        message=message,
        now=now,
        near_duplicates=_indexes().near_duplicate_indexes,
        eval_sets=_indexes().eval_set_matchers,
    )


def _ordered_flags(flags: set[str]) -> list[str]:
    """Built-in flags in their fixed order, then any a deployment's own signals add."""
    return [flag for flag in _FLAG_ORDER if flag in flags] + sorted(flags - set(_FLAG_ORDER))


def text_quality_flags(
    *,
    project: Project,
    lang: str,
    text: str,
    parent: Message | None,
    role: str = Role.ASSISTANT,
) -> list[str]:
    """The flags ``text`` would get as a message of ``project`` (in ``lang``, with
    ``role``, under ``parent``): the same providers under the project's thresholds, for
    texts that are not messages of a tree (an arena battle's model replies).

    Nothing is stored and no event is emitted; providers that change shared state
    (``stores_state``: the near-duplicate signatures and index) are skipped, so the
    text never becomes an original that later prompts are compared with. The
    detectors take seconds to load in a fresh process: call this in a worker, never in
    a web request.
    """
    message = Message(parent=parent, role=role, lang=lang, text=text)
    if parent is not None:
        message.tree_id = parent.tree_id
        message.depth = parent.depth + 1
    context = _context(project, message, timezone.now())
    scratch = MessageQuality(project_id=project.pk, computed_at=context.now)
    flags: set[str] = set()
    for provider in all_providers():
        if provider.stores_state or not provider.applies_to(context):
            continue
        flags |= set(provider.compute(scratch, context))
    return _ordered_flags(flags)


# --- eval sets ---------------------------------------------------------------------


def eval_prompts_parse(raw: bytes | str) -> list[str]:
    """The prompts of a JSONL upload (one ``{"prompt": "..."}`` object a line; blank
    lines are skipped). Refusals are field errors on ``file`` with stable codes."""
    if isinstance(raw, bytes):
        if len(raw) > EVAL_SET_MAX_BYTES:
            raise ValidationFailed(
                "file", "too_large", f"An eval set may hold at most {EVAL_SET_MAX_BYTES} bytes."
            )
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationFailed("file", "not_utf8", "The file is not UTF-8 text.") from error
    elif len(raw.encode()) > EVAL_SET_MAX_BYTES:
        raise ValidationFailed(
            "file", "too_large", f"An eval set may hold at most {EVAL_SET_MAX_BYTES} bytes."
        )
    prompts: list[Any] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            prompts.append(json.loads(line))
        except ValueError as error:
            raise ValidationFailed(
                "file", "invalid_line", f"Line {number} is not a JSON object."
            ) from error
    return eval_prompts_check(prompts, field="file")


def eval_prompts_check(items: Sequence[Any], *, field: str = "prompts") -> list[str]:
    """Each item must be ``{"prompt": "non-blank text"}``; returns the texts."""
    if not items:
        raise ValidationFailed(field, "empty", "The eval set holds no prompts.")
    if len(items) > EVAL_SET_MAX_PROMPTS:
        raise ValidationFailed(
            field,
            "too_many_prompts",
            f"An eval set may hold at most {EVAL_SET_MAX_PROMPTS} prompts.",
        )
    texts = []
    for number, item in enumerate(items, start=1):
        text = item.get("prompt") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed(
                field, "invalid_prompt", f'Item {number} has no non-blank "prompt" string.'
            )
        if len(text) > EVAL_PROMPT_MAX_CHARS:
            raise ValidationFailed(
                field,
                "prompt_too_long",
                f"Item {number} is longer than {EVAL_PROMPT_MAX_CHARS} characters.",
            )
        texts.append(text.strip())
    return texts


def eval_set_create(
    *, project: Project, name: str, prompts: Sequence[str], actor_id: int | None
) -> tuple[EvalSet, QualityJob]:
    """Store an eval set and queue the re-check of the project's prompter texts
    against it (a job with progress). Names are unique per project."""
    name = (name or "").strip()
    if not name:
        name = f"eval-set-{EvalSet.objects.filter(project=project).count() + 1}"
    if len(name) > EVAL_SET_NAME_MAX:
        raise ValidationFailed(
            "name", "too_long", f"A name may hold at most {EVAL_SET_NAME_MAX} characters."
        )
    try:
        with transaction.atomic():
            eval_set = EvalSet.objects.create(
                project=project, name=name, created_by_id=actor_id, prompt_count=len(prompts)
            )
            EvalPrompt.objects.bulk_create(
                [
                    EvalPrompt(eval_set=eval_set, position=position, text=text)
                    for position, text in enumerate(prompts)
                ],
                batch_size=1000,
            )
            audit_record(
                action=AuditAction.QUALITY_EVAL_SET_ADDED,
                target_type="eval_set",
                target_id=eval_set.pk,
                actor_id=actor_id,
                project_id=project.pk,
                after={"name": name, "prompt_count": len(prompts)},
            )
            job = _job_create(
                project=project,
                kind=QualityJobKind.EVAL_SET_CHECK,
                signal="leakage",
                eval_set=eval_set,
                actor_id=actor_id,
            )
    except IntegrityError as error:
        raise ValidationFailed(
            "name", "duplicate_name", f"The project has an eval set named {name!r} already."
        ) from error
    return eval_set, job


def eval_set_delete(*, project: Project, eval_set_id: int, actor_id: int | None) -> None:
    """Delete an eval set. Stored leakage results that named it lose their set (the
    next re-run recomputes them)."""
    with transaction.atomic():
        eval_set = (
            EvalSet.objects.select_for_update().filter(pk=eval_set_id, project=project).first()
        )
        if eval_set is None:
            raise NotFound("eval_set_not_found", "No such eval set in this project.")
        audit_record(
            action=AuditAction.QUALITY_EVAL_SET_DELETED,
            target_type="eval_set",
            target_id=eval_set.pk,
            actor_id=actor_id,
            project_id=project.pk,
            before={"name": eval_set.name, "prompt_count": eval_set.prompt_count},
        )
        eval_set.delete()
    _indexes().eval_set_matchers.forget(eval_set_id=eval_set_id)


# --- jobs --------------------------------------------------------------------------


def _job_messages(job: QualityJob) -> list[int]:
    """What a job goes through, oldest first (so duplicates link to earliest originals)."""
    messages = Message.objects.filter(tree__project_id=job.project_id, is_deleted=False)
    if job.kind == QualityJobKind.EVAL_SET_CHECK:
        messages = messages.filter(role=Role.PROMPTER)
    if job.kind == QualityJobKind.IMPORTED:
        messages = messages.filter(quality__isnull=True)
    return list(messages.order_by("created_at", "pk").values_list("pk", flat=True))


def _job_create(
    *,
    project: Project,
    kind: QualityJobKind,
    signal: str,
    actor_id: int | None,
    eval_set: EvalSet | None = None,
    in_background: bool = True,
) -> QualityJob:
    job = QualityJob.objects.create(
        project=project, kind=kind, signal=signal, eval_set=eval_set, created_by_id=actor_id
    )
    audit_record(
        action=AuditAction.QUALITY_JOB_REQUESTED,
        target_type="quality_job",
        target_id=job.pk,
        actor_id=actor_id,
        project_id=project.pk,
        after={"kind": kind, "signal": signal},
    )
    if in_background:
        enqueue(JOB_TASK, job.pk)
    return job


def quality_rerun_request(
    *,
    project: Project,
    signal: str | None = None,
    actor_id: int | None = None,
    in_background: bool = True,
) -> QualityJob:
    """Create a job recomputing every signal (or one) over the project's messages, and
    queue it (``in_background``; otherwise the caller runs ``quality_job_run``)."""
    if signal:
        _selected_providers([signal])  # refuses an unknown name
    with transaction.atomic():
        return _job_create(
            project=project,
            kind=QualityJobKind.RERUN,
            signal=signal or "",
            actor_id=actor_id,
            in_background=in_background,
        )


def quality_imported_request(*, project_id: int) -> QualityJob:
    """After an import: a job computing the signals of the project's messages that
    have none yet (imports store trees in bulk, without a ``MessageCreated`` each)."""
    return _job_create(
        project=Project.objects.get(pk=project_id),
        kind=QualityJobKind.IMPORTED,
        signal="",
        actor_id=None,
    )


def quality_job_run(
    *, job_id: int, progress: Callable[[int, int], None] | None = None
) -> QualityJob | None:
    """Run a queued job: recompute its signals message by message, reporting progress.

    A job already finished is left alone (the task may be delivered twice); a job found
    running is taken over (its worker died), which only repeats idempotent work.
    """
    with transaction.atomic():
        job = QualityJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (QualityJobState.SUCCEEDED, QualityJobState.FAILED):
            return job
        message_ids = _job_messages(job)
        job.state = QualityJobState.RUNNING
        job.started_at = timezone.now()
        job.total = len(message_ids)
        job.done = 0
        job.save(update_fields=["state", "started_at", "total", "done"])
    signals = [job.signal] if job.signal else None
    if job.kind == QualityJobKind.RERUN and (signals is None or "duplicates" in signals):
        # Rebuilt from the rows the re-run writes, oldest prompt first.
        _indexes().near_duplicate_indexes.forget(project_id=job.project_id)
    try:
        for done, message_id in enumerate(message_ids, start=1):
            message_quality_compute(message_id=message_id, signals=signals)
            if done % JOB_PROGRESS_EVERY == 0:
                QualityJob.objects.filter(pk=job.pk).update(done=done)
                if progress is not None:
                    progress(done, len(message_ids))
    except Exception as error:  # the job records why it failed
        logger.exception("quality job %s failed", job.pk)
        QualityJob.objects.filter(pk=job.pk).update(
            state=QualityJobState.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    QualityJob.objects.filter(pk=job.pk).update(
        state=QualityJobState.SUCCEEDED, done=len(message_ids), finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job
