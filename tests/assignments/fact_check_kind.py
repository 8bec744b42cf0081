"""A kind that is not built in, written the way docs/task-kinds.md shows: checking an
accepted assistant reply for factual errors. One module: the spec, and the subscriber
that makes its work when an assistant reply is accepted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.assignments.models import LabelVote
from backend.assignments.needs import work_item_complete, work_item_create
from backend.assignments.registry import LabelsInput, SubmitContext
from backend.common.errors import ValidationFailed
from backend.common.events import MessageReviewed
from backend.projects.models import Project
from backend.trees.models import Message, Role, Tree


class FactCheck(LabelsInput):
    name = "fact_check_assistant_reply"
    title = "Check the facts of a reply"
    instruction = "Is anything in the assistant's last message factually wrong?"
    default_weight = 0.5  # "any" offers it half as often as a review

    def labels(self, project: Project) -> list[dict[str, Any]]:
        return [{"name": "factually_wrong", "kind": "flag", "mandatory": True}]

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> float:
        value = (payload.get("labels") or {}).get("factually_wrong")
        if value not in (0, 1, 0.0, 1.0) or isinstance(value, bool):
            raise ValidationFailed(
                "labels.factually_wrong", "invalid_value", "Answer 0 (no) or 1 (yes)."
            )
        return float(value)

    def apply(self, context: SubmitContext, value: float) -> None:
        assert context.item is not None
        LabelVote.objects.create(
            message_id=context.item.target_id,
            user=context.user,
            assignment=context.assignment,
            label="factually_wrong",
            value=value,
        )
        work_item_complete(context.item.pk)


def on_message_reviewed(event: MessageReviewed) -> None:
    """Two fact checks for every accepted assistant reply."""
    message = Message.objects.get(pk=event.message_id)
    if event.is_accepted and message.role == Role.ASSISTANT:
        work_item_create(
            tree=Tree.objects.get(pk=event.tree_id),
            target=message,
            kind=FactCheck.name,
            required=2,
        )
