"""The periodic sweep: expiry, the lottery for waiting trees, stale scoring, idempotence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.assignments.growth import SCORING_STALE_AFTER
from backend.assignments.models import REPLY_KINDS, Assignment, WorkItem
from backend.assignments.sweep import sweep_run
from backend.audit.models import AuditEvent
from backend.trees.models import Tree
from tests.factories import (
    claim,
    committed,
    growing_tree,
    live_item,
    people,
    rank,
    review,
    small_project,
    snapshot,
    tree_state,
    write_prompt,
    write_reply,
)

pytestmark = pytest.mark.django_db


def overdue(assignment: Assignment, by: timedelta = timedelta(seconds=1)) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - by)


def scoring_tree(project=None) -> Tree:
    """A tree in ``scoring`` whose scoring task was never run (its commit never came)."""
    project = project or small_project()
    author, reviewer, writer_a, writer_b, voter = people(5)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    rank(root, voter, [b, a])
    assert tree_state(tree) == "scoring"
    return tree


def test_the_sweep_expires_overdue_reservations_and_returns_their_slots():
    project = small_project(goal_tree_size=4, max_children=3)
    author, reviewer, late, on_time, other = people(5)
    _tree, root = growing_tree(project, author, [reviewer])
    late_one = claim(late, project, "assistant_reply")
    on_time_one = claim(on_time, project, "assistant_reply")
    item = live_item(root, REPLY_KINDS)
    assert (late_one.work_item_id, on_time_one.work_item_id) == (item.pk, item.pk)
    item.refresh_from_db()
    assert item.open_slots == 1
    overdue(late_one)

    result = sweep_run()

    assert result == {"expired": 1, "activated": 0, "checked": 1}
    late_one.refresh_from_db()
    on_time_one.refresh_from_db()
    assert late_one.state == "expired" and late_one.finished_at is not None
    assert on_time_one.state == "active" and on_time_one.finished_at is None
    item.refresh_from_db()
    assert (item.open_slots, item.completed_count, item.state) == (2, 0, "open")
    event = AuditEvent.objects.get(action="assignment.expired")
    assert (event.target_id, event.project_id) == (str(late_one.pk), project.pk)
    # The slot is back in the pool: someone else can take it now.
    assert claim(other, project, "assistant_reply").work_item_id == item.pk


def test_a_reservation_is_expired_only_once_its_time_has_passed():
    project = small_project()
    author, reviewer = people(2)
    root = write_prompt(project, author)
    held = claim(reviewer, project, "label_initial_prompt")
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() + timedelta(seconds=30))

    assert sweep_run()["expired"] == 0

    held.refresh_from_db()
    assert held.state == "active"
    assert live_item(root, ["label_initial_prompt"]).open_slots == 0


def test_the_sweep_activates_waiting_trees_up_to_the_cap():
    project = small_project(max_active_trees=2)
    reviewer = people(1)[0]
    roots = [write_prompt(project, author) for author in people(3)]
    for root in roots:
        review(root, [reviewer])  # the on-commit lottery never runs here
    assert [tree_state(root.tree) for root in roots] == ["backlog"] * 3

    result = sweep_run()

    assert result == {"expired": 0, "activated": 2, "checked": 3}
    states = sorted(tree_state(root.tree) for root in roots)
    assert states == ["backlog", "growing", "growing"]
    # An activated tree got its reply slots in the same step.
    for tree in Tree.objects.filter(project=project, state="growing"):
        assert WorkItem.objects.get(tree=tree, kind="assistant_reply").required == 2


def test_a_tree_stuck_in_scoring_is_scored_again_once_stale():
    tree = scoring_tree()
    root = tree.root
    Tree.objects.filter(pk=tree.pk).update(
        state_changed_at=timezone.now() - SCORING_STALE_AFTER - timedelta(seconds=1)
    )

    with committed():
        result = sweep_run()

    assert result == {"expired": 0, "activated": 0, "checked": 1}
    assert tree_state(tree) == "ready_for_export"
    assert sorted(root.children.values_list("rank", flat=True)) == [0, 1]


def test_a_tree_recently_put_in_scoring_is_left_to_its_task():
    tree = scoring_tree()
    Tree.objects.filter(pk=tree.pk).update(
        state_changed_at=timezone.now() - SCORING_STALE_AFTER + timedelta(seconds=30)
    )
    before = snapshot()

    with committed() as callbacks:
        sweep_run()

    assert callbacks == []
    assert tree_state(tree) == "scoring"
    assert snapshot() == before


def test_the_sweep_moves_on_a_tree_whose_step_was_missed():
    """A growing tree whose last review was recorded but not acted on is advanced."""
    project = small_project()
    author, reviewer, writer_a, writer_b = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    # Simulate a lost step: put the tree back to growing with its ranking item gone.
    WorkItem.objects.filter(tree=tree, kind="rank_assistant_replies").delete()
    Tree.objects.filter(pk=tree.pk).update(state="growing")

    sweep_run()

    assert tree_state(tree) == "ranking"
    assert WorkItem.objects.get(tree=tree, kind="rank_assistant_replies").candidate_ids == [
        a.pk,
        b.pk,
    ]


def test_running_the_sweep_twice_is_harmless():
    project = small_project(max_active_trees=1)
    author, reviewer, holder, second_author = people(4)
    _tree, root = growing_tree(project, author, [reviewer])
    held = claim(holder, project, "assistant_reply")
    overdue(held)
    waiting = write_prompt(project, second_author)
    review(waiting, [reviewer])
    stale = scoring_tree(small_project())
    Tree.objects.filter(pk=stale.pk).update(
        state_changed_at=timezone.now() - SCORING_STALE_AFTER - timedelta(minutes=1)
    )

    with committed():
        first = sweep_run()
    after_first = snapshot()
    with committed():
        second = sweep_run()

    assert first == {"expired": 1, "activated": 0, "checked": 3}
    assert second == {"expired": 0, "activated": 0, "checked": 2}
    assert snapshot() == after_first
    assert tree_state(stale) == "ready_for_export"
    assert tree_state(waiting.tree) == "backlog"  # the English place is still taken
    assert live_item(root, REPLY_KINDS).open_slots == 2


def test_one_broken_tree_does_not_stop_the_sweep(monkeypatch: pytest.MonkeyPatch):
    project = small_project(max_active_trees=5)
    reviewer = people(1)[0]
    first = write_prompt(project, people(1)[0])
    second = write_prompt(project, people(1)[0])
    review(first, [reviewer])
    review(second, [reviewer])
    Tree.objects.filter(pk__in=[first.tree_id, second.tree_id]).update(state="prompt_review")
    import backend.assignments.sweep as sweep_module

    real_advance = sweep_module.tree_advance

    def advance(*, tree_id: int) -> str:
        if tree_id == first.tree_id:
            raise RuntimeError("corrupt tree")
        return real_advance(tree_id=tree_id)

    monkeypatch.setattr(sweep_module, "tree_advance", advance)

    result = sweep_run()

    assert result["checked"] == 2
    assert tree_state(first.tree) == "prompt_review"
    assert tree_state(second.tree) == "backlog"
