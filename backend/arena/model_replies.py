"""Model replies in trees: when a prompter message waits for assistant replies, the
project's ``model_reply_models`` are asked for up to ``model_replies_per_parent`` of
them. A model reply is an ordinary sibling (``synthetic=True``, ``model_name`` set,
no author): it takes a place of the reply item like a volunteer's reply, so it counts
toward ``max_children``, and goes through the same review, ranking and quality
signals (``MessageCreated``). Volunteers are never told who wrote a reply.

The requests are found by a beat task (``tasks.arena.request_model_replies``), not by
a subscriber in the submit, so projects without model replies pay nothing on the
request path; the generation runs in Celery. A failing model never blocks the tree:
its request fails and the place stays open for volunteers.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.arena.calls import ModelUnavailable, model_call
from backend.arena.client import ChatMessages, ModelCallFailed
from backend.arena.models import ArenaSettings, ModelEndpoint, ModelReplyRequest, ModelReplyState
from backend.assignments import claims, growth
from backend.assignments.models import Kind, WorkItem, WorkItemState
from backend.assignments.needs import work_item_complete
from backend.common.outbox import enqueue, enqueue_at
from backend.trees.lifecycle import tree_lock
from backend.trees.models import Message, Role, TreeState

GENERATE_TASK = "tasks.arena.generate_model_reply"
CHAT_ROLES: dict[str, str] = {Role.PROMPTER.value: "user", Role.ASSISTANT.value: "assistant"}


def model_replies_request(*, batch: int = 200) -> int:
    """Owe model replies to every prompter message whose reply item is open and that
    has none owed yet; returns how many were asked for."""
    asked = 0
    for arena in ArenaSettings.objects.select_related("project").filter(
        model_replies_per_parent__gt=0, project__is_active=True
    ):
        models = list(
            ModelEndpoint.objects.filter(
                name__in=list(arena.model_reply_models), is_enabled=True
            ).order_by("name")
        )
        if not models:
            continue
        items = (
            WorkItem.objects.filter(
                project_id=arena.project_id,
                kind=Kind.ASSISTANT_REPLY,
                state=WorkItemState.OPEN,
                open_slots__gt=0,
            )
            .exclude(target_id__in=ModelReplyRequest.objects.values("parent_id"))
            .order_by("pk")[:batch]
        )
        for item in items:
            wanted = min(arena.model_replies_per_parent, item.required - item.completed_count)
            with transaction.atomic():
                for slot in range(wanted):
                    endpoint = models[(item.target_id + slot) % len(models)]
                    try:
                        with transaction.atomic():
                            request = ModelReplyRequest.objects.create(
                                parent_id=item.target_id, endpoint=endpoint, slot=slot
                            )
                    except IntegrityError:
                        continue  # a twin run owes it already
                    enqueue(GENERATE_TASK, request.pk)
                    asked += 1
    return asked


def conversation_of(parent: Message) -> ChatMessages:
    path = claims.conversation_turns(parent.pk)
    return [{"role": CHAT_ROLES.get(turn.role, "user"), "content": turn.text} for turn in path]


def _finish(request_id: int, state: str, error: str = "") -> str:
    ModelReplyRequest.objects.filter(pk=request_id, state=ModelReplyState.PENDING).update(
        state=state, error=error[:500]
    )
    return state


def model_reply_generate(*, request_id: int) -> str:
    """Ask the model and store its reply under the parent, if the parent still wants
    one. Safe to run twice: a request stores at most one message."""
    request = ModelReplyRequest.objects.select_related("parent", "endpoint").get(pk=request_id)
    if request.state != ModelReplyState.PENDING:
        return request.state
    try:
        completion = model_call(
            endpoint_id=request.endpoint_id, messages=conversation_of(request.parent)
        )
    except ModelUnavailable as unavailable:
        if unavailable.is_busy:
            with transaction.atomic():
                enqueue_at(
                    GENERATE_TASK,
                    timezone.now() + timedelta(seconds=unavailable.retry_after),
                    request.pk,
                )
            return "postponed"
        return _finish(request.pk, ModelReplyState.FAILED, unavailable.reason)
    except ModelCallFailed as failure:
        return _finish(request.pk, ModelReplyState.FAILED, failure.reason)
    with transaction.atomic():
        tree = tree_lock(request.parent.tree_id)
        request = ModelReplyRequest.objects.select_for_update().get(pk=request_id)
        if request.state != ModelReplyState.PENDING:
            return request.state
        item = WorkItem.objects.filter(
            target_id=request.parent_id, kind=Kind.ASSISTANT_REPLY, state=WorkItemState.OPEN
        ).first()
        # The reply takes a place like a volunteer's would: only while one is free.
        if (
            tree.state != TreeState.GROWING
            or request.parent.is_deleted
            or item is None
            or not claims.slot_take(item.pk)
        ):
            return _finish(request.pk, ModelReplyState.SKIPPED, "no place left for a reply")
        message = growth.message_create_reply(
            tree=tree,
            parent=request.parent,
            author_id=None,
            text=completion.text,
            model_name=request.endpoint.name,
        )
        work_item_complete(item.pk)
        growth.tree_advance_locked(tree)
        ModelReplyRequest.objects.filter(pk=request.pk).update(
            state=ModelReplyState.STORED, message=message
        )
    return ModelReplyState.STORED
