from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models


class TreeState(models.TextChoices):
    PROMPT_REVIEW = "prompt_review"
    BACKLOG = "backlog"  # accepted or imported, waiting for the prompt lottery
    GROWING = "growing"
    RANKING = "ranking"
    SCORING = "scoring"
    READY_FOR_EXPORT = "ready_for_export"
    ABORTED_LOW_GRADE = "aborted_low_grade"
    HALTED = "halted"
    SCORING_FAILED = "scoring_failed"


# States in which a tree still needs something; the sweep re-checks every one of them.
ACTIVE_TREE_STATES = (
    TreeState.PROMPT_REVIEW,
    TreeState.BACKLOG,
    TreeState.GROWING,
    TreeState.RANKING,
    TreeState.SCORING,
)


class Role(models.TextChoices):
    PROMPTER = "prompter"
    ASSISTANT = "assistant"


class Tree(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="trees")
    lang = models.CharField(max_length=32)
    state = models.CharField(max_length=32, choices=TreeState.choices)
    halted_from_state = models.CharField(max_length=32, choices=TreeState.choices, blank=True)
    root = models.OneToOneField(
        "trees.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    # Set on import so the same source tree is never imported twice.
    origin_id = models.CharField(max_length=64, blank=True)
    # Failed scoring attempts in a row (backend.consensus.services.trees retries them).
    scoring_failures = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["project", "lang", "state"])]
        constraints = [
            # A halted tree, or one aborted by a moderator, remembers where it returns.
            models.CheckConstraint(
                condition=models.Q(halted_from_state="")
                | models.Q(state__in=[TreeState.HALTED, TreeState.ABORTED_LOW_GRADE]),
                name="tree_return_state_only_when_suspended",
            ),
            models.UniqueConstraint(
                fields=["project", "origin_id"],
                condition=~models.Q(origin_id=""),
                name="tree_unique_origin_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"tree {self.pk} ({self.state})"


def text_digest(text: str) -> str:
    """What the duplicate-text window compares: case and surrounding space ignored."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


class Message(models.Model):
    # Indexes (see Meta): every index is written again whenever a row gets a new version
    # (a rank, a review result), so there are no single-column copies of the composite
    # ones — (tree, parent) serves lookups by tree, (author, created_at) those by author,
    # the duplicate-text check included (one person's recent messages, then the digest).
    tree = models.ForeignKey(
        Tree, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    depth = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    text_digest = models.CharField(max_length=64)
    lang = models.CharField(max_length=32)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    synthetic = models.BooleanField(default=False)
    model_name = models.CharField(max_length=128, blank=True)
    review_count = models.PositiveIntegerField(default=0)
    # None while under review; True accepted, False rejected.
    review_result = models.BooleanField(null=True, blank=True)
    # 0 for the best sibling; None when unranked.
    rank = models.PositiveIntegerField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    # The audit event whose action deleted this message (a subtree deletion or a ban
    # hiding someone's messages); undoing that action restores exactly these rows.
    deletion_event = models.ForeignKey(
        "audit.AuditEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    origin_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tree", "parent"]),
            models.Index(fields=["author", "created_at"]),
            # Only deleted messages have a deletion event: a partial index stays tiny
            # and costs nothing when other rows change.
            models.Index(
                fields=["deletion_event"],
                condition=models.Q(deletion_event__isnull=False),
                name="message_deletion_event",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True, depth=0)
                | models.Q(parent__isnull=False, depth__gt=0),
                name="message_depth_matches_parent",
            )
        ]

    def __str__(self) -> str:
        return f"message {self.pk} ({self.role}, depth {self.depth})"

    @property
    def counts_toward_tree(self) -> bool:
        """Rejected and deleted messages leave room for a replacement."""
        return self.review_result is not False and not self.is_deleted


class Emoji(models.TextChoices):
    THUMBS_UP = "+1"
    THUMBS_DOWN = "-1"
    RED_FLAG = "red_flag"


class Reaction(models.Model):
    """A volunteer's emoji on a message; one of each kind per person and message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=16, choices=Emoji.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")
        ]
        indexes = [models.Index(fields=["message", "emoji"])]

    def __str__(self) -> str:
        return f"{self.emoji} on message {self.message_id}"


class MessageRevision(models.Model):
    """One version of a message's text. The first edit also stores the original, so
    the revisions of an edited message list every version, the current one last."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    text = models.TextField()
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["message", "created_at"])]

    def __str__(self) -> str:
        return f"revision {self.pk} of message {self.message_id}"
