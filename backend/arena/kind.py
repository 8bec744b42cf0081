"""The arena's task kind: which of two anonymous model replies is better.

A battle's replies are not messages of the tree (they are the arena's own rows), so
the kind draws its candidates itself (``has_own_candidates``): A then B, as the
battle fixed them. The names are revealed in the submit's ``outcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backend.arena.models import Battle, BattleReply, BattleState, Preference
from backend.arena.services import (
    arena_settings_of,
    written_battle_start,
    written_prompt_room,
    written_prompts_open,
)
from backend.assignments.claims import Turn
from backend.assignments.models import Assignment
from backend.assignments.needs import work_item_complete
from backend.assignments.registry import KindSpec, SubmitContext, TextInput
from backend.common.errors import Conflict, ValidationFailed
from backend.common.outbox import enqueue_at
from backend.projects.models import Project
from backend.trees.models import Message

FILL_POOL_TASK = "tasks.arena.fill_battle_pool"
WINNERS = {
    Preference.A: "model_a",
    Preference.B: "model_b",
    Preference.TIE: "tie",
    Preference.BOTH_BAD: "tie (bothbad)",
}


class CompareModelReplies(KindSpec):
    name = "compare_model_replies"
    title = _("Compare two model replies")
    instruction = _(
        "Two models answered the prompt. Which reply is better? The models' names are "
        "shown after you vote."
    )
    template = "arena/kinds/compare.html"
    payload_field = "preference"
    default_weight = 0.5
    has_own_candidates = True

    def is_offered(self, project: Project) -> bool:
        return arena_settings_of(project).is_on

    def excluded_user_ids(self, *, target: Message) -> set[int]:
        # The vote judges the models, not the prompt: whoever wrote the prompt (for
        # the arena or for a tree) may vote on its battle.
        return set()

    def own_candidates(self, *, work_item_id: int) -> list[Turn]:
        return [
            Turn(id=reply.pk, role="assistant", text=reply.text)
            for reply in BattleReply.objects.filter(battle__work_item_id=work_item_id).order_by(
                "side"
            )
        ]

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> str:
        preference = payload.get("preference")
        if preference not in Preference.values:
            raise ValidationFailed(
                "preference", "invalid_choice", 'Answer "a", "b", "tie" or "both_bad".'
            )
        return str(preference)

    def apply(self, context: SubmitContext, value: str) -> None:
        item = context.item
        assert item is not None
        battle = Battle.objects.select_for_update().filter(work_item_id=item.pk).first()
        if battle is None or battle.state != BattleState.READY:
            raise Conflict("battle_not_ready", "This battle is not waiting for a vote.")
        Battle.objects.filter(pk=battle.pk).update(
            state=BattleState.VOTED,
            preference=value,
            voter=context.user,
            voted_at=context.now or timezone.now(),
        )
        work_item_complete(item.pk)
        # The pool stays full: a new battle takes this one's place. Sent by the outbox
        # relay, not the commit hook, so that no model is ever asked inside this web
        # request, even in the embedded mode where Celery runs in-process.
        enqueue_at(FILL_POOL_TASK, timezone.now(), battle.project_id, battle.lang)

    def outcome(self, assignment: Assignment) -> dict[str, Any] | None:
        battle = (
            Battle.objects.select_related("model_a", "model_b")
            .filter(work_item_id=assignment.work_item_id)
            .first()
        )
        if battle is None or battle.state != BattleState.VOTED:
            return None
        return {
            "preference": battle.preference,
            "winner": WINNERS[Preference(battle.preference)],
            "model_a": battle.model_a.name,
            "model_b": battle.model_b.name,
            "summary": gettext("Thank you! A was %(a)s, B was %(b)s.")
            % {"a": battle.model_a.name, "b": battle.model_b.name},
        }

    def from_form(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        preference = str(data.get("preference", ""))
        return {"preference": preference}, {"preference": preference}


class WriteArenaPrompt(TextInput):
    """A prompt the volunteer writes for the arena (projects whose
    ``arena_prompt_source`` is ``written`` or ``both``). Two models answer it in the
    background; the battle then comes first in the arena, so its author usually votes
    on it next. The page never waits on a model."""

    name = "write_arena_prompt"
    title = _("Write a prompt for two models")
    instruction = _(
        "Ask what you would ask an assistant. Two anonymous models will answer; their "
        "replies come to the arena for a vote as soon as both are in."
    )
    default_weight = 0.25
    uses_work_item = False

    def is_offered(self, project: Project) -> bool:
        return written_prompts_open(project)

    def is_available(self, *, project: Project, lang: str) -> bool:
        return written_prompt_room(project, lang)

    def apply(self, context: SubmitContext, value: str) -> Message:
        return written_battle_start(
            project=context.project,
            author_id=context.user.pk,
            lang=context.assignment.lang,
            text=value,
        )

    def outcome(self, assignment: Assignment) -> dict[str, Any] | None:
        return {
            "battle": "generating",
            "summary": gettext(
                "Thank you! Two models are answering your prompt; the battle comes to "
                "the arena as soon as both replies are in."
            ),
        }


COMPARE = CompareModelReplies()
WRITE_PROMPT = WriteArenaPrompt()
