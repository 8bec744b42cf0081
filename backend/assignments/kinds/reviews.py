"""Reviewing a message: answering its labels (spam, quality, …). The last review a
message needs asks the acceptance rule (``backend.consensus``) for its decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from backend.assignments import growth
from backend.assignments.models import Kind, LabelVote
from backend.assignments.needs import work_item_complete
from backend.assignments.registry import LabelsInput, SubmitContext
from backend.common.errors import ValidationFailed
from backend.projects.models import SIMPLE_LABELS, LabellingMode, Project
from backend.trees.models import Message

# Labels about solving the task only make sense for assistant replies.
ASSISTANT_ONLY_LABELS = {"fails_task", "helpfulness"}
# A Likert scale has five steps (the task page draws them 1–5).
LIKERT_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


class Review(LabelsInput):
    asks_task_labels = False

    def labels(self, project: Project) -> list[dict[str, Any]]:
        """The labels asked, in schema order; ``spam`` always, and always mandatory."""
        specs = []
        for spec in project.label_schema:
            name = spec["name"]
            if spec.get("retired"):  # no longer asked; its votes stay
                continue
            if project.labelling_mode == LabellingMode.SIMPLE and name not in SIMPLE_LABELS:
                continue
            if name in ASSISTANT_ONLY_LABELS and not self.asks_task_labels:
                continue
            specs.append({**spec, "mandatory": bool(spec.get("mandatory")) or name == "spam"})
        if not any(spec["name"] == "spam" for spec in specs):
            specs.insert(0, {"name": "spam", "kind": "flag", "mandatory": True})
        return specs

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> dict[str, float]:
        labels = payload.get("labels")
        if not isinstance(labels, dict) or not labels:
            raise ValidationFailed("labels", "required", "This assignment needs labels.")
        specs = {spec["name"]: spec for spec in self.labels(context.project)}
        values: dict[str, float] = {}
        for name, raw in labels.items():
            if name not in specs:
                raise ValidationFailed(
                    f"labels.{name}", "unknown_label", f"{name!r} is not asked here."
                )
            if raw is None:
                continue
            if isinstance(raw, bool):
                value = 1.0 if raw else 0.0
            elif isinstance(raw, int | float):
                value = float(raw)
            else:
                raise ValidationFailed(
                    f"labels.{name}", "invalid_value", "A label value is a number."
                )
            if not 0.0 <= value <= 1.0:
                raise ValidationFailed(
                    f"labels.{name}", "out_of_range", "A label value lies between 0 and 1."
                )
            if specs[name]["kind"] == "flag" and value not in (0.0, 1.0):
                raise ValidationFailed(f"labels.{name}", "invalid_value", "A flag is 0 or 1.")
            if specs[name]["kind"] == "likert" and value not in LIKERT_STEPS:
                raise ValidationFailed(
                    f"labels.{name}",
                    "not_a_step",
                    "A scale's value is one of its steps: 0, 0.25, 0.5, 0.75 or 1.",
                )
            values[name] = value
        for name, spec in specs.items():
            if spec.get("mandatory") and name not in values:
                raise ValidationFailed(f"labels.{name}", "required", f"{name!r} must be answered.")
        return values

    def apply(self, context: SubmitContext, value: dict[str, float]) -> None:
        tree, item = context.tree, context.item
        assert tree is not None and item is not None
        LabelVote.objects.bulk_create(
            [
                LabelVote(
                    message_id=item.target_id,
                    user=context.user,
                    assignment=context.assignment,
                    label=name,
                    value=label_value,
                )
                for name, label_value in sorted(value.items())
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE trees_message SET review_count = review_count + 1 WHERE id = %s"
                " RETURNING review_count, review_result",
                [item.target_id],
            )
            _, review_result = cursor.fetchone()
        completed, required = work_item_complete(item.pk)
        if completed >= required and review_result is None:
            target = Message.objects.get(pk=item.target_id)
            growth.message_review_finish(tree=tree, message=target)
        return None


class ReviewInitialPrompt(Review):
    name = Kind.LABEL_INITIAL_PROMPT.value
    title = _("Review a prompt")
    instruction = _("Read the prompt and answer the questions about it.")


class ReviewPrompterReply(Review):
    name = Kind.LABEL_PROMPTER_REPLY.value
    title = _("Review a user reply")
    instruction = _("Read the user's last message and answer the questions about it.")


class ReviewAssistantReply(Review):
    name = Kind.LABEL_ASSISTANT_REPLY.value
    title = _("Review an assistant reply")
    instruction = _("Read the assistant's last message and answer the questions about it.")
    asks_task_labels = True


# In the order pages list them.
KINDS = (
    ReviewInitialPrompt(),
    ReviewAssistantReply(),
    ReviewPrompterReply(),
)
