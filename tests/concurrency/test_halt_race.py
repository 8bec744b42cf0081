"""Moderators halt and resume trees while volunteers claim, submit and skip on them.

Twenty-four volunteers work through four trees over the API (reviews, replies,
rankings: whatever the engine offers), skipping now and then; two moderators keep
halting and resuming those trees and a sweeper keeps expiring reservations. No
request may deadlock (psycopg ``DeadlockDetected``), hit a constraint or answer 500,
and afterwards every counter must agree with the rows it counts.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.assignments.halting import tree_halt, tree_resume
from backend.assignments.models import Assignment, AssignmentState
from backend.assignments.services import assignments_expire_overdue
from backend.common.errors import Conflict
from backend.trees.models import ACTIVE_TREE_STATES, Tree, TreeState
from tests.concurrency.conftest import UNLIMITED, prompt_waiting_for_review
from tests.concurrency.threads import (
    api_client,
    assert_counters_consistent,
    describe,
    run_together,
)
from tests.helpers import answer_for, claim, submit

TREES = 4
VOLUNTEERS = 24
CYCLES_PER_VOLUNTEER = 10
MODERATORS = 2
SETTINGS = {
    "goal_tree_size": 5,
    "max_depth": 2,
    "max_children": 2,
    "num_reviews_initial_prompt": 2,
    "num_reviews_reply": 2,
    "num_required_rankings": 2,
    "max_active_trees": TREES,
    # Only the work these trees need: no new prompts.
    "assignment_weights": {
        "initial_prompt": 0,
        "prompter_reply": 1,
        "assistant_reply": 1,
        "label_initial_prompt": 1,
        "label_prompter_reply": 1,
        "label_assistant_reply": 1,
        "rank_prompter_replies": 1,
        "rank_assistant_replies": 1,
    },
    **UNLIMITED,
}
# Refusals a volunteer may meet when a moderator or the sweeper got there first.
EXPECTED_REFUSALS = {
    "work_item_closed",
    "assignment_not_active",
    "assignment_expired",
    "candidates_changed",
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_halting_trees_under_claims_submits_skips_and_expiry(make_project, volunteers, make_user):
    project = make_project(**SETTINGS)
    authors = volunteers(TREES)
    people = volunteers(VOLUNTEERS)
    moderator = make_user(role="moderator")
    tree_ids = [
        prompt_waiting_for_review(project, author, f"Prompt {n}: explain rainbows.").tree_id
        for n, author in enumerate(authors)
    ]
    volunteers_left = [VOLUNTEERS]
    counting = threading.Lock()
    all_done = threading.Event()
    seen: Counter[str] = Counter()

    def note(what: str) -> None:
        with counting:
            seen[what] += 1

    def volunteer(person: Any, rng: random.Random) -> None:
        client = api_client(person)
        try:
            for _ in range(CYCLES_PER_VOLUNTEER):
                claimed = claim(client, project.slug, "any")
                note(f"claim {claimed.status_code}")
                if claimed.status_code == 204:
                    time.sleep(0.01)
                    continue
                assert claimed.status_code == 201, claimed.content
                assignment = claimed.json()
                if rng.random() < 0.2:
                    response = client.post(
                        f"/api/v1/assignments/{assignment['id']}/skip", {}, format="json"
                    )
                    action = "skip"
                else:
                    response = submit(client, assignment["id"], answer_for(assignment))
                    action = "submit"
                note(f"{action} {response.status_code}")
                if response.status_code != 200:
                    assert response.status_code == 409, response.content
                    assert response.json()["code"] in EXPECTED_REFUSALS, response.content
        finally:
            with counting:
                volunteers_left[0] -= 1
                if volunteers_left[0] == 0:
                    all_done.set()

    def moderate(rng: random.Random) -> None:
        while not all_done.is_set():
            tree_id = rng.choice(tree_ids)
            state = Tree.objects.values_list("state", flat=True).get(pk=tree_id)
            try:
                if state == TreeState.HALTED:
                    tree_resume(tree_id=tree_id, actor_id=moderator.pk, reason="back on")
                    note("resume")
                elif state in ACTIVE_TREE_STATES:
                    tree_halt(tree_id=tree_id, actor_id=moderator.pk, reason="checking")
                    note("halt")
            except Conflict as error:  # the other moderator changed it first
                assert error.code == "invalid_tree_state", error
                note("moderation refused")
            time.sleep(rng.uniform(0, 0.02))

    def sweep(rng: random.Random) -> None:
        while not all_done.is_set():
            active = list(
                Assignment.objects.filter(
                    project=project, state=AssignmentState.ACTIVE
                ).values_list("pk", flat=True)[:20]
            )
            if active:
                Assignment.objects.filter(pk=rng.choice(active)).update(
                    expires_at=timezone.now() - timedelta(seconds=1)
                )
            note(f"swept {assignments_expire_overdue()}")
            time.sleep(rng.uniform(0, 0.02))

    def act(index: int) -> None:
        rng = random.Random(index)
        if index < VOLUNTEERS:
            volunteer(people[index], rng)
        elif index < VOLUNTEERS + MODERATORS:
            moderate(rng)
        else:
            sweep(rng)

    outcome = run_together(VOLUNTEERS + MODERATORS + 1, act)
    assert not outcome.raised, describe(outcome.raised)
    print(f"what happened: {dict(sorted(seen.items()))}")  # shown with -s
    assert seen["halt"] > 0 and seen["resume"] > 0
    assert seen["submit 200"] > 0
    assert not any(what.endswith(" 500") for what in seen)
    totals = assert_counters_consistent(project)
    assert totals["submitted"] == seen["submit 200"]

    # Resumed, everything is offered again and the counters still agree.
    for tree in Tree.objects.filter(pk__in=tree_ids, state=TreeState.HALTED):
        tree_resume(tree_id=tree.pk, actor_id=moderator.pk, reason="done")
    assert not Tree.objects.filter(pk__in=tree_ids, state=TreeState.HALTED).exists()
    assert_counters_consistent(project)
