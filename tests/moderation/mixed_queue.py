"""A moderation queue of mixed items, built through the real services: volunteer
reports, red flags, trees with many skipped replies and prompts rejected in review.

``mixed_queue(20)`` makes 8 reports, 5 red-flag items, 4 rejected prompts and 3
many-skips items (fewer of each, in that proportion, for smaller sizes), oldest first
in a fixed interleaved order, and says what each item is about so a test can pick the
right action for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.assignments.models import REPLY_KINDS
from backend.assignments.services import assignment_skip
from backend.moderation.models import QueueItem, QueueReason
from backend.moderation.services import report_create
from backend.projects.models import Project
from backend.trees.models import Emoji, Message, Tree
from backend.trees.services import message_react
from tests.factories import (
    SPAM_LABELS,
    committed,
    growing_tree,
    live_item,
    people,
    reserve,
    review,
    small_project,
    write_prompt,
    write_reply,
)

# The order items arrive in: R report, F red flag, P rejected prompt, S many skips.
PATTERN = "RFPRSFRPFRSRPFRRPFSR"


@dataclass(frozen=True)
class Arrival:
    item: QueueItem
    reason: str
    message: Message | None
    tree: Tree


def mixed_queue(size: int = 20, *, project: Project | None = None) -> list[Arrival]:
    assert 1 <= size <= len(PATTERN), size
    project = project or small_project(
        max_active_trees=50, queue_reply_skips=1, auto_halt_reply_skips=100
    )
    author, reviewer, writer, skipper, *flaggers = people(6)
    arrivals: list[Arrival] = []
    for code in PATTERN[:size]:
        if code == "P":
            prompt = write_prompt(project, author)
            review(prompt, [reviewer], [SPAM_LABELS])
            arrivals.append(_arrived(QueueReason.REJECTED_PROMPT, prompt, prompt.tree))
            continue
        tree, root = growing_tree(project, author, [reviewer])
        if code == "S":
            assignment = reserve(skipper, live_item(root, REPLY_KINDS))
            with committed():
                assignment_skip(user=skipper, assignment_id=assignment.pk, reason="unclear")
            arrivals.append(_arrived(QueueReason.MANY_SKIPS, None, tree))
            continue
        reply = write_reply(root, writer)
        if code == "R":
            report_create(
                message_id=reply.pk, reporter_id=flaggers[0].pk, reason="spam", text="an ad"
            )
            arrivals.append(_arrived(QueueReason.REPORT, reply, tree))
        else:
            for flagger in flaggers[:2]:
                message_react(message_id=reply.pk, user_id=flagger.pk, emoji=Emoji.RED_FLAG)
            arrivals.append(_arrived(QueueReason.RED_FLAG, reply, tree))
    assert QueueItem.objects.count() == size
    return arrivals


def _arrived(reason: QueueReason, message: Message | None, tree: Tree) -> Arrival:
    item = QueueItem.objects.get(reason=reason, tree=tree, message=message)
    return Arrival(item=item, reason=str(reason), message=message, tree=tree)
