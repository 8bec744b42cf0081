"""Consensus test data written directly, with explicit timestamps.

The wiring tests that go through the real submit path use ``tests.factories``; these
builders are for data sets too large or too precisely timed for that: trees ready for
export with closed ranking items, ballots with the shuffled order each voter was
shown, and label votes — inserted in any order, with ``created_at`` set afterwards so
that insertion order (ids) and vote time can disagree.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.models import (
    Assignment,
    AssignmentState,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemState,
)
from backend.projects.models import Project
from backend.trees.models import Message, Role, Tree, TreeState, text_digest

T0 = datetime(2025, 3, 1, tzinfo=UTC)
_texts = itertools.count()


@dataclass
class Group:
    parent: Message
    replies: list[Message]
    item: WorkItem


@dataclass
class Ballot:
    group: Group
    voter: User
    ranking: list[int]
    shown: list[int]
    at: datetime


@dataclass
class Vote:
    message: Message
    voter: User
    label: str
    value: float
    at: datetime


@dataclass
class World:
    project: Project
    groups: list[Group] = field(default_factory=list)


def ready_tree(
    project: Project, author: User, reply_count: int, *, state: str = TreeState.READY_FOR_EXPORT
) -> Group:
    """A tree with a prompt and ``reply_count`` accepted assistant replies, and the
    closed ranking item of that group."""
    tree = Tree.objects.create(project=project, lang="en", state=state)
    root = _message(tree, None, Role.PROMPTER, author)
    tree.root = root
    tree.save(update_fields=["root"])
    replies = [_message(tree, root, Role.ASSISTANT, author) for _ in range(reply_count)]
    item = WorkItem.objects.create(
        project=project,
        tree=tree,
        target=root,
        kind="rank_assistant_replies",
        lang="en",
        state=WorkItemState.CLOSED,
        required=3,
        open_slots=0,
        completed_count=0,
        candidate_ids=sorted(reply.pk for reply in replies),
    )
    return Group(parent=root, replies=replies, item=item)


def _message(tree: Tree, parent: Message | None, role: str, author: User) -> Message:
    text = f"consensus test message {next(_texts)}"
    return Message.objects.create(
        tree=tree,
        parent=parent,
        depth=0 if parent is None else parent.depth + 1,
        role=role,
        text=text,
        text_digest=text_digest(text),
        lang="en",
        author=author,
        review_count=3,
        review_result=True,
    )


def store_ballots(ballots: Sequence[Ballot]) -> list[RankingVote]:
    """Insert in the order given; each vote's time is set afterwards."""
    stored = []
    for ballot in ballots:
        assignment = Assignment.objects.create(
            project_id=ballot.group.item.project_id,
            user=ballot.voter,
            work_item=ballot.group.item,
            kind=ballot.group.item.kind,
            lang="en",
            state=AssignmentState.SUBMITTED,
            expires_at=ballot.at + timedelta(hours=1),
            finished_at=ballot.at,
            candidate_ids=list(ballot.shown),
        )
        vote = RankingVote.objects.create(
            parent=ballot.group.parent,
            work_item=ballot.group.item,
            user=ballot.voter,
            assignment=assignment,
            ranking=list(ballot.ranking),
        )
        RankingVote.objects.filter(pk=vote.pk).update(created_at=ballot.at)
        stored.append(vote)
    return stored


def store_votes(votes: Sequence[Vote]) -> None:
    for vote in votes:
        stored = LabelVote.objects.create(
            message=vote.message, user=vote.voter, label=vote.label, value=vote.value
        )
        LabelVote.objects.filter(pk=stored.pk).update(created_at=vote.at)


def shuffled(items: Sequence[Any], seed: int) -> list[Any]:
    copy = list(items)
    random.Random(seed).shuffle(copy)
    return copy


def moment(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def now() -> datetime:
    return timezone.now()
