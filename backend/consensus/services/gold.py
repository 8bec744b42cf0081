"""Gold answers (honeypots): known labels set by researchers."""

from __future__ import annotations

from django.db import transaction

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import NotFound, ValidationFailed
from backend.consensus.models import GoldLabel
from backend.consensus.services.labels import message_labels_score
from backend.trees.models import Message


def gold_label_set(*, message_id: int, label: str, value: float, actor_id: int | None) -> GoldLabel:
    """Record (or change) the known answer of one label of a message.

    The message's aggregates are re-scored at once (its posterior is pinned to the
    answer); annotators' gold accuracy and the Dawid–Skene fits change at the next
    project rescore.
    """
    if not 0.0 <= value <= 1.0:
        raise ValidationFailed("value", "out_of_range", "A gold answer lies between 0 and 1.")
    with transaction.atomic():
        message = Message.objects.select_related("tree").filter(pk=message_id).first()
        if message is None:
            raise NotFound("message_not_found", "No such message.")
        previous = GoldLabel.objects.filter(message=message, label=label).first()
        gold, _ = GoldLabel.objects.update_or_create(
            message=message, label=label, defaults={"value": value, "created_by_id": actor_id}
        )
        audit_record(
            action=AuditAction.CONSENSUS_GOLD_SET,
            target_type="message",
            target_id=message.pk,
            actor_id=actor_id,
            project_id=message.tree.project_id,
            before={"label": label, "value": previous.value} if previous else {},
            after={"label": label, "value": value},
        )
        message_labels_score(message_id=message.pk)
        return gold


def gold_label_remove(*, message_id: int, label: str, actor_id: int | None) -> bool:
    with transaction.atomic():
        gold = (
            GoldLabel.objects.select_related("message__tree")
            .filter(message_id=message_id, label=label)
            .first()
        )
        if gold is None:
            return False
        audit_record(
            action=AuditAction.CONSENSUS_GOLD_REMOVED,
            target_type="message",
            target_id=message_id,
            actor_id=actor_id,
            project_id=gold.message.tree.project_id,
            before={"label": label, "value": gold.value},
        )
        gold.delete()
        message_labels_score(message_id=message_id)
        return True
