"""A reservation runs out just as its holder submits, the sweep expires it and others claim.

Per round, three reviewers hold the three slots of a prompt review and the first one's
reservation is overdue. Then, at one moment: the late reviewer submits, two sweeps
run, eight others claim the same item and the two on-time reviewers submit. Either
the late submission wins (it came first, or took its freed slot back) and nobody new
gets the item, or the sweep freed the slot, one claimer took it and the late
submission is refused with 409 ``assignment_expired``. Nothing is counted twice, the
check constraints are never hit and nothing answers 500. Several rounds, so that the
different orders all happen.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.assignments.models import Assignment, Kind, LabelVote, WorkItemState
from backend.assignments.services import assignment_claim_next, assignments_expire_overdue
from tests.concurrency.conftest import UNLIMITED, prompt_waiting_for_review
from tests.concurrency.threads import (
    api_client,
    assert_counters_consistent,
    describe,
    run_together,
)
from tests.helpers import claim, submit

CLAIMERS = 8
# (sweep delay, claim delay) in seconds after the common start, per round: without
# delays the sweep nearly always beats the slower submission, so some rounds hold the
# sweep or the claimers back to make the other orders happen too.
DELAYS = [
    (0, 0),
    (0, 0),
    (0.05, 0),
    (0.05, 0.05),
    (0, 0.05),
    (0.01, 0.1),
    (0.005, 0.03),
    (0.1, 0.1),
]
ROUNDS = len(DELAYS)
SWEEPS = 2
LABELS = {"spam": 0, "lang_mismatch": 0, "quality": 1.0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_expiry_sweep_claims_and_submits_on_one_assignment_never_double_count(
    make_project, volunteers
):
    project = make_project(num_reviews_initial_prompt=3, **UNLIMITED)
    people = volunteers(1 + 3 + CLAIMERS)
    author, holders, claimers = people[0], people[1:4], people[4:]
    orders: Counter[str] = Counter()

    for round_number in range(ROUNDS):
        item = prompt_waiting_for_review(
            project, author, f"Round {round_number}: why is ice slippery?"
        )
        held = [
            assignment_claim_next(
                user=holder, project=project, lang="en", kind=Kind.LABEL_INITIAL_PROMPT
            )
            for holder in holders
        ]
        assert all(assignment is not None for assignment in held)
        late = held[0]
        Assignment.objects.filter(pk=late.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

        sweep_delay, claim_delay = DELAYS[round_number]

        def act(
            index: int,
            held: list[Any] = held,
            sweep_delay: float = sweep_delay,
            claim_delay: float = claim_delay,
        ) -> tuple[str, int, Any]:
            if index < 3:  # the holders submit; holder 0 is overdue
                response = submit(api_client(holders[index]), held[index].pk, {"labels": LABELS})
                return "submit", response.status_code, response.json()
            if index < 3 + SWEEPS:
                time.sleep(sweep_delay)
                return "sweep", 0, assignments_expire_overdue()
            time.sleep(claim_delay)
            response = claim(
                api_client(claimers[index - 3 - SWEEPS]), project.slug, Kind.LABEL_INITIAL_PROMPT
            )
            body = response.json() if response.status_code == 201 else None
            return "claim", response.status_code, body

        outcome = run_together(3 + SWEEPS + CLAIMERS, act)
        assert not outcome.raised, describe(outcome.raised)
        late_status, late_body = outcome.results[0][1], outcome.results[0][2]
        on_time = [status for _, status, _ in outcome.results[1:3]]
        expired_by_sweeps = sum(expired for _, _, expired in outcome.results[3 : 3 + SWEEPS])
        claims = Counter(status for _, status, _ in outcome.results[3 + SWEEPS :])
        assert on_time == [200, 200]
        assert expired_by_sweeps in (0, 1)
        if late_status == 200:
            # It came first, or took the slot the sweep freed back before anyone else.
            assert claims == {204: CLAIMERS}
            orders["late submission won" + (" after expiry" if expired_by_sweeps else "")] += 1
        else:
            assert (late_status, late_body["code"]) == (409, "assignment_expired")
            assert expired_by_sweeps == 1
            assert claims == {201: 1, 204: CLAIMERS - 1}
            orders["a claimer took the freed slot"] += 1
        item.refresh_from_db()
        assert item.open_slots == 0
        assert item.completed_count == (3 if late_status == 200 else 2)
        assert_counters_consistent(project)

        # Whoever holds the freed slot finishes; the item closes at exactly three.
        for _, status, body in outcome.results[3 + SWEEPS :]:
            if status == 201:
                holder = Assignment.objects.get(pk=body["id"]).user
                finished = submit(api_client(holder), body["id"], {"labels": LABELS})
                assert finished.status_code == 200, finished.content
        item.refresh_from_db()
        assert (item.completed_count, item.open_slots, item.state) == (3, 0, WorkItemState.CLOSED)
        assert LabelVote.objects.filter(message_id=item.target_id).count() == 3 * len(LABELS)
        assert_counters_consistent(project)

    assert sum(orders.values()) == ROUNDS
    print(f"orders seen over {ROUNDS} rounds: {dict(orders)}")  # shown with -s
