"""What the arena plugs in when the app starts: its task kind, its export format, and the
hold on model replies that a quality signal flagged.

A flagged model reply is held out of tasks (its live work items paused) until a
moderator resolves its queue item: deleting it closes them (curation does that), any
other resolution opens them again. Battles whose replies were flagged are held the
same way (``backend.arena.holds``): the resolution of their prompt's queue item decides
them, and the queue item's page shows them with their own two decisions.
"""

from __future__ import annotations

from backend.common.events import MessageQualityFlagged, ModerationResolved, subscribe


def on_message_quality_flagged(event: MessageQualityFlagged) -> None:
    from backend.assignments.models import WorkItem, WorkItemState
    from backend.trees.models import Message

    if Message.objects.filter(pk=event.message_id, synthetic=True).exists():
        WorkItem.objects.filter(target_id=event.message_id, state=WorkItemState.OPEN).update(
            state=WorkItemState.PAUSED
        )


def on_moderation_resolved(event: ModerationResolved) -> None:
    from backend.assignments.models import WorkItem, WorkItemState
    from backend.trees.models import Message, TreeState

    if event.message_id is None or event.action == "delete_message":
        return
    held = Message.objects.filter(pk=event.message_id, synthetic=True, is_deleted=False).exclude(
        tree__state=TreeState.HALTED
    )
    if held.exists():
        WorkItem.objects.filter(target_id=event.message_id, state=WorkItemState.PAUSED).update(
            state=WorkItemState.OPEN
        )


def connect() -> None:
    from django.utils.translation import gettext_lazy as _

    from backend.arena.exporting import arena_battle_records_of
    from backend.arena.holds import battles_decide_on_resolution, held_battles_panel
    from backend.arena.kind import COMPARE, WRITE_PROMPT
    from backend.assignments.registry import register
    from backend.exports.formats.registry import RecordFormat, record_format_register
    from backend.moderation.panels import item_panels_register

    register(COMPARE)
    register(WRITE_PROMPT)
    record_format_register(
        RecordFormat(
            name="arena-battles",
            label=_("Arena battles (JSONL)"),
            description=_(
                "One voted battle of two models per line, in Chatbot Arena's field names."
            ),
            records=arena_battle_records_of,
        )
    )
    subscribe(MessageQualityFlagged, on_message_quality_flagged)
    subscribe(ModerationResolved, on_moderation_resolved)
    subscribe(ModerationResolved, battles_decide_on_resolution)
    item_panels_register(held_battles_panel)
