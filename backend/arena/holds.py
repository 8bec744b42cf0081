"""Battles held for a moderator: model replies pass the quality signals like any message.

After both replies of a battle are stored (``battle_generate``, in a Celery worker),
each reply gets the flags it would get as an assistant message under the battle's
prompt (``backend.quality.services.text_quality_flags``: the project's providers and
thresholds, nothing stored). They are kept in ``Battle.flags``. A battle with no flag
is offered as one ``compare_model_replies`` work item; a flagged one is **held**: no
work item, an audit event, and the prompt's moderation queue item gains the reason
``quality_flag`` with the battle and its flags in ``details["held_battles"]``. A held
battle is not live, so the pool refills around it.

A moderator decides (``battle_decide``, the REST API, the buttons on the queue item's
page): ``release`` offers the battle, ``discard`` drops it for good and refills the
pool. Resolving the prompt's queue item in the normal moderation flow decides its held
battles too: ``dismiss`` releases them, any other action discards them. When the last
held battle of a prompt is decided, a queue item raised only for held battles is
resolved (dismissed with a note), so no stale item stays in the queue.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.arena.models import Battle, BattleReply, BattleState
from backend.arena.services import FILL_POOL_TASK, battle_offer
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, NotFound, ValidationFailed
from backend.common.events import ModerationResolved
from backend.common.outbox import enqueue, enqueue_at
from backend.moderation.models import QueueItem, QueueItemState, QueueReason
from backend.moderation.services import queue_item_raise, queue_item_resolve
from backend.quality.services import text_quality_flags
from backend.trees.lifecycle import tree_lock
from backend.trees.models import Message, Role

DECISIONS = ("release", "discard")
SIDES = ("a", "b")
# The key of a queue item's details that lists the battles held on its prompt.
HELD_DETAILS_KEY = "held_battles"
# The key under which the quality subscriber lists the prompt's own flags.
MESSAGE_FLAGS_KEY = "flags"


def battle_flags_compute(battle: Battle) -> dict[str, list[str]]:
    """The flags of each reply as an assistant message under the battle's prompt."""
    texts = dict(BattleReply.objects.filter(battle=battle).values_list("side", "text"))
    prompt = Message.objects.get(pk=battle.prompt_id)
    return {
        side: text_quality_flags(
            project=battle.project,
            lang=battle.lang,
            text=texts.get(side, ""),
            parent=prompt,
            role=Role.ASSISTANT,
        )
        for side in SIDES
    }


def battle_screen(*, battle_id: int) -> str:
    """Both replies are stored: compute their flags (in the worker, before any lock),
    then offer the battle, or hold it when a reply is flagged. Safe to run twice: a
    battle no longer being generated is left as it is."""
    battle = Battle.objects.select_related("project").get(pk=battle_id)
    if battle.state != BattleState.GENERATING:
        return battle.state
    if BattleReply.objects.filter(battle=battle).count() != len(SIDES):
        return battle.state
    flags = battle_flags_compute(battle)
    if not any(flags.values()):
        Battle.objects.filter(pk=battle.pk, state=BattleState.GENERATING).update(flags=flags)
        return battle_offer(battle_id=battle.pk)
    return battle_hold(battle_id=battle.pk, flags=flags)


def _held_entry(battle_id: int, flags: dict[str, list[str]]) -> dict[str, Any]:
    return {"battle": battle_id, **{side: list(flags.get(side, [])) for side in SIDES}}


def battle_hold(*, battle_id: int, flags: dict[str, list[str]]) -> str:
    """Hold a generated battle whose replies were flagged: no work item; an audit
    event; the prompt's queue item (reason ``quality_flag``); the pool refills."""
    prompt_id = Battle.objects.values_list("prompt_id", flat=True).get(pk=battle_id)
    with transaction.atomic():
        tree = tree_lock(Message.objects.values_list("tree_id", flat=True).get(pk=prompt_id))
        battle = Battle.objects.select_for_update().get(pk=battle_id)
        if battle.state != BattleState.GENERATING:
            return battle.state
        Battle.objects.filter(pk=battle.pk).update(state=BattleState.HELD, flags=flags)
        audit_record(
            action=AuditAction.ARENA_BATTLE_HELD,
            target_type="battle",
            target_id=battle.pk,
            project_id=battle.project_id,
            before={"state": BattleState.GENERATING},
            after={"state": BattleState.HELD, "flags": flags},
            is_automatic=True,
        )
        queue_item_raise(
            reason=QueueReason.QUALITY_FLAG,
            tree=tree,
            message=Message.objects.get(pk=prompt_id),
            details={HELD_DETAILS_KEY: [_held_entry(battle.pk, flags)]},
        )
        # A held battle is not live: another one takes its place in the pool.
        enqueue(FILL_POOL_TASK, battle.project_id, battle.lang)
    return BattleState.HELD


def battle_decide(
    *, battle_id: int, decision: str, moderator_id: int | None, note: str = ""
) -> Battle:
    """A moderator's decision on a held battle: ``release`` offers it to volunteers
    (its work item is made; it is READY, or FAILED when its prompt has another battle
    waiting for a vote), ``discard`` drops it (DISCARDED) and refills the pool.
    Audited. 409 ``battle_not_held`` when the battle is not held.

    Called from web requests: the refill goes through the outbox relay, so no model is
    asked inside the request, even where Celery runs in-process."""
    if decision not in DECISIONS:
        raise ValidationFailed(
            "decision", "invalid_choice", 'The decision is "release" or "discard".'
        )
    found = Battle.objects.filter(pk=battle_id).values_list("prompt_id", flat=True).first()
    if found is None:
        raise NotFound("battle_not_found", "No such battle.")
    prompt_id = found
    with transaction.atomic():
        tree_lock(Message.objects.values_list("tree_id", flat=True).get(pk=prompt_id))
        battle = Battle.objects.select_for_update().get(pk=battle_id)
        if battle.state != BattleState.HELD:
            raise Conflict("battle_not_held", "This battle is not held for a moderator.")
        if decision == "release":
            state = battle_offer(battle_id=battle.pk, from_state=BattleState.HELD)
            action = AuditAction.ARENA_BATTLE_RELEASED
        else:
            Battle.objects.filter(pk=battle.pk).update(state=BattleState.DISCARDED)
            state = BattleState.DISCARDED
            action = AuditAction.ARENA_BATTLE_DISCARDED
            enqueue_at(FILL_POOL_TASK, timezone.now(), battle.project_id, battle.lang)
        audit_record(
            action=action,
            target_type="battle",
            target_id=battle.pk,
            actor_id=moderator_id,
            project_id=battle.project_id,
            before={"state": BattleState.HELD, "flags": battle.flags},
            after={"state": state},
            reason=note,
        )
        _stale_item_resolve(prompt_id=prompt_id, moderator_id=moderator_id, note=note)
        battle.refresh_from_db()
    return battle


def _stale_item_resolve(*, prompt_id: int, moderator_id: int | None, note: str) -> None:
    """No held battle is left on the prompt: its live queue item, when it was raised
    only for held battles (no other reason, none of the prompt's own flags), is
    dismissed. An item another moderator is working on is left to them."""
    if moderator_id is None:
        return
    if Battle.objects.filter(prompt_id=prompt_id, state=BattleState.HELD).exists():
        return
    item = (
        QueueItem.objects.prefetch_related("reason_rows")
        .filter(message_id=prompt_id)
        .exclude(state=QueueItemState.RESOLVED)
        .first()
    )
    if (
        item is None
        or item.reasons != [QueueReason.QUALITY_FLAG]
        or HELD_DETAILS_KEY not in item.details
        or MESSAGE_FLAGS_KEY in item.details
    ):
        return
    try:
        queue_item_resolve(
            item_id=item.pk,
            moderator_id=moderator_id,
            action="dismiss",
            note=note or "Every held arena battle on this prompt was decided.",
        )
    except Conflict:
        return  # claimed by another moderator meanwhile: theirs to resolve


def battles_decide_on_resolution(event: ModerationResolved) -> None:
    """A moderator resolved the prompt's queue item in the normal moderation flow:
    ``dismiss`` releases the battles held on that prompt, any other action discards
    them. Done after the commit, each decision in its own transaction: a decision locks
    the prompt's tree, which must not wait while the resolution holds the queue item
    (the lock order is tree, then queue item)."""
    if event.message_id is None:
        return
    if not Battle.objects.filter(prompt_id=event.message_id, state=BattleState.HELD).exists():
        return
    moderator_id = (
        QueueItem.objects.filter(pk=event.queue_item_id)
        .values_list("resolved_by_id", flat=True)
        .first()
    )
    decision = "release" if event.action == "dismiss" else "discard"
    note = f"queue item {event.queue_item_id} resolved: {event.action}"
    prompt_id = event.message_id

    def decide() -> None:
        held = Battle.objects.filter(prompt_id=prompt_id, state=BattleState.HELD)
        for battle_id in held.order_by("pk").values_list("pk", flat=True):
            try:
                battle_decide(
                    battle_id=battle_id, decision=decision, moderator_id=moderator_id, note=note
                )
            except Conflict:
                continue  # decided by someone else meanwhile

    transaction.on_commit(decide, robust=True)


def held_battles_panel(item: QueueItem) -> tuple[str, dict[str, Any]] | None:
    """The moderation item page's panel: the battles held on the item's prompt, each
    with both replies, their flags and the two decisions."""
    if item.message_id is None:
        return None
    battles = list(
        Battle.objects.filter(prompt_id=item.message_id, state=BattleState.HELD)
        .prefetch_related("replies")
        .order_by("pk")
    )
    if not battles:
        return None
    shown = []
    for battle in battles:
        texts = {reply.side: reply.text for reply in battle.replies.all()}
        shown.append(
            {
                "id": battle.pk,
                "sides": [
                    {
                        "side": side,
                        "name": side.upper(),
                        "text": texts.get(side, ""),
                        "flags": list((battle.flags or {}).get(side, [])),
                    }
                    for side in SIDES
                ],
            }
        )
    return "arena/held_battles_panel.html", {"battles": shown}
