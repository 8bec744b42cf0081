"""The allowed-transition table: every listed move goes through with its audit event
and ``TreeStateChanged``; every other move is refused with nothing changed."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from backend.audit.models import AuditEvent
from backend.common.errors import Conflict
from backend.common.events import TreeStateChanged, subscribe, unsubscribe
from backend.trees.lifecycle import (
    ALLOWED_TRANSITIONS,
    is_transition_allowed,
    tree_lock,
    tree_transition,
)
from backend.trees.models import Tree, TreeState
from tests.factories import small_project

pytestmark = pytest.mark.django_db

ALLOWED = sorted(
    (str(before), str(after))
    for before, targets in ALLOWED_TRANSITIONS.items()
    for after in targets
)
REFUSED = sorted(
    (str(before), str(after))
    for before, after in itertools.product(TreeState, TreeState)
    if after not in ALLOWED_TRANSITIONS.get(before, frozenset())
)


def test_the_table_is_the_drawn_lifecycle():
    assert {str(state) for state in ALLOWED_TRANSITIONS} == set(TreeState.values)
    assert (
        sorted(
            [
                ("aborted_low_grade", "backlog"),
                ("aborted_low_grade", "growing"),
                ("aborted_low_grade", "prompt_review"),
                ("backlog", "aborted_low_grade"),
                ("backlog", "growing"),
                ("backlog", "halted"),
                ("growing", "aborted_low_grade"),
                ("growing", "halted"),
                ("growing", "ranking"),
                ("halted", "aborted_low_grade"),
                ("halted", "backlog"),
                ("halted", "growing"),
                ("halted", "prompt_review"),
                ("halted", "ranking"),
                ("halted", "scoring"),
                ("prompt_review", "aborted_low_grade"),
                ("prompt_review", "backlog"),
                ("prompt_review", "halted"),
                ("ranking", "aborted_low_grade"),
                ("ranking", "growing"),
                ("ranking", "halted"),
                ("ranking", "scoring"),
                ("ready_for_export", "aborted_low_grade"),
                ("ready_for_export", "growing"),
                ("scoring", "aborted_low_grade"),
                ("scoring", "growing"),
                ("scoring", "halted"),
                ("scoring", "ready_for_export"),
                ("scoring", "scoring_failed"),
                ("scoring_failed", "aborted_low_grade"),
                ("scoring_failed", "growing"),
                ("scoring_failed", "scoring"),
            ]
        )
        == ALLOWED
    )
    # Nothing moves to a state it is already in, and nothing returns to review from a
    # finished or growing tree except by resume/reopen.
    assert not any(before == after for before, after in ALLOWED)
    assert len(ALLOWED) + len(REFUSED) == len(TreeState) ** 2


def _tree_in(state: str) -> Tree:
    return Tree.objects.create(project=small_project(), lang="en", state=state)


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_an_allowed_transition_changes_the_state_with_its_audit_event_and_event(before, after):
    tree = _tree_in(before)
    seen: list[TreeStateChanged] = []
    subscribe(TreeStateChanged, seen.append)
    try:
        with transaction.atomic():
            locked = tree_lock(tree.pk)
            tree_transition(locked, TreeState(after), reason="table test")
    finally:
        unsubscribe(TreeStateChanged, seen.append)

    tree.refresh_from_db()
    assert tree.state == after
    event = AuditEvent.objects.get(target_type="tree", target_id=str(tree.pk))
    assert (event.before, event.after, event.reason) == (
        {"state": before},
        {"state": after},
        "table test",
    )
    assert event.action == f"tree.{after}"
    assert seen == [
        TreeStateChanged(
            tree_id=tree.pk,
            project_id=tree.project_id,
            before=before,
            after=after,
            actor_id=None,
            reason="table test",
        )
    ]


@pytest.mark.parametrize(("before", "after"), REFUSED)
def test_a_transition_not_in_the_table_is_refused_and_changes_nothing(before, after):
    tree = _tree_in(before)
    seen: list[TreeStateChanged] = []
    subscribe(TreeStateChanged, seen.append)
    try:
        with pytest.raises(Conflict) as refused, transaction.atomic():
            tree_transition(tree_lock(tree.pk), TreeState(after))
    finally:
        unsubscribe(TreeStateChanged, seen.append)

    assert refused.value.code == "invalid_tree_transition"
    assert refused.value.status_code == 409
    assert Tree.objects.values_list("state", flat=True).get(pk=tree.pk) == before
    assert not AuditEvent.objects.filter(target_type="tree").exists()
    assert seen == []
    assert not is_transition_allowed(before, after)
