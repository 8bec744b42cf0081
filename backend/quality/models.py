"""What the quality signals found per message, the evaluation sets leakage is checked
against, the persisted MinHash signatures of the near-duplicate index, and the jobs
that recompute signals over a project (docs/quality.md).

The rows are written only by ``backend.quality.services``; everything else reads them
through ``backend.quality.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class QualityFlag(models.TextChoices):
    """The signals that crossed a threshold; ``MessageQuality.flags`` lists these."""

    LANG_MISMATCH = "lang_mismatch"
    TOXICITY = "toxicity"
    PII = "pii"
    NEAR_DUPLICATE = "near_duplicate"
    EXACT_DUPLICATE = "exact_duplicate"
    LEAKAGE = "leakage"


class EvalSet(models.Model):
    """A named set of evaluation prompts a project's messages must not leak."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="eval_sets"
    )
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    prompt_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="evalset_unique_name")
        ]

    def __str__(self) -> str:
        return f"eval set {self.name} ({self.prompt_count} prompts)"


class EvalPrompt(models.Model):
    eval_set = models.ForeignKey(EvalSet, on_delete=models.CASCADE, related_name="prompts")
    # The line's place in the uploaded file, from 0.
    position = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["eval_set", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["eval_set", "position"], name="evalprompt_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"prompt {self.position} of eval set {self.eval_set_id}"


class MessageQuality(models.Model):
    """The signals of one message, each field null until its signal has run.

    ``versions`` maps each signal that ran to its detector's version, so a result can
    be told apart from one an older detector computed; ``flags`` lists the signals that
    crossed the project's thresholds.
    """

    message = models.OneToOneField(
        "trees.Message", primary_key=True, on_delete=models.CASCADE, related_name="quality"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    lang_detected = models.CharField(max_length=16, blank=True)
    lang_confidence = models.FloatField(null=True, blank=True)
    lang_mismatch = models.BooleanField(null=True, blank=True)
    toxicity = models.FloatField(null=True, blank=True)
    toxicity_model = models.CharField(max_length=128, blank=True)
    # [{"type", "start", "end"}, ...]; null while not computed, [] when none was found.
    pii = models.JSONField(null=True, blank=True)
    # The hash of the normalised text (prompts only): what exact duplicates share.
    exact_key = models.CharField(max_length=64, blank=True)
    near_duplicate_of = models.ForeignKey(
        "trees.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    similarity = models.FloatField(null=True, blank=True)
    leakage_eval_set = models.ForeignKey(
        EvalSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    leakage_score = models.FloatField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "message qualities"
        indexes = [
            # Exact duplicates: the earliest prompt of a project with the same key.
            models.Index(
                fields=["project", "exact_key"],
                condition=~Q(exact_key=""),
                name="messagequality_exact_key",
            ),
        ]

    def __str__(self) -> str:
        return f"quality of message {self.message_id}"


class MinHashSignature(models.Model):
    """A prompt's MinHash signature: the near-duplicate index is rebuilt from these
    rows in each process (and after a restart), never from the texts."""

    message = models.OneToOneField(
        "trees.Message", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    lang = models.CharField(max_length=32)
    signature = models.JSONField()
    # The duplicates module's version that computed it: signatures of another version
    # are not comparable and are recomputed by the re-run.
    version = models.CharField(max_length=64)
    # Each process's index loads the rows changed since it last looked (a prompt that
    # was edited replaces its signature).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "lang", "updated_at"], name="minhash_project_lang")
        ]

    def __str__(self) -> str:
        return f"signature of message {self.message_id}"


class QualityJobKind(models.TextChoices):
    RERUN = "rerun"  # recompute signals over a project
    EVAL_SET_CHECK = "eval_set_check"  # re-check a project's messages after an upload
    IMPORTED = "imported"  # signals for messages an import stored without them


class QualityJobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class QualityJob(models.Model):
    """A background recomputation over a project, with its progress (``done`` of
    ``total`` messages)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=QualityJobKind.choices)
    # Empty: every signal.
    signal = models.CharField(max_length=32, blank=True)
    eval_set = models.ForeignKey(
        EvalSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=QualityJobState.choices, default=QualityJobState.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=[state.value for state in QualityJobState]),
                name="qualityjob_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"quality job {self.pk} ({self.kind}, {self.state})"
