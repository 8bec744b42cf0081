"""Thirty-two people reach for the one prompt review that needs three, at the same moment.

Exactly three may get it, whatever the interleaving: the slot counter is taken with a
conditional UPDATE and the check constraints forbid a fourth. On PostgreSQL the
candidate row is picked with SKIP LOCKED; a held row with free slots must still be
handed out (a claimer waits for it rather than hearing "no work").
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError

from backend.assignments.models import Assignment, AssignmentState, Kind, LabelVote, WorkItemState
from backend.assignments.services import assignment_claim_next, assignment_submit
from backend.trees.models import Message, Tree, TreeState
from tests.concurrency.conftest import UNLIMITED, prompt_waiting_for_review
from tests.concurrency.threads import (
    api_client,
    assert_counters_consistent,
    describe,
    run_together,
)
from tests.helpers import claim, submit

CLAIMERS = 32
REQUIRED = 3
LABELS = {"spam": 0, "lang_mismatch": 0, "quality": 0.75}


def _prompt_needing_three(make_project: Any, volunteers: Any) -> tuple[Any, Any, list[Any]]:
    project = make_project(num_reviews_initial_prompt=REQUIRED, **UNLIMITED)
    author, *claimers = volunteers(CLAIMERS + 1)
    item = prompt_waiting_for_review(project, author, "What makes a good night's sleep?")
    return project, item, claimers


def _assert_three_reviews_stored(project: Any, item: Any, reviewers: set[int]) -> None:
    item.refresh_from_db()
    assert (item.completed_count, item.open_slots, item.state) == (3, 0, WorkItemState.CLOSED)
    root = Message.objects.get(pk=item.target_id)
    assert root.review_count == 3
    assert root.review_result is True
    votes = LabelVote.objects.filter(message=root)
    assert votes.count() == 3 * len(LABELS)
    assert set(votes.values_list("user_id", flat=True)) == reviewers
    assert votes.values("assignment_id").distinct().count() == 3
    assert Assignment.objects.filter(work_item=item, state=AssignmentState.SUBMITTED).count() == 3
    assert not Assignment.objects.filter(work_item=item, state=AssignmentState.ACTIVE).exists()
    # The accepted prompt left review (the eager lottery may already have drawn it).
    assert Tree.objects.get(pk=item.tree_id).state in (TreeState.BACKLOG, TreeState.GROWING)
    assert_counters_consistent(project)


def _claim_race(project: Any, item: Any, claimers: list[Any], retries: Counter[str]) -> None:
    def claim_one(index: int) -> Assignment | None:
        for _ in range(50):
            try:
                return assignment_claim_next(
                    user=claimers[index], project=project, lang="en", kind=Kind.LABEL_INITIAL_PROMPT
                )
            except OperationalError as error:
                # Only SQLite may say this (its busy timeout ran out); counted and reported.
                if settings.IS_POSTGRESQL or "database is locked" not in str(error):
                    raise
                retries["database is locked"] += 1
                time.sleep(0.05)
        raise AssertionError("claim kept failing with 'database is locked'")

    outcome = run_together(CLAIMERS, claim_one)
    assert not outcome.raised, describe(outcome.raised)
    granted = [assignment for assignment in outcome.results if assignment is not None]
    assert len(granted) == REQUIRED
    assert outcome.results.count(None) == CLAIMERS - REQUIRED
    assert len({assignment.user_id for assignment in granted}) == REQUIRED
    item.refresh_from_db()
    assert (item.open_slots, item.completed_count, item.state) == (0, 0, WorkItemState.OPEN)
    assert Assignment.objects.filter(work_item=item, state=AssignmentState.ACTIVE).count() == 3
    assert_counters_consistent(project)

    # The three submit at the same moment: three vote sets, the item closes at three.
    by_user = {user.pk: user for user in claimers}

    def submit_one(index: int) -> int:
        assignment = granted[index]
        result = assignment_submit(
            user=by_user[assignment.user_id],
            assignment_id=assignment.pk,
            payload={"labels": LABELS},
        )
        return result.assignment.pk

    outcome = run_together(REQUIRED, submit_one)
    assert not outcome.raised, describe(outcome.raised)
    assert sorted(outcome.results) == sorted(assignment.pk for assignment in granted)
    _assert_three_reviews_stored(project, item, {assignment.user_id for assignment in granted})

    # Nobody else gets it now.
    late = run_together(8, lambda index: claim_one(REQUIRED + index))
    assert not late.raised, describe(late.raised)
    assert late.results == [None] * 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_claimers_on_one_item_needing_3_get_exactly_3(make_project, volunteers):
    retries: Counter[str] = Counter()
    project, item, claimers = _prompt_needing_three(make_project, volunteers)
    _claim_race(project, item, claimers, retries)
    assert not retries


@pytest.mark.skipif(
    settings.IS_POSTGRESQL, reason="the SQLite variant; the PostgreSQL one is the test above"
)
@pytest.mark.django_db(transaction=True)
def test_32_claimers_on_one_item_needing_3_get_exactly_3_on_sqlite(make_project, volunteers):
    retries: Counter[str] = Counter()
    project, item, claimers = _prompt_needing_three(make_project, volunteers)
    _claim_race(project, item, claimers, retries)
    if retries:
        warnings.warn(
            f"SQLite claim race needed retries: {dict(retries)}", RuntimeWarning, stacklevel=1
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_volunteers_claim_and_submit_over_http_racing(make_project, volunteers):
    """The same race through the real API: claims and submissions interleave freely."""
    project, item, claimers = _prompt_needing_three(make_project, volunteers)

    def volunteer(index: int) -> tuple[int, int | None]:
        client = api_client(claimers[index])
        claimed = claim(client, project.slug, kind=Kind.LABEL_INITIAL_PROMPT)
        if claimed.status_code != 201:
            return claimed.status_code, None
        assert claimed.json()["conversation"][0]["id"] == item.target_id
        done = submit(client, claimed.json()["id"], {"labels": LABELS})
        assert done.status_code == 200, done.content
        assert done.json()["assignment"]["state"] == "submitted"
        return claimed.status_code, done.status_code

    outcome = run_together(CLAIMERS, volunteer)
    assert not outcome.raised, describe(outcome.raised)
    claims = Counter(status for status, _ in outcome.results)
    submits = Counter(status for _, status in outcome.results if status is not None)
    assert claims == {201: REQUIRED, 204: CLAIMERS - REQUIRED}
    assert submits == {200: REQUIRED}
    reviewers = {
        claimers[index].pk for index, (status, _) in enumerate(outcome.results) if status == 201
    }
    _assert_three_reviews_stored(project, item, reviewers)
