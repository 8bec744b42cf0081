from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    """Celery work owed by a committed change: written in the change's transaction, so
    it exists exactly when the change does, and deleted once the broker has it.

    ``backend.common.outbox`` hands a row to Celery right after the commit; rows the
    broker did not take (it was down) wait for the relay, which retries them with
    backoff until they go through. Tasks are safe to run twice, so a row sent twice
    (a relay racing the commit hook) costs a little work and nothing else.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # The relay leaves a row alone until then: just after the commit the commit hook
    # is sending it; after a failure, backoff.
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["available_at", "id"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)}"
