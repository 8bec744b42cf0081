"""Bulk reads of votes into plain Python/NumPy structures for scoring.

One query per kind of row, ordered so that the scoring functions never depend on the
order rows were inserted in: ranking ballots by group, then (created_at, user id) —
the earliest ballot breaks ties, and two ballots of one group never share a user —
and label votes by (message, label, user). Row ids (insertion order) are never used
to order anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Q

from backend.assignments.models import LabelVote, RankingVote
from backend.consensus.algorithms.batched import PAD, BallotArrays
from backend.consensus.models import GoldLabel
from backend.onboarding.models import GoldResult
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
class RankingVotes:
    """The ballots of many sibling groups as arrays (``ballots``, see
    :class:`BallotArrays`), with what identifies each group (first axis G) and ballot
    (first axis N).

    A group is the ballots of one ranking work item, or — for imported ballots without
    an item (``work_item`` −1) — all such ballots under one parent. Groups come in
    (parent, item) order, item-less first; ballots by (time, user). Times are
    microseconds since 1970; ``shown`` is the order each voter was shown (``PAD`` where
    unknown).
    """

    ballots: BallotArrays
    parent: np.ndarray
    work_item: np.ndarray
    tree: np.ndarray
    parent_is_prompter: np.ndarray
    user: np.ndarray
    created_us: np.ndarray
    shown: np.ndarray

    def __len__(self) -> int:
        return len(self.parent)

    def key(self, group: int) -> tuple[int, int | None]:
        item = int(self.work_item[group])
        return (int(self.parent[group]), None if item < 0 else item)

    def task_kinds(self) -> np.ndarray:
        # Replies to a prompter message are the assistant's, and the other way round.
        return np.where(self.parent_is_prompter, RANK_ASSISTANT_REPLIES, RANK_PROMPTER_REPLIES)

    def rows(self, group: int) -> slice:
        start = int(self.ballots.group_start[group])
        return slice(start, start + int(self.ballots.group_count[group]))


def load_ranking_votes(
    *,
    project_id: int | None = None,
    parent_id: int | None = None,
    work_item_id: int | None = None,
    itemless: bool = False,
) -> RankingVotes:
    """Ranking ballots grouped by sibling group."""
    if project_id is not None and parent_id is None and connection.vendor == "postgresql":
        return _project_ballots_postgresql(project_id)
    votes = RankingVote.objects.all()
    if project_id is not None:
        votes = votes.filter(parent__tree__project_id=project_id)
    if parent_id is not None:
        votes = votes.filter(parent_id=parent_id)
    if work_item_id is not None:
        votes = votes.filter(work_item_id=work_item_id)
    if itemless:
        votes = votes.filter(work_item__isnull=True)
    rows = [
        (
            parent,
            -1 if item is None else item,
            tree,
            role == Role.PROMPTER,
            user,
            microseconds(created),
            ranking,
            shown or [],
        )
        for parent, item, tree, role, user, created, ranking, shown in votes.values_list(
            "parent_id",
            "work_item_id",
            "parent__tree_id",
            "parent__role",
            "user_id",
            "created_at",
            "ranking",
            "assignment__candidate_ids",
        )
    ]
    rows.sort(key=lambda row: (row[0], row[1], row[5], row[4]))
    width = max((len(row[6]) for row in rows), default=0)
    shown_width = max((len(row[7]) for row in rows), default=0)
    ranking = np.full((len(rows), width), PAD, dtype=np.int64)
    shown = np.full((len(rows), shown_width), PAD, dtype=np.int64)
    for index, row in enumerate(rows):
        ranking[index, : len(row[6])] = row[6]
        shown[index, : len(row[7])] = row[7]
    columns = np.asarray([row[:6] for row in rows], dtype=np.int64).reshape(len(rows), 6)
    return _grouped(columns, ranking, shown)


def _grouped(columns: np.ndarray, ranking: np.ndarray, shown: np.ndarray) -> RankingVotes:
    """Split sorted ballot rows (parent, item, tree, is_prompter, user, µs) into groups."""
    parent, item = columns[:, 0], columns[:, 1]
    new_group = np.ones(len(columns), dtype=bool)
    new_group[1:] = (parent[1:] != parent[:-1]) | (item[1:] != item[:-1])
    starts = np.flatnonzero(new_group).astype(np.intp)
    counts = np.diff(np.append(starts, len(columns))).astype(np.intp)
    return RankingVotes(
        ballots=BallotArrays(group_start=starts, group_count=counts, ranking=ranking),
        parent=parent[starts],
        work_item=item[starts],
        tree=columns[starts, 2],
        parent_is_prompter=columns[starts, 3].astype(bool),
        user=columns[:, 4].copy(),
        created_us=columns[:, 5].copy(),
        shown=shown,
    )


def _project_ballots_postgresql(project_id: int) -> RankingVotes:
    """The project's ballots as one binary COPY straight into NumPy: rankings and shown
    orders become fixed-width columns (padded), so no Python object is made per
    ballot. Several times faster than reading rows."""
    scope = """
        FROM consensus_rankingvote v
        JOIN trees_message m ON m.id = v.parent_id
        JOIN trees_tree t ON t.id = m.tree_id
        LEFT JOIN assignments_assignment a ON a.id = v.assignment_id
        WHERE t.project_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(MAX(jsonb_array_length(v.ranking)), 0), "
            "COALESCE(MAX(jsonb_array_length(a.candidate_ids)), 0) " + scope,
            [project_id],
        )
        width, shown_width = cursor.fetchone()
    fixed = [
        "v.parent_id",
        "COALESCE(v.work_item_id, -1)",
        "m.tree_id",
        f"CASE WHEN m.role = '{Role.PROMPTER.value}' THEN 1 ELSE 0 END",
        "v.user_id",
        "(EXTRACT(EPOCH FROM v.created_at) * 1000000)::int8",
    ]
    places = [f"COALESCE((v.ranking ->> {index})::int8, {PAD})" for index in range(width)]
    shown_places = [
        f"COALESCE((a.candidate_ids ->> {index})::int8, {PAD})" for index in range(shown_width)
    ]
    expressions = [f"({expression})::int8" for expression in fixed + places + shown_places]
    sql = (
        f"COPY (SELECT {', '.join(expressions)} {scope} "
        "ORDER BY v.parent_id, v.work_item_id NULLS FIRST, v.created_at, v.user_id"
        ") TO STDOUT (FORMAT BINARY)"
    )
    columns = _binary_copy(sql, [project_id], ["int8"] * len(expressions))

    def matrix(parts: list[np.ndarray]) -> np.ndarray:
        rows = len(columns[0]) if columns else 0
        return np.column_stack(parts) if parts else np.zeros((rows, 0), dtype=np.int64)

    return _grouped(
        matrix(columns[:6]), matrix(columns[6 : 6 + width]), matrix(columns[6 + width :])
    )


def _binary_copy(sql: str, params: list[Any], types: list[str]) -> list[np.ndarray]:
    """Read a binary COPY of NOT NULL 8-byte columns into an (rows × columns) array.

    PostgreSQL's binary format is a 19-byte header, then per row a 2-byte field count
    and, per field, a 4-byte length and the big-endian value; a −1 field count ends
    it. With fixed-width columns every row has the same layout, so the whole stream
    is one NumPy structured array.
    """
    layout = [("fields", ">i2")]
    for index, kind in enumerate(types):
        layout += [
            (f"length{index}", ">i4"),
            (f"value{index}", ">f8" if kind == "float8" else ">i8"),
        ]
    data = bytearray()
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql, params) as copy:
        for chunk in copy:
            data += chunk
    rows = np.frombuffer(memoryview(data)[19 : len(data) - 2], dtype=np.dtype(layout))
    return [
        rows[f"value{index}"].astype(np.float64 if kind == "float8" else np.int64)
        for index, kind in enumerate(types)
    ]


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
    message, user, label, value, kind = _binary_copy(
        sql, [names, Role.PROMPTER.value, project_id], ["int8", "int8", "int8", "float8", "int8"]
    )
    return message, user, label, value, kind


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


def load_gold_results(*, project_id: int) -> dict[int, tuple[int, int]]:
    """Each person's answers to the project's gold items (qualifications and gold items
    in the stream): {user id: (right, answered)}."""
    rows = (
        GoldResult.objects.filter(project_id=project_id)
        .values("user_id")
        .annotate(right=Count("pk", filter=Q(is_correct=True)), answered=Count("pk"))
    )
    return {row["user_id"]: (row["right"], row["answered"]) for row in rows}


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
