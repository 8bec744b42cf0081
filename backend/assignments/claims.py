"""The claim: one statement that checks the person's limits, picks the best open item
they may do, locks it, takes a slot and inserts the assignment — and returns what the
answer shows (the conversation and the candidates), so nothing is read again.

PostgreSQL runs it as written below; SQLite (the embedded default, whose IMMEDIATE
transactions already run one at a time) takes the same decisions in a few ORM
statements. The guarantees are the database's on both: a slot is taken only by the
conditional ``open_slots - 1 … WHERE open_slots > 0``, backed by check constraints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Value, When

from backend.assignments.models import (
    Assignment,
    AssignmentState,
    WorkItem,
    WorkItemExclusion,
    WorkItemState,
)
from backend.common.prepared import execute_prepared

# Assignment states that bar a person from claiming the same item again.
BARRING_STATES = (AssignmentState.ACTIVE, AssignmentState.SUBMITTED, AssignmentState.SKIPPED)
# When every item with room is held by another claim's transaction: how many busy
# items to wait for (one at a time, holding nothing) before answering "no work".
BUSY_ITEM_ATTEMPTS = 5


@dataclass(frozen=True)
class Turn:
    """One message as an assignment shows it."""

    id: int
    role: str
    text: str


@dataclass
class Claimed:
    """What a claim statement found: the limits' counts and, if a slot was taken, the
    new assignment with what it shows."""

    open_count: int
    recent_count: int
    is_banned: bool
    assignment: Assignment | None = None
    tree_id: int | None = None
    conversation: list[Turn] = field(default_factory=list)
    candidates: list[Turn] = field(default_factory=list)


def _json_list(value: Any) -> list[Any]:
    """A ``jsonb`` value from a raw cursor (Django has psycopg hand those over as text)."""
    if value is None:
        return []
    return list(json.loads(value) if isinstance(value, str | bytes) else value)


def turns(rows: Any) -> list[Turn]:
    if rows is None:
        return []
    if isinstance(rows, str | bytes):
        rows = json.loads(rows)
    return [Turn(id=int(row[0]), role=str(row[1]), text=str(row[2])) for row in rows]


# --- PostgreSQL ------------------------------------------------------------------------

_LIMITS = """
me AS MATERIALIZED (
  SELECT
    (SELECT count(*) FROM assignments_assignment
      WHERE user_id = %(user)s AND state = 'active' AND expires_at > %(now)s) AS open_count,
    (SELECT count(*) FROM assignments_assignment
      WHERE user_id = %(user)s AND created_at >= %(minute_ago)s) AS recent_count,
    (SELECT is_banned FROM accounts_user WHERE id = %(user)s) AS is_banned
)"""

# One branch per kind, in the order "any" drew: the Append under LIMIT 1 runs a branch
# only if the ones before it found nothing, so only the item taken is ever locked.
_BRANCH = """
  SELECT * FROM (
    SELECT w.id FROM assignments_workitem w
    WHERE w.project_id = %(project)s AND w.lang = %(lang)s AND w.kind = %({kind})s
      AND w.state = 'open' AND w.open_slots > 0
      AND (SELECT NOT is_banned AND open_count < %(max_open)s AND recent_count < %(per_minute)s
           FROM me)
      AND NOT EXISTS (SELECT 1 FROM assignments_workitemexclusion e
                      WHERE e.work_item_id = w.id AND e.user_id = %(user)s)
      AND NOT EXISTS (SELECT 1 FROM assignments_assignment a
                      WHERE a.work_item_id = w.id AND a.user_id = %(user)s
                        AND a.state IN ('active', 'submitted', 'skipped'))
    ORDER BY w.priority DESC, w.id
    LIMIT 1
    {lock}
  ) {kind}"""

_CLAIM = """
WITH RECURSIVE {limits},
pick AS ({branches}
  LIMIT 1
),
taken AS (
  UPDATE assignments_workitem w SET open_slots = w.open_slots - 1
  FROM pick WHERE w.id = pick.id AND w.state = 'open' AND w.open_slots > 0
  RETURNING w.id, w.kind, w.tree_id, w.target_id, w.candidate_ids
),
created AS (
  INSERT INTO assignments_assignment
    (project_id, user_id, work_item_id, kind, lang, state, created_at, expires_at,
     candidate_ids, skip_reason)
  SELECT %(project)s, %(user)s, taken.id, taken.kind, %(lang)s, 'active', %(now)s, %(expires)s,
    COALESCE(
      (SELECT jsonb_agg(c ORDER BY random()) FROM jsonb_array_elements(taken.candidate_ids) c),
      '[]'::jsonb),
    ''
  FROM taken
  RETURNING id, work_item_id, kind, candidate_ids
),
path(id, parent_id, role, text, depth) AS (
  SELECT m.id, m.parent_id, m.role, m.text, m.depth
  FROM trees_message m JOIN taken ON m.id = taken.target_id
  UNION ALL
  SELECT m.id, m.parent_id, m.role, m.text, m.depth
  FROM trees_message m JOIN path p ON m.id = p.parent_id
)
SELECT me.open_count, me.recent_count, me.is_banned,
  created.id, created.kind, created.candidate_ids, taken.tree_id, taken.id,
  (SELECT jsonb_agg(jsonb_build_array(id, role, text) ORDER BY depth) FROM path),
  (SELECT jsonb_agg(jsonb_build_array(m.id, m.role, m.text) ORDER BY c.position)
     FROM created, jsonb_array_elements_text(created.candidate_ids) WITH ORDINALITY c(id, position)
     JOIN trees_message m ON m.id = c.id::bigint)
FROM me LEFT JOIN created ON true LEFT JOIN taken ON true
"""


# The claim's parameters and their types, in the order the prepared statement takes them.
_CLAIM_TYPES = {
    "user": "bigint",
    "project": "bigint",
    "lang": "text",
    "now": "timestamptz",
    "minute_ago": "timestamptz",
    "expires": "timestamptz",
    "max_open": "integer",
    "per_minute": "integer",
}


def claim_statement(kind_count: int, *, skip_locked: bool = True) -> str:
    lock = "FOR NO KEY UPDATE OF w SKIP LOCKED" if skip_locked else ""
    branches = "\n  UNION ALL".join(
        _BRANCH.format(kind=f"kind{index}", lock=lock) for index in range(kind_count)
    )
    return _CLAIM.format(limits=_LIMITS.strip(), branches=branches)


def claim_postgresql(
    *,
    user_id: int,
    project_id: int,
    lang: str,
    kinds: list[str],
    now: datetime,
    minute_ago: datetime,
    expires: datetime,
    max_open: int,
    per_minute: int,
) -> Claimed:
    """Run the claim statement for ``kinds`` (in preference order)."""
    params: dict[str, Any] = {
        "user": user_id,
        "project": project_id,
        "lang": lang,
        "now": now,
        "minute_ago": minute_ago,
        "expires": expires,
        "max_open": max_open,
        "per_minute": per_minute,
        **{f"kind{index}": kind for index, kind in enumerate(kinds)},
    }
    types = {**_CLAIM_TYPES, **{f"kind{index}": "text" for index in range(len(kinds))}}
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            name=f"arbor_claim_{len(kinds)}",
            sql=claim_statement(len(kinds)),
            types=types,
            params=params,
        )
        row = cursor.fetchone()
    open_count, recent_count, is_banned, assignment_id, kind, candidate_ids, tree_id, item_id = row[
        :8
    ]
    claimed = Claimed(
        open_count=int(open_count), recent_count=int(recent_count), is_banned=bool(is_banned)
    )
    if assignment_id is None:
        return claimed
    assignment = Assignment(
        pk=assignment_id,
        project_id=project_id,
        user_id=user_id,
        work_item_id=item_id,
        kind=kind,
        lang=lang,
        state=AssignmentState.ACTIVE,
        created_at=now,
        expires_at=expires,
        candidate_ids=_json_list(candidate_ids),
        skip_reason="",
    )
    assignment._state.adding = False
    assignment._state.db = connection.alias
    claimed.assignment = assignment
    claimed.tree_id = tree_id
    claimed.conversation = turns(row[8])
    claimed.candidates = turns(row[9])
    return claimed


def busy_item_take(
    *, user_id: int, project_id: int, lang: str, kinds: list[str], tried: list[int]
) -> WorkItem | None:
    """PostgreSQL, when every item with a free slot is held by another transaction: a
    busy item must not look like "no work", so wait for the best one with the
    conditional update. If it is full by the time its lock is ours, try the next-best,
    up to ``BUSY_ITEM_ATTEMPTS`` — each wait in a savepoint that is rolled back when the
    item turns out full, so the claim never holds one item while waiting for another
    (a blocking ``SELECT … FOR UPDATE LIMIT 1`` does, and deadlocked with
    ``tree_halt``).
    """
    for _ in range(BUSY_ITEM_ATTEMPTS):
        item = (
            claimable(user_id=user_id, project_id=project_id, lang=lang, kinds=kinds)
            .exclude(pk__in=tried)
            .first()
        )
        if item is None:
            return None
        tried.append(item.pk)
        try:
            with transaction.atomic():
                if slot_take(item.pk):
                    return item
                # Full by the time it was ours. The wait left its row locked; rolling
                # the savepoint back releases it before the next item is waited for.
                raise _ItemFull
        except _ItemFull:
            continue
    return None


class _ItemFull(Exception):
    pass


# --- Both databases (SQLite's path, and PostgreSQL's busy-item fallback) -------------


def claimable(*, user_id: int, project_id: int, lang: str, kinds: list[str]) -> Any:
    """Open items of ``kinds`` with a free slot this person may do, best first (the
    kinds in the given order, then priority, then age)."""
    kind_order = Case(
        *(When(kind=kind, then=Value(position)) for position, kind in enumerate(kinds)),
        output_field=IntegerField(),
    )
    return (
        WorkItem.objects.filter(
            project_id=project_id,
            lang=lang,
            kind__in=kinds,
            state=WorkItemState.OPEN,
            open_slots__gt=0,
        )
        .exclude(
            Exists(WorkItemExclusion.objects.filter(work_item=OuterRef("pk"), user_id=user_id))
        )
        .exclude(
            Exists(
                Assignment.objects.filter(
                    work_item=OuterRef("pk"), user_id=user_id, state__in=BARRING_STATES
                )
            )
        )
        .order_by(kind_order, "-priority", "pk")
    )


def slot_take(item_id: int) -> bool:
    # The row count decides: a slot is taken only while one is free.
    return bool(
        WorkItem.objects.filter(pk=item_id, state=WorkItemState.OPEN, open_slots__gt=0).update(
            open_slots=F("open_slots") - 1
        )
    )


_PATH = """
WITH RECURSIVE path(id, parent_id, role, text, depth) AS (
  SELECT id, parent_id, role, text, depth FROM trees_message WHERE id = %s
  UNION ALL
  SELECT m.id, m.parent_id, m.role, m.text, m.depth FROM trees_message m
  JOIN path p ON m.id = p.parent_id
)
SELECT id, role, text FROM path ORDER BY depth
"""


def conversation_turns(target_id: int) -> list[Turn]:
    """Root → ``target_id`` in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_PATH, [target_id])
        return turns(cursor.fetchall())


def candidate_turns(candidate_ids: list[int]) -> list[Turn]:
    """The candidates in the order given (the order this person was shown)."""
    from backend.trees.models import Message

    if not candidate_ids:
        return []
    rows = {
        pk: Turn(id=pk, role=role, text=text)
        for pk, role, text in Message.objects.filter(pk__in=candidate_ids).values_list(
            "pk", "role", "text"
        )
    }
    return [rows[pk] for pk in candidate_ids if pk in rows]
