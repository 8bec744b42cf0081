"""Run work in real threads that start together, and check the counters afterwards.

Each thread gets its own database connection (Django's connections are per thread),
opens it *before* the barrier so that connecting does not spread the start, and
closes it at its end. A thread's exception is kept and returned, never swallowed:
the tests assert that none happened.

Requests go through ``api_client``: Django's test client re-raises a server error by
listening on the global ``got_request_exception`` signal, so with clients in several
threads one crash would be re-raised by every client that is mid-request. Ours answer
500 instead, and ``run_together`` records each server exception once, in the thread
that raised it.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.signals import got_request_exception
from django.db import connection, connections
from django.db.models import Count
from rest_framework.test import APIClient

from backend.assignments.models import (
    LABEL_KINDS,
    Assignment,
    AssignmentState,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemState,
)
from backend.projects.models import Project
from backend.trees.models import Message, Tree, TreeState

JOIN_TIMEOUT_SECONDS = 120


@dataclass
class Outcome:
    results: list[Any]
    errors: list[BaseException | None]
    server_errors: list[BaseException]

    @property
    def raised(self) -> list[BaseException]:
        """Exceptions raised in the threads and behind any 500 answer."""
        return [error for error in self.errors if error is not None] + self.server_errors


def api_client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.raise_request_exception = False
    return client


def run_together(count: int, work: Callable[[int], Any]) -> Outcome:
    """Call ``work(index)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException | None] = [None] * count
    server_errors: list[BaseException] = []

    def record_server_error(**kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            server_errors.append(error)

    got_request_exception.connect(record_server_error, dispatch_uid="concurrency-run-together")

    def body(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=body, args=(index,), name=f"concurrency-{index}")
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(JOIN_TIMEOUT_SECONDS)
    finally:
        got_request_exception.disconnect(dispatch_uid="concurrency-run-together")
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT_SECONDS}s: {stuck}"
    return Outcome(results, errors, server_errors)


class Worker(threading.Thread):
    """One thread with its own connection, for tests that order steps with events."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            self.error = error
        finally:
            connections.close_all()

    def finish(self) -> Any:
        self.join(JOIN_TIMEOUT_SECONDS)
        assert not self.is_alive(), f"{self.name} still running after {JOIN_TIMEOUT_SECONDS}s"
        if self.error is not None:
            raise self.error
        return self.result


def describe(errors: list[BaseException]) -> str:
    """One line per distinct error and where it was raised, for assertion messages."""
    kinds = Counter(
        f"{type(error).__module__}.{type(error).__name__}: {error}\n    raised at: "
        + " ← ".join(
            f"{frame.name} ({Path(frame.filename).name}:{frame.lineno})"
            for frame in list(reversed(traceback.extract_tb(error.__traceback__)))[:40]
            if "site-packages" not in frame.filename
        )
        for error in errors
    )
    return "\n".join(f"{count} × {text}" for text, count in kinds.most_common())


def assert_counters_consistent(project: Project) -> dict[str, int]:
    """The invariants every work item of ``project`` must keep, whatever happened.

    - completions equal submitted assignments and never exceed what is required;
    - a live item's free slots are exactly required − completed − active reservations;
    - a closed item holds no reservation, a paused one belongs to a halted tree;
    - a label item has one vote set per submission and the message counts them.
    Returns totals for the caller's own exact assertions.
    """
    totals = Counter[str]()
    by_item_and_state = Counter[tuple[int, str]](
        {
            (row["work_item_id"], row["state"]): row["n"]
            for row in Assignment.objects.filter(project=project, work_item__isnull=False)
            .values("work_item_id", "state")
            .annotate(n=Count("pk"))
        }
    )
    vote_sets = dict(
        LabelVote.objects.filter(assignment__project=project)
        .values("assignment__work_item_id")
        .annotate(n=Count("assignment_id", distinct=True))
        .values_list("assignment__work_item_id", "n")
    )
    halted = set(
        Tree.objects.filter(project=project, state=TreeState.HALTED).values_list("pk", flat=True)
    )
    for item in WorkItem.objects.filter(project=project).order_by("pk"):
        submitted = by_item_and_state[(item.pk, AssignmentState.SUBMITTED)]
        active = by_item_and_state[(item.pk, AssignmentState.ACTIVE)]
        label = f"item {item.pk} {item.kind} {item.state}"
        assert item.completed_count == submitted, f"{label}: completed ≠ submitted ({submitted})"
        assert item.completed_count <= item.required, f"{label}: over-completed"
        assert item.open_slots >= 0, f"{label}: negative slots"
        if item.state == WorkItemState.CLOSED:
            assert active == 0, f"{label}: closed but {active} active reservations"
        else:
            assert item.open_slots == item.required - item.completed_count - active, (
                f"{label}: open_slots {item.open_slots} ≠ required {item.required} − completed "
                f"{item.completed_count} − active {active}"
            )
        if item.state == WorkItemState.PAUSED:
            assert item.tree_id in halted, f"{label}: paused but its tree is not halted"
        if item.state == WorkItemState.OPEN:
            assert item.tree_id not in halted, f"{label}: open on a halted tree"
        if item.kind in LABEL_KINDS:
            assert vote_sets.get(item.pk, 0) == submitted, f"{label}: vote sets ≠ submissions"
            target = Message.objects.get(pk=item.target_id)
            assert target.review_count == submitted, f"{label}: review_count ≠ submissions"
        totals["items"] += 1
        totals["completed"] += item.completed_count
        totals["active"] += active
        totals["submitted"] += submitted
    # A cancelled, expired or skipped reservation leaves no vote behind.
    assert (
        not LabelVote.objects.filter(assignment__project=project)
        .exclude(assignment__state=AssignmentState.SUBMITTED)
        .exists()
    )
    assert (
        not RankingVote.objects.filter(assignment__project=project)
        .exclude(assignment__state=AssignmentState.SUBMITTED)
        .exists()
    )
    return dict(totals)
