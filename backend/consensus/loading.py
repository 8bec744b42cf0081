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
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from django.db import connection

from backend.consensus.models import GoldLabel, LabelVote, RankingVote
from backend.projects.models import Project
from backend.trees.models import Role

# Assignment kinds, by the role of the message labelled / of the parent ranked.
LABEL_INITIAL_PROMPT = "label_initial_prompt"
LABEL_PROMPTER_REPLY = "label_prompter_reply"
LABEL_ASSISTANT_REPLY = "label_assistant_reply"
RANK_PROMPTER_REPLIES = "rank_prompter_replies"
RANK_ASSISTANT_REPLIES = "rank_assistant_replies"


# --- Rankings -------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """A timestamp as whole microseconds since 1970 (exact, unlike a float)."""
    return (moment - EPOCH) // MICROSECOND


def moment(microseconds_since_epoch: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds_since_epoch)


@dataclass
class RankingGroupVotes:
    """The ballots of one sibling group, earliest first.

    ``work_item_id`` is None for imported ballots without a work item; those form
    one group per parent. Times are microseconds since 1970.
    """

    parent_id: int
    work_item_id: int | None
    tree_id: int
    task_kind: str
    user_ids: list[int] = field(default_factory=list)
    created_us: list[int] = field(default_factory=list)
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
    if project_id is not None and parent_id is None and connection.vendor == "postgresql":
        rows: Iterable[tuple[Any, ...]] = _project_ballots_postgresql(project_id)
    else:
        rows = _ballots_orm(project_id, parent_id, work_item_id, itemless)
    groups: list[RankingGroupVotes] = []
    current: RankingGroupVotes | None = None
    for parent, item, tree, parent_is_prompter, user, created_us, ranking, shown in rows:
        if current is None or current.parent_id != parent or current.work_item_id != item:
            current = RankingGroupVotes(
                parent_id=parent,
                work_item_id=item,
                tree_id=tree,
                task_kind=RANK_ASSISTANT_REPLIES if parent_is_prompter else RANK_PROMPTER_REPLIES,
            )
            groups.append(current)
        current.user_ids.append(user)
        current.created_us.append(created_us)
        current.ballots.append(ranking)
        current.shown.append(shown if shown else None)
    return groups


def _ballots_orm(
    project_id: int | None, parent_id: int | None, work_item_id: int | None, itemless: bool
) -> Iterable[tuple[Any, ...]]:
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
    # Item-less ballots first, as on PostgreSQL (NULLS FIRST there too).
    ordered = sorted(
        rows, key=lambda row: (row[0], row[1] is not None, row[1] or 0, row[5], row[4])
    )
    for parent, item, tree, role, user, created, ranking, shown in ordered:
        yield parent, item, tree, role == Role.PROMPTER, user, microseconds(created), ranking, shown


def _project_ballots_postgresql(project_id: int) -> Iterable[tuple[Any, ...]]:
    """The project's ballots in one round trip, times as integers and JSON as text
    (parsed here), which is several times faster than the ORM's row objects."""
    sql = """
        SELECT v.parent_id, v.work_item_id, m.tree_id, m.role = %s, v.user_id,
               (EXTRACT(EPOCH FROM v.created_at) * 1000000)::int8,
               v.ranking::text, a.candidate_ids::text
        FROM consensus_rankingvote v
        JOIN trees_message m ON m.id = v.parent_id
        JOIN trees_tree t ON t.id = m.tree_id
        LEFT JOIN assignments_assignment a ON a.id = v.assignment_id
        WHERE t.project_id = %s
        ORDER BY v.parent_id, v.work_item_id NULLS FIRST, v.created_at, v.user_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [Role.PROMPTER.value, project_id])
        rows = cursor.fetchall()
    loads = orjson.loads
    for parent, item, tree, is_prompter, user, created_us, ranking, shown in rows:
        yield (
            parent,
            item,
            tree,
            is_prompter,
            user,
            created_us,
            loads(ranking),
            loads(shown) if shown else None,
        )


# --- Labels ---------------------------------------------------------------------------


@dataclass
class LabelVotes:
    """Label votes as parallel arrays, sorted by (message, label, user).

    ``label`` indexes ``label_names`` (sorted); ``task_kind`` indexes ``TASK_KINDS``.
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


# The task kind of a labelled message, as a number (index into TASK_KINDS), in SQL.
_KIND_SQL = "CASE WHEN m.depth = 0 THEN 0 WHEN m.role = %s THEN 1 ELSE 2 END"


def load_label_votes(
    *, project_id: int | None = None, message_ids: Iterable[int] | None = None
) -> LabelVotes:
    votes = LabelVote.objects.all()
    if project_id is not None:
        votes = votes.filter(message__tree__project_id=project_id)
    if message_ids is not None:
        votes = votes.filter(message_id__in=list(message_ids))
    names = sorted(votes.order_by().values_list("label", flat=True).distinct())
    if project_id is not None and message_ids is None and connection.vendor == "postgresql":
        columns = _project_label_votes_postgresql(project_id, names)
    else:
        columns = _label_votes_orm(votes, names)
    message, user, label, value, kind = columns
    order = np.lexsort((user, label, message))
    return LabelVotes(
        message=message[order],
        user=user[order],
        label=label[order].astype(np.int32),
        value=value[order],
        task_kind=kind[order].astype(np.int8),
        label_names=names,
    )


def _label_votes_orm(
    votes: Any, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    code = {name: index for index, name in enumerate(names)}
    rows = list(
        votes.order_by().values_list(
            "message_id", "user_id", "label", "value", "message__depth", "message__role"
        )
    )
    return (
        np.asarray([row[0] for row in rows], dtype=np.int64),
        np.asarray([row[1] for row in rows], dtype=np.int64),
        np.asarray([code[row[2]] for row in rows], dtype=np.int64),
        np.asarray([row[3] for row in rows], dtype=np.float64),
        np.asarray(
            [0 if row[4] == 0 else (1 if row[5] == Role.PROMPTER else 2) for row in rows],
            dtype=np.int64,
        ),
    )


# One row of PostgreSQL's binary COPY of five NOT NULL 8-byte columns: a field count,
# then a length and the big-endian value of each field.
_BINARY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("message_length", ">i4"),
        ("message", ">i8"),
        ("user_length", ">i4"),
        ("user", ">i8"),
        ("label_length", ">i4"),
        ("label", ">i8"),
        ("value_length", ">i4"),
        ("value", ">f8"),
        ("kind_length", ">i4"),
        ("kind", ">i8"),
    ]
)
_BINARY_HEADER = 19  # signature, flags, header extension length
_BINARY_TRAILER = 2  # the -1 field count that ends the data


def _project_label_votes_postgresql(
    project_id: int, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A million votes read as one binary COPY straight into NumPy arrays: no Python
    object per row. Label names become their index in ``names`` in the query."""
    sql = f"""
        COPY (
            SELECT v.message_id::int8, v.user_id::int8,
                   (array_position(%s::text[], v.label::text) - 1)::int8,
                   v.value::float8, ({_KIND_SQL})::int8
            FROM consensus_labelvote v
            JOIN trees_message m ON m.id = v.message_id
            JOIN trees_tree t ON t.id = m.tree_id
            WHERE t.project_id = %s
        ) TO STDOUT (FORMAT BINARY)
    """
    data = bytearray()
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(sql, [names, Role.PROMPTER.value, project_id]) as copy,
    ):
        for chunk in copy:
            data += chunk
    rows = np.frombuffer(
        memoryview(data)[_BINARY_HEADER : len(data) - _BINARY_TRAILER], dtype=_BINARY_ROW
    )
    return (
        rows["message"].astype(np.int64),
        rows["user"].astype(np.int64),
        rows["label"].astype(np.int64),
        rows["value"].astype(np.float64),
        rows["kind"].astype(np.int64),
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
