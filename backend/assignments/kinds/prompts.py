"""Writing a new prompt: the work that starts a tree."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.assignments import growth
from backend.assignments.models import Kind
from backend.assignments.registry import SubmitContext, TextInput
from backend.projects.models import Project
from backend.trees.models import Message, Tree, TreeState


class InitialPrompt(TextInput):
    name = Kind.INITIAL_PROMPT.value
    title = _("Write a prompt")
    instruction = _(
        "Start a new conversation: write a question or request a real person might "
        "ask an assistant."
    )
    # Open-Assistant's preference: finish what is started before starting more.
    default_weight = 0.1
    uses_work_item = False

    def is_available(self, *, project: Project, lang: str) -> bool:
        # ``COUNT(*) FROM (… LIMIT cap)``: reads at most ``cap`` index entries, however
        # many trees wait.
        cap = project.max_prompt_lottery_waiting
        waiting = Tree.objects.filter(
            project=project, lang=lang, state__in=[TreeState.PROMPT_REVIEW, TreeState.BACKLOG]
        ).values("pk")[:cap]
        return waiting.count() < cap

    def apply(self, context: SubmitContext, value: str) -> Message:
        return growth.tree_create_from_prompt(
            project=context.project,
            author_id=context.user.pk,
            lang=context.assignment.lang,
            text=value,
        )


# In the order pages list them.
KINDS = (InitialPrompt(),)
