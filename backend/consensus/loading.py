"""Bulk reads of votes into plain Python/NumPy structures for scoring.

One query per kind of row, ordered so that the scoring functions never depend on the
order rows were inserted in: ranking ballots by group, then (created_at, user id) —
the earliest ballot breaks ties, and two ballots of one group never share a user —
and label votes by (message, label, user). Row ids (insertion order) are never used
to order anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Q

from backend.consensus.models import GoldLabel, LabelVote, RankingVote
from backend.projects.models import Project
from backend.trees.models import Role

# Assignment kinds, by the role of the message labelled / of the parent ranked.
LABEL_INITIAL_PROMPT = "label_initial_prompt"
LABEL_PROMPTER_REPLY = "label_prompter_reply"
LABEL_ASSISTANT_REPLY = "label_assistant_reply"
RANK_PROMPTER_REPLIES = "rank_prompter_replies"
RANK_ASSISTANT_REPLIES = "rank_assistant_replies"


def label_task_kind(*, depth: int, role: str) -> str:
    if depth == 0:
        return LABEL_INITIAL_PROMPT
    return LABEL_PROMPTER_REPLY if role == Role.PROMPTER else LABEL_ASSISTANT_REPLY


def rank_task_kind(*, parent_role: str) -> str:
    # Replies to a prompter message are the assistant's, and the other way round.
    return RANK_ASSISTANT_REPLIES if parent_role == Role.PROMPTER else RANK_PROMPTER_REPLIES


# --- Rankings -------------------------------------------------------------------------


@dataclass
class RankingGroupVotes:
    """The ballots of one sibling group, earliest first.

    ``work_item_id`` is None for imported ballots without a work item; those form
    one group per parent.
    """

    parent_id: int
    work_item_id: int | None
    tree_id: int
    task_kind: str
    user_ids: list[int] = field(default_factory=list)
    created_at: list[datetime] = field(default_factory=list)
    ballots: list[list[int]] = field(default_factory=list)
    # The candidates in the order shown to the voter (None when not recorded).
    shown: list[list[int] | None] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.parent_id, self.work_item_id)


def load_ranking_groups(
    *,
    project_id: int | None = None,
    parent_id: int | None = None,
    work_item_id: int | None = None,
    itemless: bool = False,
) -> list[RankingGroupVotes]:
    """Ranking ballots grouped by sibling group, groups in (parent, item) order."""
    votes = RankingVote.objects.all()
    if project_id is not None:
        votes = votes.filter(parent__tree__project_id=project_id)
    if parent_id is not None:
        votes = votes.filter(parent_id=parent_id)
    if work_item_id is not None:
        votes = votes.filter(work_item_id=work_item_id)
    if itemless:
        votes = votes.filter(work_item__isnull=True)
    rows = votes.order_by("parent_id", "work_item_id", "created_at", "user_id").values_list(
        "parent_id",
        "work_item_id",
        "parent__tree_id",
        "parent__role",
        "user_id",
        "created_at",
        "ranking",
        "assignment__candidate_ids",
    )
    groups: list[RankingGroupVotes] = []
    current: RankingGroupVotes | None = None
    for parent, item, tree, parent_role, user, created, ranking, shown in rows.iterator(
        chunk_size=20000
    ):
        if current is None or current.parent_id != parent or current.work_item_id != item:
            current = RankingGroupVotes(
                parent_id=parent,
                work_item_id=item,
                tree_id=tree,
                task_kind=rank_task_kind(parent_role=parent_role),
            )
            groups.append(current)
        current.user_ids.append(user)
        current.created_at.append(created)
        current.ballots.append(ranking)
        current.shown.append(shown if shown else None)
    return groups


# --- Labels ---------------------------------------------------------------------------


@dataclass
class LabelVotes:
    """Label votes as parallel arrays, sorted by (message, label, user).

    ``label`` indexes ``label_names``; ``task_kind`` indexes ``TASK_KINDS``.
    """

    message: np.ndarray
    user: np.ndarray
    label: np.ndarray
    value: np.ndarray
    task_kind: np.ndarray
    label_names: list[str]

    TASK_KINDS = (LABEL_INITIAL_PROMPT, LABEL_PROMPTER_REPLY, LABEL_ASSISTANT_REPLY)

    def __len__(self) -> int:
        return len(self.message)


def load_label_votes(
    *, project_id: int | None = None, message_ids: Iterable[int] | None = None
) -> LabelVotes:
    votes = LabelVote.objects.all()
    if project_id is not None:
        votes = votes.filter(message__tree__project_id=project_id)
    if message_ids is not None:
        votes = votes.filter(message_id__in=list(message_ids))
    rows = votes.order_by().values_list(
        "message_id", "user_id", "label", "value", "message__depth", "message__role"
    )
    messages: list[int] = []
    users: list[int] = []
    labels: list[int] = []
    values: list[float] = []
    kinds: list[int] = []
    label_codes: dict[str, int] = {}
    kind_codes = {kind: index for index, kind in enumerate(LabelVotes.TASK_KINDS)}
    kind_of: dict[tuple[int, str], int] = {}
    for message, user, label, value, depth, role in rows.iterator(chunk_size=50000):
        messages.append(message)
        users.append(user)
        code = label_codes.get(label)
        if code is None:
            code = label_codes[label] = len(label_codes)
        labels.append(code)
        values.append(value)
        kind = kind_of.get((depth == 0, role))
        if kind is None:
            kind = kind_of[(depth == 0, role)] = kind_codes[
                label_task_kind(depth=0 if depth == 0 else 1, role=role)
            ]
        kinds.append(kind)
    # Labels numbered alphabetically, rows sorted: nothing depends on insertion order.
    names = sorted(label_codes)
    renumber = np.zeros(len(label_codes), dtype=np.int32)
    for new_code, name in enumerate(names):
        renumber[label_codes[name]] = new_code
    message_array = np.asarray(messages, dtype=np.int64)
    user_array = np.asarray(users, dtype=np.int64)
    label_array = renumber[np.asarray(labels, dtype=np.int32)] if labels else np.zeros(0, np.int32)
    order = np.lexsort((user_array, label_array, message_array))
    return LabelVotes(
        message=message_array[order],
        user=user_array[order],
        label=label_array[order],
        value=np.asarray(values, dtype=np.float64)[order],
        task_kind=np.asarray(kinds, dtype=np.int8)[order],
        label_names=names,
    )


def load_gold(
    *, project_id: int | None = None, message_ids: Iterable[int] | None = None
) -> dict[tuple[int, str], float]:
    """Known answers: {(message id, label): value}."""
    gold = GoldLabel.objects.all()
    if project_id is not None:
        gold = gold.filter(message__tree__project_id=project_id)
    if message_ids is not None:
        gold = gold.filter(message_id__in=list(message_ids))
    return {
        (message, label): value
        for message, label, value in gold.values_list("message_id", "label", "value")
    }


def label_kinds(project: Project, label_names: Iterable[str], votes: LabelVotes) -> dict[str, str]:
    """``flag`` or ``likert`` for each label: from the project's schema, else flags
    are the labels whose every vote is 0 or 1."""
    schema: dict[str, Any] = {
        spec["name"]: spec.get("kind", "flag") for spec in project.label_schema if "name" in spec
    }
    kinds: dict[str, str] = {}
    for code, name in enumerate(label_names):
        kind = schema.get(name)
        if kind not in ("flag", "likert"):
            values = votes.value[votes.label == code]
            kind = "flag" if np.all((values == 0.0) | (values == 1.0)) else "likert"
        kinds[name] = kind
    return kinds


def message_filter_for_project(project_id: int) -> Q:
    return Q(tree__project_id=project_id)
