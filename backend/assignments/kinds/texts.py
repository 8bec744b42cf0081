"""What every written text must pass: not blank, not too short or too long, not a repeat of the
author's own recent text, not faster than the project's messages-per-minute."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q

from backend.accounts.models import User
from backend.common.errors import RateLimited, ValidationFailed
from backend.projects.models import Project
from backend.trees.models import Message, text_digest


def text_validate(*, user: User, project: Project, text: Any, now: datetime) -> str:
    if not isinstance(text, str):
        raise ValidationFailed("text", "required", "This assignment needs a text.")
    text = text.strip()
    if not text:
        raise ValidationFailed("text", "blank", "The text may not be blank.")
    if len(text) < project.min_message_length:
        raise ValidationFailed(
            "text",
            "text_too_short",
            f"At least {project.min_message_length} characters; this has {len(text)}.",
        )
    if len(text) > project.max_message_length:
        raise ValidationFailed(
            "text",
            "too_long",
            f"At most {project.max_message_length} characters; this has {len(text)}.",
        )
    # One query for both checks: the author's messages of the longer window.
    window_start = now - timedelta(hours=project.duplicate_text_window_hours)
    minute_ago = now - timedelta(minutes=1)
    recent = Message.objects.filter(author=user, created_at__gte=min(window_start, minute_ago))
    counts = recent.aggregate(
        repeats=Count("pk", filter=Q(text_digest=text_digest(text), created_at__gte=window_start)),
        last_minute=Count("pk", filter=Q(created_at__gte=minute_ago)),
    )
    if counts["repeats"]:
        raise ValidationFailed("text", "duplicate_text", "You already wrote this text recently.")
    if counts["last_minute"] >= project.replies_per_minute:
        raise RateLimited(
            "rate_limited",
            f"At most {project.replies_per_minute} messages a minute.",
            retry_after_seconds=60,
        )
    return text
