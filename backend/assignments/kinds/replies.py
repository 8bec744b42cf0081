"""Replying in a conversation, as the user (prompter) or as the assistant."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.assignments import growth
from backend.assignments.models import Kind
from backend.assignments.needs import work_item_complete
from backend.assignments.registry import SubmitContext, TextInput
from backend.common.errors import Conflict
from backend.trees.models import Message, TreeState


class Reply(TextInput):
    def apply(self, context: SubmitContext, value: str) -> Message:
        tree, item = context.tree, context.item
        assert tree is not None and item is not None
        if tree.state != TreeState.GROWING or item.target.is_deleted:
            raise Conflict("work_item_closed", "This conversation no longer takes replies.")
        message = growth.message_create_reply(
            tree=tree, parent=item.target, author_id=context.user.pk, text=value
        )
        work_item_complete(item.pk)
        growth.tree_advance_locked(tree)
        return message


class PrompterReply(Reply):
    name = Kind.PROMPTER_REPLY.value
    title = _("Reply as the user")
    instruction = _(
        "Continue the conversation as the user: ask a follow-up, give more detail or push back."
    )


class AssistantReply(Reply):
    name = Kind.ASSISTANT_REPLY.value
    title = _("Reply as the assistant")
    instruction = _(
        "Write the assistant's next message: helpful, correct, honest and kind. "
        "Say when you are unsure."
    )


# In the order pages list them.
KINDS = (
    AssistantReply(),
    PrompterReply(),
)
