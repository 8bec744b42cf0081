"""How a claim treats items other transactions hold, step by step (PostgreSQL row locks).

- It takes free work elsewhere rather than queue (SKIP LOCKED).
- A held item that still has free slots is waited for, not reported as "no work".
- It never holds one item while waiting for another: that deadlocked with
  ``tree_halt``, which updates all items of a tree in one statement.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.assignments.models import Assignment, Kind, WorkItem
from backend.assignments.services import assignment_claim_next
from tests.concurrency.conftest import UNLIMITED, prompt_waiting_for_review
from tests.concurrency.threads import Worker

STEP = 0.3  # seconds to let a blocked statement really block


def _claim(user, project):  # type: ignore[no-untyped-def]
    def work():  # type: ignore[no-untyped-def]
        started = time.monotonic()
        assignment = assignment_claim_next(
            user=user, project=project, lang="en", kind=Kind.LABEL_INITIAL_PROMPT
        )
        return assignment, time.monotonic() - started

    return Worker(work)


def _hold(item_id: int, locked: threading.Event, release: threading.Event) -> Worker:
    def work() -> None:
        with transaction.atomic():
            WorkItem.objects.select_for_update().get(pk=item_id)
            locked.set()
            assert release.wait(30)

    return Worker(work)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_a_held_item_for_a_free_one(make_project, volunteers):
    project = make_project(num_reviews_initial_prompt=3, **UNLIMITED)
    author, reviewer = volunteers(2)
    first = prompt_waiting_for_review(project, author, "First: why do cats purr?")
    second = prompt_waiting_for_review(project, author, "Second: why do dogs bark?")
    locked, release = threading.Event(), threading.Event()
    holder = _hold(first.pk, locked, release)
    holder.start()
    assert locked.wait(30)

    claimer = _claim(reviewer, project)
    claimer.start()
    assignment, seconds = claimer.finish()
    release.set()
    holder.finish()

    assert assignment is not None and assignment.work_item_id == second.pk
    assert seconds < STEP
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.open_slots, second.open_slots) == (3, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_held_item_with_free_slots_is_waited_for_not_reported_as_no_work(
    make_project, volunteers
):
    project = make_project(num_reviews_initial_prompt=3, **UNLIMITED)
    author, reviewer = volunteers(2)
    item = prompt_waiting_for_review(project, author, "Why is the sky blue?")
    locked, release = threading.Event(), threading.Event()
    holder = _hold(item.pk, locked, release)
    holder.start()
    assert locked.wait(30)

    claimer = _claim(reviewer, project)
    claimer.start()
    time.sleep(STEP)
    assert claimer.is_alive(), "the claim should wait for the held item"
    release.set()
    holder.finish()
    assignment, seconds = claimer.finish()

    assert assignment is not None and assignment.work_item_id == item.pk
    assert seconds >= STEP
    item.refresh_from_db()
    assert item.open_slots == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_never_holds_one_item_while_waiting_for_another(make_project, volunteers):
    """Old behaviour: a blocking ``SELECT … FOR UPDATE LIMIT 1`` waited for item 1,
    found it full once the holder committed, kept it locked and went on to wait for
    item 2 — whose holder then wanted item 1: deadlock. Now the claim lets go of item
    1 before it waits for item 2, and gets item 2's free slot instead of answering
    "no work" while an item still has room."""
    project = make_project(num_reviews_initial_prompt=1, **UNLIMITED)
    author, rival, reviewer = volunteers(3)
    first = prompt_waiting_for_review(project, author, "One: what is a prime number?")
    second = prompt_waiting_for_review(project, author, "Two: what is a perfect number?")
    first_taken, commit_first = threading.Event(), threading.Event()
    second_locked, touch_first = threading.Event(), threading.Event()

    def rival_takes_the_last_slot_of_first() -> None:
        # What a concurrent claim does, held open until told to commit.
        with transaction.atomic():
            WorkItem.objects.filter(pk=first.pk).update(open_slots=F("open_slots") - 1)
            Assignment.objects.create(
                project=project,
                user=rival,
                work_item=first,
                kind=Kind.LABEL_INITIAL_PROMPT,
                lang="en",
                expires_at=timezone.now() + timedelta(hours=1),
            )
            first_taken.set()
            assert commit_first.wait(30)

    def halt_like_holds_second_then_touches_first() -> None:
        with transaction.atomic():
            WorkItem.objects.select_for_update(no_key=True).get(pk=second.pk)
            second_locked.set()
            assert touch_first.wait(30)
            WorkItem.objects.filter(pk=first.pk).update(priority=F("priority"))

    rival_worker = Worker(rival_takes_the_last_slot_of_first)
    holder = Worker(halt_like_holds_second_then_touches_first)
    rival_worker.start()
    assert first_taken.wait(30)
    holder.start()
    assert second_locked.wait(30)

    claimer = _claim(reviewer, project)
    claimer.start()
    time.sleep(STEP)  # the claim waits for the first item (both are held)
    commit_first.set()
    rival_worker.finish()
    time.sleep(STEP)  # the first is full now; the claim waits for the second, holding nothing
    touch_first.set()
    holder.finish()  # a deadlock would raise here or in the claim
    assignment, _ = claimer.finish()

    # The best item was taken meanwhile; the claim got the next one with room.
    assert assignment is not None and assignment.work_item_id == second.pk
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.open_slots, second.open_slots) == (0, 0)
