"""What a task kind is (``KindSpec``) and the registry of them.

The built-in kinds are in ``backend.assignments.kinds`` (importing it registers them);
docs/task-kinds.md shows how to add one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise

from backend.accounts.models import User
from backend.assignments.claims import Turn
from backend.assignments.models import Assignment, WorkItem
from backend.common.errors import ValidationFailed
from backend.projects.models import Project
from backend.trees.models import Message, Tree


@dataclass
class SubmitContext:
    """What a submission is applied to: the tree (locked) and item of the assignment
    (both None for work that starts a tree), with the project and the time."""

    user: User
    assignment: Assignment
    project: Project
    tree: Tree | None
    item: WorkItem | None
    now: datetime


class KindSpec:
    """One kind of volunteer work. Subclasses set the attributes and override what
    differs; ``validate`` and ``apply`` run inside the submit's transaction, under the
    tree lock, after the engine has checked the assignment is the person's and open.
    """

    name: str = ""
    # The task page: the form partial drawn inside the task panel (with the hint line
    # naming its keys, and the data attributes the page script acts on), its heading
    # and its instructions (translatable).
    template: str = ""
    title: str | Promise = ""
    instruction: str | Promise = ""
    # How often "any" picks this kind relative to others, unless the project's
    # ``assignment_weights`` says otherwise.
    default_weight: float = 1.0
    # Work that needs no work item (writing a new prompt) is claimed by availability.
    uses_work_item: bool = True
    # Which field of the submit body carries the answer: "text", "labels" or "ranking".
    payload_field: str = ""
    # Kinds whose candidates are not messages of the tree (the arena's model replies)
    # draw them with ``own_candidates``; the claim asks only such kinds, so the others
    # pay nothing for it.
    has_own_candidates: bool = False

    def own_candidates(self, *, work_item_id: int) -> list[Turn]:
        """The candidates an item of this kind shows, in order (``has_own_candidates``)."""
        return []

    def outcome(self, assignment: Assignment) -> dict[str, Any] | None:
        """What the answer to a submit reveals besides the assignment (the arena: which
        model wrote A and B), or None. Read after ``apply``, in the same transaction."""
        return None

    def is_available(self, *, project: Project, lang: str) -> bool:
        """For kinds without work items: may a new one be handed out now?"""
        return True

    def is_offered(self, project: Project) -> bool:
        """Does the project use this kind at all? Pages for volunteers (the dashboard,
        the tour) list only the kinds a project offers; a kind that needs setting up
        (the arena needs models) says no until it is."""
        return True

    def labels(self, project: Project) -> list[dict[str, Any]]:
        """The labels an assignment of this kind asks (none for most kinds)."""
        return []

    def excluded_user_ids(self, *, target: Message) -> set[int]:
        """Who may never be offered work of this kind on ``target`` (on top of whom its
        maker excludes, e.g. the authors of ranked replies): by default the author of
        the message it shows."""
        return {target.author_id} if target.author_id is not None else set()

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> Any:
        """The cleaned answer, or ``ValidationFailed`` with the field and a stable code."""
        raise NotImplementedError

    def apply(self, context: SubmitContext, value: Any) -> Message | None:
        """Store the answer and change what it changes; returns a message it created."""
        raise NotImplementedError

    def from_form(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The web form's fields as the submit payload, and the raw values to draw back
        on error."""
        raise NotImplementedError


class TextInput(KindSpec):
    """Kinds answered with a text (prompts, replies)."""

    payload_field = "text"
    template = "web/kinds/text.html"

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> str:
        """What every written text must pass (``kinds.texts.text_validate``)."""
        # Imported here: the kinds package imports this module when it loads.
        from backend.assignments.kinds.texts import text_validate

        return text_validate(
            user=context.user, project=context.project, text=payload.get("text"), now=context.now
        )

    def from_form(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        text = data.get("text", "")
        return {"text": text}, {"text": text}


class LabelsInput(KindSpec):
    """Kinds answered with label values (reviews)."""

    payload_field = "labels"
    template = "web/kinds/labels.html"

    def from_form(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        raw = {
            key.removeprefix("label-"): value
            for key, value in data.items()
            if key.startswith("label-") and value != ""
        }
        labels: dict[str, Any] = {}
        for name, value in raw.items():
            try:
                labels[name] = float(value)
            except ValueError:
                raise ValidationFailed(f"labels.{name}", "invalid_value", "Not a number.") from None
        return {"labels": labels}, {"labels": raw}


class RankingInput(KindSpec):
    """Kinds answered with an order of candidate messages (rankings)."""

    payload_field = "ranking"
    template = "web/kinds/ranking.html"

    def from_form(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        ranking_text = data.get("ranking", "")
        try:
            ranking = [int(part) for part in ranking_text.split(",") if part.strip()]
        except ValueError:
            raise ValidationFailed("ranking", "not_a_permutation", "Not a ranking.") from None
        return {"ranking": ranking}, {"ranking": ranking}


_registry: dict[str, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    """Add a kind; its name must be new."""
    if not spec.name or spec.name == "any":
        raise ValueError(f"a task kind needs a name other than 'any', not {spec.name!r}")
    if spec.name in _registry and _registry[spec.name] is not spec:
        raise ValueError(f"task kind {spec.name!r} is registered already")
    _registry[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _registry.pop(name, None)


def get_kind(name: str) -> KindSpec | None:
    return _registry.get(name)


def all_kinds() -> list[KindSpec]:
    """Every registered kind, in registration order."""
    return list(_registry.values())


def kind_names() -> list[str]:
    return list(_registry)
