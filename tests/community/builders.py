"""Raw data with fixed timestamps, made directly (no lifecycle, no audit events):
what the nightly full recompute must price exactly like the incremental passes."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from backend.accounts.models import User
from backend.community.formula import POINTS, Reason
from backend.community.models import PointsEntry, SourceType
from backend.projects.models import Project
from backend.trees.models import Message, Role, Tree, TreeState, text_digest

_numbers = itertools.count(1)


def raw_prompt(project: Project, author: User | None, at: datetime, **fields: Any) -> Message:
    tree = Tree.objects.create(project=project, lang="en", state=TreeState.PROMPT_REVIEW)
    text = f"raw prompt {next(_numbers)}"
    message = Message.objects.create(
        tree=tree,
        parent=None,
        depth=0,
        role=Role.PROMPTER,
        text=text,
        text_digest=text_digest(text),
        lang="en",
        author=author,
        **fields,
    )
    Message.objects.filter(pk=message.pk).update(created_at=at)
    tree.root = message
    tree.save(update_fields=["root"])
    message.refresh_from_db()
    return message


def ledger_entry(
    user: User,
    project: Project,
    at: datetime,
    points: int | None = None,
    reason: Reason = Reason.PROMPT_WRITTEN,
) -> PointsEntry:
    """A ledger row as the pass would write it, for leaderboard tests (which read
    only the ledger)."""
    return PointsEntry.objects.create(
        user=user,
        project=project,
        reason=reason,
        source_type=SourceType.MESSAGE,
        source_id=next(_numbers),
        points=POINTS[reason] if points is None else points,
        earned_at=at,
    )
