from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Kind(models.TextChoices):
    INITIAL_PROMPT = "initial_prompt"
    PROMPTER_REPLY = "prompter_reply"
    ASSISTANT_REPLY = "assistant_reply"
    LABEL_INITIAL_PROMPT = "label_initial_prompt"
    LABEL_PROMPTER_REPLY = "label_prompter_reply"
    LABEL_ASSISTANT_REPLY = "label_assistant_reply"
    RANK_PROMPTER_REPLIES = "rank_prompter_replies"
    RANK_ASSISTANT_REPLIES = "rank_assistant_replies"


REPLY_KINDS = (Kind.PROMPTER_REPLY, Kind.ASSISTANT_REPLY)
LABEL_KINDS = (Kind.LABEL_INITIAL_PROMPT, Kind.LABEL_PROMPTER_REPLY, Kind.LABEL_ASSISTANT_REPLY)
RANK_KINDS = (Kind.RANK_PROMPTER_REPLIES, Kind.RANK_ASSISTANT_REPLIES)


class WorkItemState(models.TextChoices):
    OPEN = "open"
    PAUSED = "paused"  # its tree is halted; reopened on resume
    CLOSED = "closed"


class WorkItem(models.Model):
    """A piece of work a tree needs and how many distinct people must do it.

    ``open_slots`` counts the places still free to claim: required − completed −
    active reservations. A claim takes one with ``UPDATE … SET open_slots =
    open_slots - 1 WHERE open_slots > 0`` and an expiry or skip gives it back; the
    check constraints below make over-assignment impossible whatever the code does,
    on PostgreSQL and SQLite alike.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    tree = models.ForeignKey("trees.Tree", on_delete=models.CASCADE, related_name="work_items")
    target = models.ForeignKey("trees.Message", on_delete=models.CASCADE, related_name="work_items")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    lang = models.CharField(max_length=32)
    state = models.CharField(
        max_length=16, choices=WorkItemState.choices, default=WorkItemState.OPEN
    )
    required = models.PositiveIntegerField()
    open_slots = models.IntegerField()
    completed_count = models.PositiveIntegerField(default=0)
    # Higher first; ties go to the oldest item, so started trees finish first.
    priority = models.IntegerField(default=0)
    # For rankings: the sibling ids offered, fixed when the item was made.
    candidate_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The claim: open items of a kind for a project and language, best first.
            models.Index(
                fields=["project", "lang", "kind", "-priority", "id"],
                name="workitem_claim",
                condition=Q(state="open", open_slots__gt=0),
            ),
            models.Index(fields=["tree", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(open_slots__gte=0), name="workitem_slots_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(completed_count__lte=F("required")),
                name="workitem_never_over_completed",
            ),
            models.CheckConstraint(
                condition=Q(open_slots__lte=F("required") - F("completed_count")),
                name="workitem_never_over_assigned",
            ),
            # One live item per need: a reply, review or ranking of one message.
            models.UniqueConstraint(
                fields=["target", "kind"],
                condition=~Q(state="closed"),
                name="workitem_one_live_per_target_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of message {self.target_id} ({self.completed_count}/{self.required})"


class WorkItemExclusion(models.Model):
    """People who must never be offered this item (authors of what it shows)."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="exclusions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["work_item", "user"], name="exclusion_unique")
        ]
        indexes = [models.Index(fields=["user", "work_item"])]

    def __str__(self) -> str:
        return f"user {self.user_id} excluded from work item {self.work_item_id}"


class AssignmentState(models.TextChoices):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Assignment(models.Model):
    """One person's reservation of a work item (or of writing a new prompt)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    # Null for ``initial_prompt``: a new prompt has no tree until it is written.
    work_item = models.ForeignKey(
        WorkItem, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    lang = models.CharField(max_length=32)
    state = models.CharField(
        max_length=16, choices=AssignmentState.choices, default=AssignmentState.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Candidates in the shuffled order shown to this person.
    candidate_ids = models.JSONField(default=list, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True)
    result_message = models.ForeignKey(
        "trees.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["user", "state"]),
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["user", "work_item"]),
            models.Index(fields=["user", "kind", "created_at"]),
        ]
        constraints = [
            # Nobody holds or completes the same item twice.
            models.UniqueConstraint(
                fields=["work_item", "user"],
                condition=Q(state__in=["active", "submitted"]),
                name="assignment_one_live_per_person_item",
            )
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} {self.kind} ({self.state})"


class IdempotencyRecord(models.Model):
    """The first answer to a submit with an ``Idempotency-Key``, replayed on retries.

    Written in the same transaction as the submission it answers, so the record
    exists exactly when the submission was stored.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    # What the first request carried (``request_digest`` of its body): a retry with the
    # same key but other content is refused, not silently answered with the first.
    request_digest = models.CharField(max_length=64, blank=True)
    # The exact bytes first answered, replayed as they were.
    body = models.TextField(blank=True)
    # Answers stored before ``body`` existed (replayed through the serializer's order).
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"idempotency key of user {self.user_id} for assignment {self.assignment_id}"


# --- What volunteers submitted --------------------------------------------------------
# Raw votes, kept forever and exported; ``backend.consensus`` aggregates them.


class LabelVote(models.Model):
    """One person's answer to one label of one message; value in [0, 1]. Kept forever."""

    message = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="label_votes"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(
        "Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label = models.CharField(max_length=64)
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Kept under its first name: the votes moved here from ``consensus`` (which
        # aggregates them) when the engine became the layer that records submissions.
        db_table = "consensus_labelvote"
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "label"], name="labelvote_unique"),
            models.CheckConstraint(
                condition=Q(value__gte=0.0) & Q(value__lte=1.0), name="labelvote_value_in_unit"
            ),
        ]
        indexes = [models.Index(fields=["message", "label"])]

    def __str__(self) -> str:
        return f"{self.label}={self.value} on message {self.message_id} by {self.user_id}"


class RankingVote(models.Model):
    """One person's ordering of the replies under ``parent``, best first. Kept forever.

    A vote belongs to the ranking work item it answered. When a sibling group changes
    (a reply deleted, a replacement collected) the tree is ranked again through a new
    item; votes on the old item stay as history and no longer count. Imported votes
    have no work item.
    """

    parent = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="ranking_votes"
    )
    work_item = models.ForeignKey(
        "WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ranking_votes",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(
        "Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ranking = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "consensus_rankingvote"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_item", "user"],
                condition=Q(work_item__isnull=False),
                name="rankingvote_one_per_person_item",
            ),
        ]
        indexes = [models.Index(fields=["parent", "created_at"])]

    def __str__(self) -> str:
        return f"ranking of the replies to message {self.parent_id} by {self.user_id}"
