"""What must hold in the database after any run, faults or not: the invariant checker.

    from bench.invariants import Acknowledged, check_invariants
    results = check_invariants(cursor, acknowledged)       # a DB-API cursor

The caller says what its clients saw acknowledged (every submit answered 2xx: the
assignment, its ``Idempotency-Key``, the message id the answer carried) and the checker
compares that with the tables. Five checks, each a count of violations that must be 0:

- **nothing lost**: every acknowledged submission is stored: its assignment is
  ``submitted``, its idempotency record exists, and what it carried is there (the
  message it answered with, its label votes or its ranking vote);
- **nothing stored twice**: no message written twice (same parent, author and text),
  no message that two assignments claim as theirs, no second idempotency record for
  one assignment, no person submitting one work item twice, no label vote twice for
  one assignment and label, no ranking vote twice for one assignment or item;
- **no work item over its need**: no item with more completions, submitted
  assignments, or submitted plus active ones than it requires, and its counters agree
  with its assignments (``completed_count`` = submitted; a live item's ``open_slots``
  = required − completed − active);
- **no tree stuck**, in the sweep's sense (``backend/assignments/sweep.py``,
  ``tree_advance``): a tree in ``prompt_review``, ``growing`` or ``ranking`` always has
  a live (open or paused) work item, and a tree stays in ``scoring`` no longer than it
  takes the sweep to hand it to Celery again (``SCORING_STALE_AFTER`` plus one sweep
  interval); trees that changed state less than ``grace_seconds`` ago are left out;
- **outbox drained**: no ``OutboxMessage`` left (``backend/common/outbox.py``).

Plain SQL through a DB-API cursor with ``%s`` parameters, so the same module serves a
benchmark that only has a database URL (psycopg, another process's server) and the
tests (Django's ``connection.cursor()``, on PostgreSQL or SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

TEXT_KINDS = ("initial_prompt", "prompter_reply", "assistant_reply")
LABEL_PREFIX = "label_"
RANK_PREFIX = "rank_"
LIVE_ITEM_STATES = ("open", "paused")
TREE_STATES_NEEDING_WORK = ("prompt_review", "growing", "ranking")
# backend.assignments.growth.SCORING_STALE_AFTER, plus a sweep interval to notice it.
SCORING_STALE_SECONDS = 300
CHUNK = 500


@dataclass(frozen=True)
class Acknowledged:
    """One submit a client saw answered 2xx."""

    assignment_id: int
    kind: str
    idempotency_key: str = ""
    message_id: int | None = None


@dataclass
class CheckResult:
    name: str
    violations: int
    examples: list[str] = field(default_factory=list)  # the first few, to look into

    @property
    def ok(self) -> bool:
        return self.violations == 0


CHECK_NAMES = (
    "nothing lost",
    "nothing stored twice",
    "no work item over its need",
    "no tree stuck",
    "outbox drained",
)


def check_invariants(
    cursor: Any,
    acknowledged: Iterable[Acknowledged],
    *,
    grace_seconds: float = 0,
    sweep_interval_seconds: float = 60,
    now: datetime | None = None,
) -> list[CheckResult]:
    """Run every check; one result per name in ``CHECK_NAMES``, in that order."""
    return [
        check_nothing_lost(cursor, list(acknowledged)),
        check_nothing_twice(cursor),
        check_no_item_over_need(cursor),
        check_no_tree_stuck(
            cursor,
            grace_seconds=grace_seconds,
            scoring_stale_seconds=SCORING_STALE_SECONDS + sweep_interval_seconds,
            now=now,
        ),
        check_outbox_drained(cursor),
    ]


def _rows(cursor: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor.execute(sql, list(params))
    return [tuple(row) for row in cursor.fetchall()]


def _in_chunks(
    cursor: Any, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """``sql`` with ``{ids}`` replaced by a placeholder list, run for each chunk."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        placeholders = ", ".join(["%s"] * len(chunk))
        found += _rows(cursor, sql.format(ids=placeholders), [*params, *chunk])
    return found


def check_nothing_lost(cursor: Any, acknowledged: list[Acknowledged]) -> CheckResult:
    problems: list[str] = []
    ids = sorted({ack.assignment_id for ack in acknowledged})
    assignments = {
        row[0]: row[1:]
        for row in _in_chunks(
            cursor,
            "SELECT id, state, result_message_id FROM assignments_assignment WHERE id IN ({ids})",
            ids,
        )
    }
    records = set(
        _in_chunks(
            cursor,
            "SELECT assignment_id, key FROM assignments_idempotencyrecord "
            "WHERE assignment_id IN ({ids})",
            ids,
        )
    )
    label_votes = {
        row[0]
        for row in _in_chunks(
            cursor,
            "SELECT DISTINCT assignment_id FROM consensus_labelvote WHERE assignment_id IN ({ids})",
            ids,
        )
    }
    ranking_votes = {
        row[0]
        for row in _in_chunks(
            cursor,
            "SELECT DISTINCT assignment_id FROM consensus_rankingvote "
            "WHERE assignment_id IN ({ids})",
            ids,
        )
    }
    message_ids = sorted({ack.message_id for ack in acknowledged if ack.message_id is not None})
    messages = {
        row[0]
        for row in _in_chunks(
            cursor, "SELECT id FROM trees_message WHERE id IN ({ids})", message_ids
        )
    }
    for ack in acknowledged:
        what = f"assignment {ack.assignment_id} ({ack.kind})"
        stored = assignments.get(ack.assignment_id)
        if stored is None:
            problems.append(f"{what}: no such assignment")
            continue
        state, result_message_id = stored
        if state != "submitted":
            problems.append(f"{what}: {state}, not submitted")
        if ack.idempotency_key and (ack.assignment_id, ack.idempotency_key) not in records:
            problems.append(f"{what}: no idempotency record for key {ack.idempotency_key!r}")
        if ack.kind in TEXT_KINDS:
            if ack.message_id is None or ack.message_id not in messages:
                problems.append(f"{what}: message {ack.message_id} missing")
            elif result_message_id != ack.message_id:
                problems.append(
                    f"{what}: answered with message {ack.message_id}, stored {result_message_id}"
                )
        elif ack.kind.startswith(LABEL_PREFIX) and ack.assignment_id not in label_votes:
            problems.append(f"{what}: no label votes")
        elif ack.kind.startswith(RANK_PREFIX) and ack.assignment_id not in ranking_votes:
            problems.append(f"{what}: no ranking vote")
    return CheckResult("nothing lost", len(problems), problems[:10])


# Each query lists duplicated keys; every row is one violation.
DUPLICATE_QUERIES = {
    "message written twice (parent, author, text)": """
        SELECT parent_id, author_id, text_digest, count(*) FROM trees_message
        WHERE author_id IS NOT NULL
        GROUP BY parent_id, author_id, text_digest HAVING count(*) > 1""",
    "message claimed by two assignments": """
        SELECT result_message_id, count(*) FROM assignments_assignment
        WHERE result_message_id IS NOT NULL
        GROUP BY result_message_id HAVING count(*) > 1""",
    "two idempotency records for one assignment": """
        SELECT assignment_id, count(*) FROM assignments_idempotencyrecord
        GROUP BY assignment_id HAVING count(*) > 1""",
    "one idempotency key stored twice": """
        SELECT user_id, key, count(*) FROM assignments_idempotencyrecord
        GROUP BY user_id, key HAVING count(*) > 1""",
    "one person submitting one item twice": """
        SELECT work_item_id, user_id, count(*) FROM assignments_assignment
        WHERE work_item_id IS NOT NULL AND state = 'submitted'
        GROUP BY work_item_id, user_id HAVING count(*) > 1""",
    "label vote twice for one assignment": """
        SELECT assignment_id, label, count(*) FROM consensus_labelvote
        WHERE assignment_id IS NOT NULL
        GROUP BY assignment_id, label HAVING count(*) > 1""",
    "label vote twice by one person": """
        SELECT message_id, user_id, label, count(*) FROM consensus_labelvote
        GROUP BY message_id, user_id, label HAVING count(*) > 1""",
    "ranking vote twice for one assignment": """
        SELECT assignment_id, count(*) FROM consensus_rankingvote
        WHERE assignment_id IS NOT NULL
        GROUP BY assignment_id HAVING count(*) > 1""",
    "ranking vote twice for one item and person": """
        SELECT work_item_id, user_id, count(*) FROM consensus_rankingvote
        WHERE work_item_id IS NOT NULL
        GROUP BY work_item_id, user_id HAVING count(*) > 1""",
}


def _listing(cursor: Any, queries: dict[str, str], params: Sequence[Any] = ()) -> CheckResult:
    problems: list[str] = []
    total = 0
    for what, sql in queries.items():
        rows = _rows(cursor, sql, params if "%s" in sql else ())
        total += len(rows)
        problems += [f"{what}: {row}" for row in rows[:5]]
    return CheckResult("", total, problems[:10])


def check_nothing_twice(cursor: Any) -> CheckResult:
    result = _listing(cursor, DUPLICATE_QUERIES)
    result.name = "nothing stored twice"
    return result


OVER_NEED_QUERIES = {
    "more completions than required": """
        SELECT id, completed_count, required FROM assignments_workitem
        WHERE completed_count > required OR open_slots < 0""",
    "more submitted, or submitted and active, assignments than required": """
        SELECT w.id, w.required, count(a.id) FROM assignments_workitem w
        JOIN assignments_assignment a ON a.work_item_id = w.id
        WHERE a.state IN ('active', 'submitted')
        GROUP BY w.id, w.required HAVING count(a.id) > w.required""",
    "completed_count is not the number of submissions": """
        SELECT w.id, w.completed_count,
               (SELECT count(*) FROM assignments_assignment a
                WHERE a.work_item_id = w.id AND a.state = 'submitted') AS submitted
        FROM assignments_workitem w
        WHERE w.completed_count <> (SELECT count(*) FROM assignments_assignment a
                                    WHERE a.work_item_id = w.id AND a.state = 'submitted')""",
    "a live item's free slots are not required - completed - active": """
        SELECT w.id, w.open_slots, w.required, w.completed_count FROM assignments_workitem w
        WHERE w.state IN ('open', 'paused')
          AND w.open_slots <> w.required - w.completed_count
              - (SELECT count(*) FROM assignments_assignment a
                 WHERE a.work_item_id = w.id AND a.state = 'active')""",
}


def check_no_item_over_need(cursor: Any) -> CheckResult:
    result = _listing(cursor, OVER_NEED_QUERIES)
    result.name = "no work item over its need"
    return result


def _utc(value: Any) -> datetime:
    """A timestamp as the driver returns it (aware from psycopg, naive UTC or text from
    SQLite), as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_no_tree_stuck(
    cursor: Any,
    *,
    grace_seconds: float = 0,
    scoring_stale_seconds: float = SCORING_STALE_SECONDS + 60,
    now: datetime | None = None,
) -> CheckResult:
    now = now or datetime.now(UTC)
    settled = now - timedelta(seconds=grace_seconds)
    stale = min(settled, now - timedelta(seconds=scoring_stale_seconds))
    states = ", ".join(["%s"] * len(TREE_STATES_NEEDING_WORK))
    live = ", ".join(["%s"] * len(LIVE_ITEM_STATES))
    waiting = _rows(
        cursor,
        f"""SELECT t.id, t.state, t.state_changed_at FROM trees_tree t
            WHERE t.state IN ({states})
              AND NOT EXISTS (SELECT 1 FROM assignments_workitem w
                              WHERE w.tree_id = t.id AND w.state IN ({live}))""",
        [*TREE_STATES_NEEDING_WORK, *LIVE_ITEM_STATES],
    )
    scoring = _rows(
        cursor, "SELECT id, state, state_changed_at FROM trees_tree WHERE state = 'scoring'"
    )
    problems = [
        f"tree {tree_id} in {state} with no live work item"
        for tree_id, state, changed in waiting
        if _utc(changed) <= settled
    ]
    problems += [
        f"tree {tree_id} in scoring past the sweep's retry"
        for tree_id, _, changed in scoring
        if _utc(changed) <= stale
    ]
    return CheckResult("no tree stuck", len(problems), problems[:10])


def check_outbox_drained(cursor: Any) -> CheckResult:
    rows = _rows(
        cursor, "SELECT id, task_name, attempts FROM common_outboxmessage ORDER BY id LIMIT 10"
    )
    (count,) = _rows(cursor, "SELECT count(*) FROM common_outboxmessage")[0]
    return CheckResult("outbox drained", int(count), [f"outbox row {row}" for row in rows])


def summary(results: list[CheckResult]) -> str:
    """One line per check: ok, or the violations and the first examples."""
    lines = []
    for result in results:
        verdict = "ok" if result.ok else f"FAILED: {result.violations} violation(s)"
        lines.append(f"{result.name:<28} {verdict}")
        lines += [f"    {example}" for example in result.examples[:5]]
    return "\n".join(lines)
