"""Thirty-two copies of one submission arrive at once (a client retrying hard).

With one ``Idempotency-Key`` every copy gets the first answer and only one is stored;
without a key exactly one is stored and every other copy is refused with 409.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from backend.assignments.models import (
    Assignment,
    AssignmentState,
    IdempotencyRecord,
    Kind,
    LabelVote,
    WorkItemState,
)
from backend.assignments.services import assignment_claim_next
from backend.audit.models import AuditEvent
from backend.trees.models import Message
from tests.concurrency.conftest import UNLIMITED, prompt_waiting_for_review
from tests.concurrency.threads import (
    api_client,
    assert_counters_consistent,
    describe,
    run_together,
)
from tests.helpers import submit

COPIES = 32
LABELS = {"spam": 0, "lang_mismatch": 0, "quality": 0.5}


def _claimed_review(make_project: Any, volunteers: Any) -> tuple[Any, Any, Any, Any]:
    project = make_project(num_reviews_initial_prompt=3, **UNLIMITED)
    author, reviewer = volunteers(2)
    item = prompt_waiting_for_review(project, author, "How do tides work?")
    assignment = assignment_claim_next(
        user=reviewer, project=project, lang="en", kind=Kind.LABEL_INITIAL_PROMPT
    )
    assert assignment is not None
    return project, item, reviewer, assignment


def _send_copies(reviewer: Any, assignment: Any, **headers: str) -> list[tuple[int, Any, bool]]:
    def send(index: int) -> tuple[int, Any, bool]:
        client = api_client(reviewer)
        response = submit(client, assignment.pk, {"labels": LABELS}, **headers)
        return response.status_code, response.json(), response.has_header("Idempotent-Replayed")

    outcome = run_together(COPIES, send)
    assert not outcome.raised, describe(outcome.raised)
    return outcome.results


def _assert_stored_once(project: Any, item: Any, reviewer: Any, assignment: Any) -> None:
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.SUBMITTED
    votes = LabelVote.objects.filter(message_id=item.target_id)
    assert votes.count() == len(LABELS)
    assert set(votes.values_list("assignment_id", "user_id")) == {(assignment.pk, reviewer.pk)}
    item.refresh_from_db()
    assert (item.completed_count, item.open_slots, item.state) == (1, 2, WorkItemState.OPEN)
    assert Message.objects.get(pk=item.target_id).review_count == 1
    submitted_events = AuditEvent.objects.filter(
        action="assignment.submitted", target_id=str(assignment.pk)
    )
    assert submitted_events.count() == 1
    assert_counters_consistent(project)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_copies_with_one_idempotency_key_store_once_and_answer_alike(make_project, volunteers):
    project, item, reviewer, assignment = _claimed_review(make_project, volunteers)

    answers = _send_copies(reviewer, assignment, HTTP_IDEMPOTENCY_KEY="retry-me-7")

    assert Counter(status for status, _, _ in answers) == {200: COPIES}
    # One copy did the work; every other copy is the stored first answer, replayed.
    firsts = [body for _, body, replayed in answers if not replayed]
    assert len(firsts) == 1
    first = firsts[0]
    assert first["assignment"]["id"] == assignment.pk
    assert first["assignment"]["state"] == "submitted"
    assert all(body == first for _, body, _ in answers)
    record = IdempotencyRecord.objects.get(user=reviewer, key="retry-me-7")
    assert record.assignment_id == assignment.pk
    assert json.loads(record.body) == first  # the bytes the first copy was answered with
    assert IdempotencyRecord.objects.count() == 1
    _assert_stored_once(project, item, reviewer, assignment)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_copies_without_a_key_store_once_and_refuse_the_rest(make_project, volunteers):
    project, item, reviewer, assignment = _claimed_review(make_project, volunteers)

    answers = _send_copies(reviewer, assignment)

    assert Counter(status for status, _, _ in answers) == {200: 1, 409: COPIES - 1}
    refusals = [body for status, body, _ in answers if status == 409]
    assert all(body["code"] == "assignment_not_active" for body in refusals)
    assert all(body["assignment_state"] == "submitted" for body in refusals)
    assert not any(replayed for _, _, replayed in answers)
    assert not IdempotencyRecord.objects.exists()
    assert Assignment.objects.filter(work_item=item).count() == 1
    _assert_stored_once(project, item, reviewer, assignment)
