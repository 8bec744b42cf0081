"""Export and import jobs, and what an import keeps that Arbor's own tables cannot hold.

A job row is the whole truth about a background export or import: the worker claims
it, reports progress into it and stores the result (file, counts, checksum) in it, so
the API, the web page and the websocket all read the same thing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.exports.storage import export_storage


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED_JOB_STATES = (JobState.SUCCEEDED, JobState.FAILED)


class ExportFormat(models.TextChoices):
    OASST_TREES = "oasst-trees"
    OASST_MESSAGES = "oasst-messages"
    PREFERENCES = "preferences"
    SFT = "sft"
    PARQUET = "parquet"
    HF_DATASET = "hf-dataset"


class ImportFormat(models.TextChoices):
    OASST_TREES = "oasst-trees"
    SHAREGPT = "sharegpt"


def export_file_name(instance: ExportJob, filename: str) -> str:
    return f"exports/{instance.pk or 'new'}/{filename}"


def import_file_name(instance: ImportJob, filename: str) -> str:
    return f"imports/{filename}"


class Job(models.Model):
    """What every background job row has: owner, project, state, progress, the error of
    a failure, its times, and the heartbeat by which a lost worker is noticed (refreshed
    with every progress report; a running job whose heartbeat is old may be taken over
    by a redelivered task)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="%(class)s_progress_le_100"
            ),
            models.CheckConstraint(
                condition=Q(state__in=[state.value for state in JobState]),
                name="%(class)s_state_valid",
            ),
        ]


class ExportJob(Job):
    """One export: filters in, a file with its size and sha256 out."""

    format = models.CharField(max_length=32, choices=ExportFormat.choices)
    # Normalised filters (see ``backend.exports.options``); never the secret.
    filters = models.JSONField(default=dict)
    row_count = models.PositiveBigIntegerField(default=0)
    message_count = models.PositiveBigIntegerField(default=0)
    tree_count = models.PositiveBigIntegerField(default=0)
    byte_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(
        storage=export_storage, upload_to=export_file_name, max_length=255, blank=True
    )
    # The anonymisation key, kept only until the job finishes: with it the hashed ids
    # could be linked back, so it is wiped (success or failure) and never shown.
    secret = models.CharField(max_length=256, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.state})"


class ImportJob(Job):
    """One upload: a file in, counts and per-line errors out."""

    format = models.CharField(max_length=32, choices=ImportFormat.choices)
    target_state = models.CharField(max_length=32)
    is_strict = models.BooleanField(default=False)
    lang = models.CharField(max_length=32, blank=True)
    file = models.FileField(storage=export_storage, upload_to=import_file_name, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    lines_read = models.PositiveBigIntegerField(default=0)
    trees_created = models.PositiveBigIntegerField(default=0)
    trees_duplicate = models.PositiveBigIntegerField(default=0)
    messages_created = models.PositiveBigIntegerField(default=0)
    error_count = models.PositiveBigIntegerField(default=0)
    # ``[{"line": n, "reason": "..."}]``, the first ``MAX_REPORTED_ERRORS`` of them.
    errors = models.JSONField(default=list)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.format}, {self.state})"


class ImportedLabel(models.Model):
    """A label aggregate that came with an imported message (Open-Assistant exports
    carry ``{value, count}``, not the votes behind them).

    Kept apart from ``LabelVote`` on purpose: those are one person's vote each and feed
    acceptance, agreement and reliability; inventing voters for imported means would
    corrupt all three. Exports merge both into one ``labels`` entry.
    """

    message = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="imported_labels"
    )
    name = models.CharField(max_length=64)
    value = models.FloatField(null=True, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "name"], name="importedlabel_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} ({self.count}) on message {self.message_id}"


class ImportedEmoji(models.Model):
    """An emoji count that came with an imported message (any code Open-Assistant used,
    e.g. ``_skip_reply``, which Arbor's own reactions do not offer)."""

    message = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="imported_emojis"
    )
    emoji = models.CharField(max_length=64)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "emoji"], name="importedemoji_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.emoji}×{self.count} on message {self.message_id}"


class ImportedTreeHash(models.Model):
    """The content hash of a tree an import created (see ``backend.exports.content``),
    by which a later import of the same content, under whatever ids, skips it."""

    tree = models.OneToOneField(
        "trees.Tree", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    content_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["project", "content_hash"])]

    def __str__(self) -> str:
        return f"tree {self.tree_id}: {self.content_hash[:12]}"
