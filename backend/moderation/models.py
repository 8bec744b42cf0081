from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class QueueReason(models.TextChoices):
    """Why something is in the moderation queue. A new reason is one line here (and a
    call to ``queue_item_raise`` where it arises)."""

    REPORT = "report", _("Reported by a volunteer")
    RED_FLAG = "red_flag", _("Red flags")
    QUALITY_FLAG = "quality_flag", _("Automatic quality flag")
    MANY_SKIPS = "many_skips", _("Many skipped replies")
    REJECTED_PROMPT = "rejected_prompt", _("Prompt rejected in review")
    SCORING_FAILED = "scoring_failed", _("Scoring kept failing")
    EDIT_SUGGESTION = "edit_suggestion", _("Edit suggested by the author")


class QueueItemState(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class QueueItem(models.Model):
    """Something a moderator should look at: a message, or a tree as a whole.

    A subject (a message; a tree for items without a message) has at most one live
    item, whatever the reasons: a second reason joins it as a ``QueueItemReason`` row
    and repeated signals raise ``occurrences`` (partial unique indexes keep it so).
    ``reason`` is the first reason the item was raised for; ``reason_rows`` holds
    every reason, in the order they arrived.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    lang = models.CharField(max_length=32)
    reason = models.CharField(max_length=32, choices=QueueReason.choices)
    tree = models.ForeignKey("trees.Tree", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "trees.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=QueueItemState.choices, default=QueueItemState.OPEN
    )
    occurrences = models.PositiveIntegerField(default=1)
    details = models.JSONField(default=dict, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "project", "lang", "reason"])]
        constraints = [
            models.UniqueConstraint(
                fields=["message"],
                condition=~Q(state="resolved") & Q(message__isnull=False),
                name="queueitem_one_live_per_message",
            ),
            models.UniqueConstraint(
                fields=["tree"],
                condition=~Q(state="resolved") & Q(message__isnull=True),
                name="queueitem_one_live_per_tree",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.state})"

    @property
    def reasons(self) -> list[str]:
        """Every reason, first one first (use ``prefetch_related("reason_rows")``)."""
        rows = sorted(self.reason_rows.all(), key=lambda row: row.pk)
        return [row.reason for row in rows] or [self.reason]

    def reason_labels(self) -> list[tuple[str, str]]:
        return [(reason, str(QueueReason(reason).label)) for reason in self.reasons]


class QueueItemReason(models.Model):
    """One reason a queue item was raised for (one row per reason and item)."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="reason_rows")
    reason = models.CharField(max_length=32, choices=QueueReason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["reason", "item"], name="queueitemreason_reason_item")]
        constraints = [
            models.UniqueConstraint(fields=["item", "reason"], name="queueitemreason_once")
        ]

    def __str__(self) -> str:
        return f"{self.reason} on queue item {self.item_id}"


class ReportReason(models.TextChoices):
    SPAM = "spam"
    PII = "pii"
    INAPPROPRIATE = "inappropriate"
    HATE = "hate"
    WRONG = "wrong"
    OTHER = "other"


class Report(models.Model):
    message = models.ForeignKey("trees.Message", on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=32, choices=ReportReason.choices)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="report_one_per_person")
        ]

    def __str__(self) -> str:
        return f"report {self.reason} on message {self.message_id}"


class UserNote(models.Model):
    """A moderator's note on a user, visible to moderators only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on user {self.user_id}"


class Ban(models.Model):
    """One ban of a user and what it did, so that lifting it can undo exactly that.

    The trees it pulled out (prompts waiting for review or the lottery, aborted
    reversibly) are rows here, not a list in the audit event: unban reads them.
    Messages it hid point at the ban's audit event (``Message.deletion_event``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.ForeignKey("audit.AuditEvent", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    hide_messages = models.BooleanField(default=False)
    aborted_trees = models.ManyToManyField("trees.Tree", blank=True, related_name="+")
    hidden_messages = models.PositiveIntegerField(default=0)
    cancelled_assignments = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(lifted_at__isnull=True), name="ban_one_in_force"
            )
        ]

    def __str__(self) -> str:
        return f"ban of user {self.user_id}"


class EditSuggestionState(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class EditSuggestion(models.Model):
    """An author's proposed new text for their message once they may no longer edit it
    themselves; a moderator accepts it (the text is applied as a revision credited to
    the author) or declines it. One pending suggestion per message and author."""

    message = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="edit_suggestions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    reason = models.TextField(blank=True)
    state = models.CharField(
        max_length=16, choices=EditSuggestionState.choices, default=EditSuggestionState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "author"],
                condition=Q(state="pending"),
                name="editsuggestion_one_pending_per_author",
            )
        ]

    def __str__(self) -> str:
        return f"edit suggestion {self.pk} on message {self.message_id} ({self.state})"
