"""What ``trees`` holds about a person, for "Download my data" (registered in
``TreesConfig.ready``; see ``backend.accounts.selfservice``)."""

from __future__ import annotations

from typing import Any

from backend.trees.models import Message, MessageRevision, Reaction


def messages_of_person(user_id: int) -> list[dict[str, Any]]:
    """The person's messages, deleted ones included, each with its versions. A version
    written by someone else (a moderator's edit) says so without naming them."""
    messages = list(
        Message.objects.filter(author_id=user_id)
        .order_by("created_at", "pk")
        .values(
            "pk",
            "tree_id",
            "parent_id",
            "role",
            "lang",
            "text",
            "created_at",
            "is_deleted",
            "review_result",
            "rank",
        )
    )
    revisions: dict[int, list[dict[str, Any]]] = {}
    for revision in MessageRevision.objects.filter(message__author_id=user_id).order_by(
        "created_at", "pk"
    ):
        revisions.setdefault(revision.message_id, []).append(
            {
                "text": revision.text,
                "created_at": revision.created_at,
                "by": "me" if revision.editor_id == user_id else "staff",
                "reason": revision.reason if revision.editor_id == user_id else "",
            }
        )
    return [
        {
            "id": row["pk"],
            "tree_id": row["tree_id"],
            "parent_id": row["parent_id"],
            "role": row["role"],
            "lang": row["lang"],
            "text": row["text"],
            "created_at": row["created_at"],
            "deleted": row["is_deleted"],
            "review_result": row["review_result"],
            "rank": row["rank"],
            "revisions": revisions.get(row["pk"], []),
        }
        for row in messages
    ]


def reactions_of_person(user_id: int) -> list[dict[str, Any]]:
    return [
        {"message_id": message_id, "emoji": emoji, "created_at": created_at}
        for message_id, emoji, created_at in Reaction.objects.filter(user_id=user_id)
        .order_by("created_at", "pk")
        .values_list("message_id", "emoji", "created_at")
    ]
