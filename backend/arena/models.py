"""Models in the loop: the endpoints Arbor asks for replies, the arena's battles and
their replies, a project's arena settings, and the model replies asked for in trees."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BreakerState(models.TextChoices):
    CLOSED = "closed", _("Working")
    OPEN = "open", _("Paused after failures")
    HALF_OPEN = "half_open", _("Trying again")


class ModelEndpoint(models.Model):
    """One model behind an OpenAI-compatible ``/v1/chat/completions``.

    The API key is stored encrypted (``api_key_encrypted``, ``backend.arena.secrets``)
    or named as an environment variable (``api_key_env``), never in the clear. The
    counters below are the per-model limits and the circuit breaker; they change only
    through conditional updates (``backend.arena.calls``), so concurrent workers agree.
    """

    name = models.SlugField(max_length=64, unique=True)
    base_url = models.URLField(max_length=500)
    model = models.CharField(max_length=200)
    api_key_encrypted = models.TextField(blank=True)
    api_key_env = models.CharField(max_length=100, blank=True)
    temperature = models.FloatField(default=0.7)
    max_tokens = models.PositiveIntegerField(default=512)
    system_prompt = models.TextField(blank=True)
    is_enabled = models.BooleanField(default=True)
    # Limits: calls at once, calls a minute, seconds a call may take.
    max_concurrency = models.PositiveIntegerField(default=2)
    requests_per_minute = models.PositiveIntegerField(default=60)
    timeout_seconds = models.FloatField(default=60.0)
    in_flight = models.IntegerField(default=0)
    last_call_started_at = models.DateTimeField(null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)
    # The circuit breaker: open after N consecutive failed calls, half-open after a
    # cool-down (one trial call), closed again by a success.
    breaker_state = models.CharField(
        max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    breaker_opened_at = models.DateTimeField(null=True, blank=True)
    breaker_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    calls_succeeded = models.PositiveIntegerField(default=0)
    calls_failed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(in_flight__gte=0), name="model_in_flight_nonnegative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PromptSource(models.TextChoices):
    """Where a project's battles take their prompts from."""

    ACCEPTED = "accepted", _("The project's accepted prompts")
    WRITTEN = "written", _("Prompts the volunteers write for the arena")
    BOTH = "both", _("Both")


class ArenaSettings(models.Model):
    """A project's arena and model-reply settings (absent = all off)."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="arena_settings"
    )
    # Model names battling in the arena (two or more turn it on).
    arena_models = models.JSONField(default=list, blank=True)
    # Ready battles kept per language, generated ahead so a claim never waits.
    arena_pool_size = models.PositiveIntegerField(default=4)
    # Model names asked for replies in trees, and how many replies per prompter message.
    model_reply_models = models.JSONField(default=list, blank=True)
    model_replies_per_parent = models.PositiveIntegerField(default=0)
    # What the model leaderboard counts by default: arena votes, tree rankings, or both.
    leaderboard_sources = models.JSONField(default=list, blank=True)
    # Battles take accepted prompts, prompts volunteers write for them, or both.
    arena_prompt_source = models.CharField(
        max_length=16, choices=PromptSource.choices, default=PromptSource.ACCEPTED
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"arena settings of project {self.project_id}"

    @property
    def is_on(self) -> bool:
        """Two models or more battle: the arena is on."""
        return len(self.arena_models or []) >= 2


class BattleState(models.TextChoices):
    GENERATING = "generating", _("Asking the models")
    READY = "ready", _("Waiting for a vote")
    VOTED = "voted", _("Voted")
    FAILED = "failed", _("A model failed")
    # A quality signal flagged a reply: out of tasks until a moderator decides.
    HELD = "held", _("Held for a moderator")
    DISCARDED = "discarded", _("Discarded by a moderator")


class Preference(models.TextChoices):
    A = "a", _("A is better")
    B = "b", _("B is better")
    TIE = "tie", _("Tie")
    BOTH_BAD = "both_bad", _("Both are bad")


class Battle(models.Model):
    """A prompt answered by two models, A and B (which is which drawn at random), and
    the one vote it collects."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    lang = models.CharField(max_length=32)
    prompt = models.ForeignKey("trees.Message", on_delete=models.CASCADE, related_name="+")
    work_item = models.OneToOneField(
        "assignments.WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="battle",
    )
    model_a = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=16, choices=BattleState.choices, default=BattleState.GENERATING
    )
    failure_reason = models.CharField(max_length=500, blank=True)
    # True when a volunteer wrote the prompt for this battle (``write_arena_prompt``).
    is_written = models.BooleanField(default=False)
    # What the quality signals said of each reply: {"a": [flag names], "b": [...]}.
    flags = models.JSONField(default=dict, blank=True)
    preference = models.CharField(max_length=16, choices=Preference.choices, blank=True)
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "lang", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(model_a=models.F("model_b")), name="battle_two_models"
            )
        ]

    def __str__(self) -> str:
        return f"battle {self.pk} ({self.state})"


class BattleReply(models.Model):
    """One side's reply. One row per side: a retried generation never stores twice."""

    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="replies")
    side = models.CharField(max_length=1, choices=[("a", "A"), ("b", "B")])
    text = models.TextField()
    latency_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battle", "side"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "side"], name="battle_reply_one_per_side")
        ]

    def __str__(self) -> str:
        return f"reply {self.side.upper()} of battle {self.battle_id}"


class ModelReplyState(models.TextChoices):
    PENDING = "pending", _("Asked")
    STORED = "stored", _("Stored in the tree")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not needed any more")


class ModelReplyRequest(models.Model):
    """One model reply owed to a prompter message in a tree; ``slot`` numbers them so
    a retried request never stores a second reply."""

    parent = models.ForeignKey("trees.Message", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    slot = models.PositiveIntegerField()
    state = models.CharField(
        max_length=16, choices=ModelReplyState.choices, default=ModelReplyState.PENDING
    )
    message = models.ForeignKey(
        "trees.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "slot"], name="model_reply_one_per_slot")
        ]

    def __str__(self) -> str:
        return f"model reply {self.slot} to message {self.parent_id} ({self.state})"
