from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    """Every kind of audit event. Code that writes or reads events names them here;
    facts other code needs are columns of their own (``is_automatic`` below, the
    ``Ban`` rows of moderation), never parsed back out of ``before``/``after``."""

    ASSIGNMENT_SUBMITTED = "assignment.submitted"
    ASSIGNMENT_SKIPPED = "assignment.skipped"
    ASSIGNMENT_EXPIRED = "assignment.expired"
    ASSIGNMENT_UNDONE = "assignment.undone"
    TREE_CREATED = "tree.created"
    TREE_PROMPT_REVIEW = "tree.prompt_review"
    TREE_BACKLOG = "tree.backlog"
    TREE_GROWING = "tree.growing"
    TREE_RANKING = "tree.ranking"
    TREE_SCORING = "tree.scoring"
    TREE_READY_FOR_EXPORT = "tree.ready_for_export"
    TREE_ABORTED_LOW_GRADE = "tree.aborted_low_grade"
    TREE_SCORING_FAILED = "tree.scoring_failed"
    TREE_HALTED = "tree.halted"
    TREE_RESUMED = "tree.resumed"
    TREE_ABORTED = "tree.aborted"
    TREE_REOPENED = "tree.reopened"
    TREE_REGROWING = "tree.regrowing"
    MESSAGE_CREATED = "message.created"
    MESSAGE_ACCEPTED = "message.accepted"
    MESSAGE_REJECTED = "message.rejected"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_UNDELETED = "message.undeleted"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_REACTED = "message.reacted"
    MESSAGE_REPORTED = "message.reported"
    QUEUE_RAISED = "queue.raised"
    QUEUE_CLAIMED = "queue.claimed"
    QUEUE_RELEASED = "queue.released"
    QUEUE_RESOLVED = "queue.resolved"
    USER_CREATED = "user.created"
    USER_PROFILE_UPDATED = "user.profile_updated"
    USER_BANNED = "user.banned"
    USER_UNBANNED = "user.unbanned"
    USER_NOTED = "user.noted"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    USER_ROLE_GRANTED = "user.role_granted"
    USER_ROLE_REVOKED = "user.role_revoked"
    CONSENSUS_GOLD_SET = "consensus.gold_set"
    CONSENSUS_GOLD_REMOVED = "consensus.gold_removed"
    CONSENSUS_RESCORED = "consensus.rescored"
    EXPORT_REQUESTED = "export.requested"
    EXPORT_STARTED = "export.started"
    EXPORT_WRITTEN = "export.written"
    EXPORT_SUCCEEDED = "export.succeeded"
    EXPORT_FAILED = "export.failed"
    IMPORT_REQUESTED = "import.requested"
    IMPORT_STARTED = "import.started"
    IMPORT_FINISHED = "import.finished"
    IMPORT_REFUSED = "import.refused"
    IMPORT_FAILED = "import.failed"
    EDIT_SUGGESTED = "edit_suggestion.created"
    EDIT_SUGGESTION_ACCEPTED = "edit_suggestion.accepted"
    EDIT_SUGGESTION_DECLINED = "edit_suggestion.declined"
    USER_DATA_DOWNLOADED = "user.data_downloaded"
    USER_DELETED = "user.deleted"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_TESTED = "webhook.tested"
    WEBHOOK_REDELIVERED = "webhook.redelivered"
    QUALITY_FLAGGED = "quality.flagged"
    QUALITY_EVAL_SET_ADDED = "quality.eval_set_added"
    QUALITY_EVAL_SET_DELETED = "quality.eval_set_deleted"
    QUALITY_JOB_REQUESTED = "quality.job_requested"
    TRAINING_ITEM_CREATED = "training_item.created"
    TRAINING_ITEM_UPDATED = "training_item.updated"
    TOUR_STARTED = "tour.started"
    TOUR_FINISHED = "tour.finished"
    TOUR_SKIPPED = "tour.skipped"
    QUALIFICATION_STARTED = "qualification.started"
    QUALIFICATION_PASSED = "qualification.passed"
    QUALIFICATION_FAILED = "qualification.failed"
    GOLD_PAUSED = "gold.paused"
    GOLD_PAUSE_LIFTED = "gold.pause_lifted"
    MODEL_CREATED = "model.created"
    MODEL_UPDATED = "model.updated"
    MODEL_BREAKER_OPENED = "model.breaker_opened"
    MODEL_BREAKER_CLOSED = "model.breaker_closed"
    ARENA_SETTINGS_UPDATED = "arena.settings_updated"
    ARENA_BATTLE_HELD = "arena.battle_held"
    ARENA_BATTLE_RELEASED = "arena.battle_released"
    ARENA_BATTLE_DISCARDED = "arena.battle_discarded"


class AuditEvent(models.Model):
    """One state change or moderation action: who, when, what, before/after, why.

    Written by the service that makes the change, inside the same transaction, so an
    event exists exactly when the change it describes was committed.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One of ``AuditAction`` (enforced by ``audit_record``; no ``choices`` here, so a new
    # action needs no migration).
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    # Done by Arbor's own rules (auto-moderation), not by a person.
    is_automatic = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"
