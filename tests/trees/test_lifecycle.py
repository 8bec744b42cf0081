"""The tree lifecycle: every transition, its guard and its audit event.

prompt_review → backlog → growing → ranking → scoring → ready_for_export, with
aborted_low_grade, halted/resume and scoring_failed/retry on the side. Trees are
driven through the real submit service; ``committed()`` runs the on-commit work
(lottery, scoring) where a step commits.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.assignments.growth import tree_advance
from backend.assignments.halting import tree_halt, tree_resume
from backend.assignments.lottery import trees_activate_waiting
from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    REPLY_KINDS,
    Assignment,
    AssignmentState,
    WorkItem,
    WorkItemExclusion,
    WorkItemState,
)
from backend.assignments.services import assignment_submit
from backend.audit.models import AuditEvent
from backend.common.errors import Conflict
from backend.consensus.services.trees import tree_retry_scoring
from backend.trees.models import Message, Tree
from tests.factories import (
    GOOD_LABELS,
    SPAM_LABELS,
    claim,
    committed,
    growing_tree,
    live_item,
    live_items,
    people,
    rank,
    reserve,
    review,
    small_project,
    snapshot,
    tree_audit,
    tree_state,
    write_prompt,
    write_reply,
)

pytestmark = pytest.mark.django_db


def transitions(tree: Tree) -> list[tuple[str, str | None, str | None]]:
    """(action, before state, after state) of the tree's audit events, oldest first."""
    return [
        (action, before.get("state"), after.get("state"))
        for action, before, after in tree_audit(tree)
    ]


def closed_or_absent(tree: Tree) -> bool:
    return not WorkItem.objects.filter(tree=tree).exclude(state=WorkItemState.CLOSED).exists()


# --- prompt_review --------------------------------------------------------------------


def test_a_new_prompt_starts_a_tree_in_prompt_review_with_its_review_item():
    project = small_project(num_reviews_initial_prompt=3)
    author = people(1)[0]

    root = write_prompt(project, author, text="Why is the sky blue?")

    tree = root.tree
    assert (tree.state, tree.root_id, tree.lang) == ("prompt_review", root.pk, "en")
    assert (root.depth, root.role, root.review_result, root.review_count) == (
        0,
        "prompter",
        None,
        0,
    )
    item = WorkItem.objects.get(tree=tree)
    assert (item.kind, item.target_id, item.required, item.open_slots, item.state) == (
        "label_initial_prompt",
        root.pk,
        3,
        3,
        "open",
    )
    assert list(
        WorkItemExclusion.objects.filter(work_item=item).values_list("user_id", flat=True)
    ) == [author.pk]
    assert tree_audit(tree) == [("tree.created", {}, {"state": "prompt_review", "root": root.pk})]


def test_the_prompt_is_decided_only_by_the_last_required_review():
    project = small_project(num_reviews_initial_prompt=3)
    author, *reviewers = people(4)
    root = write_prompt(project, author)

    review(root, reviewers[:2])
    root.refresh_from_db()
    assert (root.review_count, root.review_result) == (2, None)
    assert tree_state(root.tree) == "prompt_review"
    assert not AuditEvent.objects.filter(
        action__in=["message.accepted", "message.rejected"]
    ).exists()

    with committed():
        review(root, reviewers[2:])
        # The decision is taken in the submit's transaction; the lottery waits for commit.
        assert tree_state(root.tree) == "backlog"
    root.refresh_from_db()
    assert (root.review_count, root.review_result) == (3, True)
    assert tree_state(root.tree) == "growing"
    assert transitions(root.tree) == [
        ("tree.created", None, "prompt_review"),
        ("tree.backlog", "prompt_review", "backlog"),
        ("tree.growing", "backlog", "growing"),
    ]
    decision = AuditEvent.objects.get(action="message.accepted")
    assert (decision.target_id, decision.before, decision.after) == (
        str(root.pk),
        {"review_result": None},
        {"review_result": True, "review_count": 3},
    )


# Three reviewers, threshold 0.6: 1 − mean(spam) − mean(lang_mismatch) must exceed it.
@pytest.mark.parametrize(
    ("votes", "accepted"),
    [
        pytest.param([GOOD_LABELS] * 3, True, id="all-clean"),
        pytest.param([GOOD_LABELS, GOOD_LABELS, SPAM_LABELS], True, id="one-spam-vote-0.667"),
        pytest.param([GOOD_LABELS, SPAM_LABELS, SPAM_LABELS], False, id="two-spam-votes-0.333"),
        pytest.param(
            [GOOD_LABELS, GOOD_LABELS, {"spam": 0, "lang_mismatch": 1}], True, id="one-lang-0.667"
        ),
        pytest.param(
            [GOOD_LABELS, {"spam": 0, "lang_mismatch": 1}, {"spam": 1, "lang_mismatch": 0}],
            False,
            id="spam-plus-lang-0.333",
        ),
        pytest.param(
            [{"spam": 0, "pii": 1, "quality": 0}] * 3, True, id="other-labels-do-not-count"
        ),
    ],
)
def test_acceptance_rule_on_the_prompt(votes: list[dict[str, Any]], accepted: bool):
    project = small_project(num_reviews_initial_prompt=3, acceptance_threshold=0.6)
    author, *reviewers = people(4)
    root = write_prompt(project, author)

    review(root, reviewers, votes)

    root.refresh_from_db()
    assert root.review_result is accepted
    assert tree_state(root.tree) == ("backlog" if accepted else "aborted_low_grade")


@pytest.mark.parametrize(
    ("threshold", "spam_votes", "accepted"),
    [
        pytest.param(0.5, [0, 1], False, id="score-0.5-equals-threshold-0.5"),
        pytest.param(0.49, [0, 1], True, id="score-0.5-above-threshold-0.49"),
        pytest.param(0.6, [0, 0, 0, 1, 1], False, id="score-0.6-equals-threshold-0.6"),
        pytest.param(0.0, [1, 1], False, id="score-0-equals-threshold-0"),
    ],
)
def test_a_score_exactly_at_the_threshold_rejects(
    threshold: float, spam_votes: list[int], accepted: bool
):
    project = small_project(
        num_reviews_initial_prompt=len(spam_votes), acceptance_threshold=threshold
    )
    author, *reviewers = people(1 + len(spam_votes))
    root = write_prompt(project, author)

    review(root, reviewers, [{"spam": vote} for vote in spam_votes])

    root.refresh_from_db()
    assert root.review_result is accepted


def test_a_rejected_prompt_aborts_the_tree_and_closes_its_items():
    project = small_project(num_reviews_initial_prompt=2)
    author, first, second = people(3)
    root = write_prompt(project, author)

    with committed():
        review(root, [first, second], [SPAM_LABELS, SPAM_LABELS])

    tree = root.tree
    tree.refresh_from_db()
    root.refresh_from_db()
    assert (tree.state, root.review_result) == ("aborted_low_grade", False)
    assert closed_or_absent(tree)
    assert transitions(tree) == [
        ("tree.created", None, "prompt_review"),
        ("tree.aborted_low_grade", "prompt_review", "aborted_low_grade"),
    ]
    assert AuditEvent.objects.get(target_type="tree", action="tree.aborted_low_grade").reason == (
        "initial prompt rejected"
    )
    # An aborted tree never reaches the lottery and offers no work.
    assert claim(people(1)[0], project, "label_initial_prompt") is None
    assert claim(people(1)[0], project, "assistant_reply") is None


def test_a_deleted_prompt_aborts_the_tree_cancelling_open_reservations():
    project = small_project(num_reviews_initial_prompt=2)
    author, reviewer = people(2)
    root = write_prompt(project, author)
    held = claim(reviewer, project, "label_initial_prompt")
    assert held is not None
    Message.objects.filter(pk=root.pk).update(is_deleted=True)

    assert tree_advance(tree_id=root.tree_id) == "aborted_low_grade"

    held.refresh_from_db()
    assert held.state == "cancelled"
    assert closed_or_absent(root.tree)
    with pytest.raises(Conflict) as refused:
        assignment_submit(user=reviewer, assignment_id=held.pk, payload={"labels": GOOD_LABELS})
    assert refused.value.code == "assignment_not_active"


# --- backlog and the prompt lottery ---------------------------------------------------


def test_an_accepted_prompt_goes_through_backlog_into_growing_with_reply_slots():
    project = small_project(goal_tree_size=3, max_children=2)
    author, reviewer = people(2)
    root = write_prompt(project, author)

    with committed():
        review(root, [reviewer])
        assert tree_state(root.tree) == "backlog"
        assert live_items(root.tree) == []

    assert tree_state(root.tree) == "growing"
    item = live_item(root, REPLY_KINDS)
    # Goal 3 = the prompt + 2 replies; both slots go to the only parent.
    assert (item.kind, item.required, item.open_slots, item.completed_count) == (
        "assistant_reply",
        2,
        2,
        0,
    )
    assert list(
        WorkItemExclusion.objects.filter(work_item=item).values_list("user_id", flat=True)
    ) == [author.pk]
    growing_event = AuditEvent.objects.get(target_type="tree", action="tree.growing")
    assert (growing_event.before, growing_event.after, growing_event.reason) == (
        {"state": "backlog"},
        {"state": "growing"},
        "drawn in the prompt lottery",
    )


def test_the_lottery_respects_max_active_trees_per_language():
    project = small_project(max_active_trees=1, languages=["en", "de"])
    authors = people(3)
    reviewer = people(1)[0]
    first = write_prompt(project, authors[0], lang="en")
    second = write_prompt(project, authors[1], lang="en")
    german = write_prompt(project, authors[2], lang="de")

    for root in (first, second, german):
        with committed():
            review(root, [reviewer])

    assert tree_state(first.tree) == "growing"
    assert tree_state(second.tree) == "backlog"
    # The German tree has its own place: the cap is per language.
    assert tree_state(german.tree) == "growing"
    # Asking again changes nothing while the English place is taken.
    assert trees_activate_waiting(project_id=project.pk, lang="en") == []
    assert tree_state(second.tree) == "backlog"
    assert live_items(second.tree) == []

    # The growing English tree is finished; leaving ``growing`` frees its place.
    replier_a, replier_b = people(2)
    with committed():
        reply_a = write_reply(first, replier_a)
        reply_b = write_reply(first, replier_b)
        review(reply_a, [reviewer])
        review(reply_b, [reviewer])
        assert tree_state(first.tree) == "ranking"
        assert tree_state(second.tree) == "backlog"

    assert tree_state(first.tree) == "ranking"
    assert tree_state(second.tree) == "growing"
    assert live_item(second, REPLY_KINDS).required == 2
    assert Tree.objects.filter(project=project, lang="en", state="growing").count() == 1


def test_the_lottery_fills_only_the_free_places():
    project = small_project(max_active_trees=2)
    authors = people(4)
    reviewer = people(1)[0]
    roots = [write_prompt(project, author) for author in authors]
    for root in roots:
        review(root, [reviewer])
    assert {tree_state(root.tree) for root in roots} == {"backlog"}

    activated = trees_activate_waiting(project_id=project.pk, lang="en")

    assert len(activated) == 2
    assert sorted(activated) == sorted(
        Tree.objects.filter(project=project, state="growing").values_list("pk", flat=True)
    )
    assert Tree.objects.filter(project=project, state="backlog").count() == 2
    assert trees_activate_waiting(project_id=project.pk, lang="en") == []


# --- growing → ranking ----------------------------------------------------------------


def test_ranking_starts_only_when_the_size_is_reached_and_nothing_awaits_review():
    project = small_project(goal_tree_size=3, max_children=2, num_required_rankings=2)
    author, reviewer, replier_a, replier_b = people(4)
    tree, root = growing_tree(project, author, [reviewer])

    reply_a = write_reply(root, replier_a)
    assert tree_state(tree) == "growing"
    reply_b = write_reply(root, replier_b)
    # Size 3 reached, but both replies are under review.
    assert tree_state(tree) == "growing"
    assert tree_advance(tree_id=tree.pk) == "growing"
    assert [item.kind for item in live_items(tree)] == ["label_assistant_reply"] * 2

    review(reply_a, [reviewer])
    # Still one reply under review.
    assert tree_state(tree) == "growing"
    assert tree_advance(tree_id=tree.pk) == "growing"

    review(reply_b, [reviewer])
    assert tree_state(tree) == "ranking"
    item = live_item(root, RANK_KINDS)
    assert (item.kind, item.required, item.open_slots, item.candidate_ids) == (
        "rank_assistant_replies",
        2,
        2,
        [reply_a.pk, reply_b.pk],
    )
    assert sorted(
        WorkItemExclusion.objects.filter(work_item=item).values_list("user_id", flat=True)
    ) == sorted([replier_a.pk, replier_b.pk])
    assert [i.pk for i in live_items(tree)] == [item.pk]
    assert transitions(tree)[-1] == ("tree.ranking", "growing", "ranking")


def test_a_rejected_reply_does_not_count_and_a_replacement_slot_opens():
    project = small_project(goal_tree_size=3, max_children=2)
    author, reviewer, replier_a, replier_b, replier_c = people(5)
    tree, root = growing_tree(project, author, [reviewer])
    reply_a = write_reply(root, replier_a)
    reply_b = write_reply(root, replier_b)
    assert (
        live_items(tree)
        and not WorkItem.objects.filter(tree=tree, kind="assistant_reply", state="open").exists()
    )

    review(reply_a, [reviewer], [SPAM_LABELS])

    reply_a.refresh_from_db()
    assert reply_a.review_result is False
    assert tree_state(tree) == "growing"
    replacement = live_item(root, REPLY_KINDS)
    assert (replacement.required, replacement.open_slots, replacement.completed_count) == (1, 1, 0)
    # One counted reply under a parent that needs two to be ranked: a lonely parent.
    assert replacement.priority == 10

    reply_c = write_reply(root, replier_c)
    review(reply_b, [reviewer])
    assert tree_state(tree) == "growing"
    review(reply_c, [reviewer])

    assert tree_state(tree) == "ranking"
    assert live_item(root, RANK_KINDS).candidate_ids == [reply_b.pk, reply_c.pk]


def test_a_rejected_reply_under_a_parent_with_open_slots_adds_one_to_its_item():
    project = small_project(goal_tree_size=4, max_children=3)
    author, reviewer, writer_a, writer_b = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    item = live_item(root, REPLY_KINDS)
    a = write_reply(root, writer_a)
    write_reply(root, writer_b)
    item.refresh_from_db()
    assert (item.required, item.completed_count, item.open_slots) == (3, 2, 1)

    review(a, [reviewer], [SPAM_LABELS])

    item.refresh_from_db()
    assert (item.state, item.required, item.completed_count, item.open_slots) == ("open", 4, 2, 2)
    assert WorkItem.objects.filter(tree=tree, kind__in=REPLY_KINDS).count() == 1


def test_a_deleted_reply_gives_up_its_reply_slots_and_a_replacement_opens():
    project = small_project(goal_tree_size=5, max_depth=2, max_children=2)
    author, reviewer, writer_a, writer_b = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    under_a = live_item(a, REPLY_KINDS)
    assert under_a.required == 2
    Message.objects.filter(pk=a.pk).update(is_deleted=True)

    assert tree_advance(tree_id=tree.pk) == "growing"

    under_a.refresh_from_db()
    assert under_a.state == "closed"
    replacement = live_item(root, REPLY_KINDS)
    assert (replacement.required, replacement.open_slots) == (1, 1)
    # Left open: the replacement and the review of B (B takes replies once accepted).
    assert sorted((i.kind, i.target_id) for i in live_items(tree)) == [
        ("assistant_reply", root.pk),
        ("label_assistant_reply", b.pk),
    ]


def test_a_tree_saturated_by_max_depth_goes_to_ranking_below_its_goal_size():
    project = small_project(goal_tree_size=10, max_depth=1, max_children=2)
    author, reviewer, replier_a, replier_b = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    reply_a = write_reply(root, replier_a)
    reply_b = write_reply(root, replier_b)

    review(reply_a, [reviewer])
    review(reply_b, [reviewer])

    # 3 messages of 10, but the root is full and the replies are at max depth.
    assert tree_state(tree) == "ranking"
    assert not WorkItem.objects.filter(tree=tree, kind__in=REPLY_KINDS, state="open").exists()
    assert live_item(root, RANK_KINDS).candidate_ids == [reply_a.pk, reply_b.pk]


def test_a_chain_saturated_by_max_children_skips_ranking_and_is_ready_for_export():
    project = small_project(goal_tree_size=10, max_depth=2, max_children=1)
    author, reviewer, assistant, prompter = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    assert live_item(root, REPLY_KINDS).required == 1

    answer = write_reply(root, assistant)
    review(answer, [reviewer])
    follow_up_item = live_item(answer, REPLY_KINDS)
    assert (follow_up_item.kind, follow_up_item.required) == ("prompter_reply", 1)
    follow_up = write_reply(answer, prompter)
    assert (follow_up.role, follow_up.depth) == ("prompter", 2)

    with committed():
        review(follow_up, [reviewer])
        # No sibling group of two: ranking has nothing to ask and hands over at once.
        assert tree_state(tree) == "scoring"
        assert not WorkItem.objects.filter(tree=tree, kind__in=RANK_KINDS).exists()

    assert tree_state(tree) == "ready_for_export"
    assert transitions(tree)[-3:] == [
        ("tree.ranking", "growing", "ranking"),
        ("tree.scoring", "ranking", "scoring"),
        ("tree.ready_for_export", "scoring", "ready_for_export"),
    ]
    assert list(Message.objects.filter(tree=tree).values_list("rank", flat=True)) == [None] * 3
    assert live_items(tree) == []


# --- ranking → scoring → ready_for_export ---------------------------------------------


def build_two_group_tree() -> dict[str, Any]:
    """Goal 5, depth 2, two children: the root gets A and B; A gets A1 and A2."""
    project = small_project(goal_tree_size=5, max_depth=2, max_children=2, num_required_rankings=1)
    author, reviewer, writer_a, writer_b, writer_a1, writer_a2, voter = people(7)
    tree, root = growing_tree(project, author, [reviewer])
    reply_a = write_reply(root, writer_a)
    reply_b = write_reply(root, writer_b)
    review(reply_a, [reviewer])
    # A was accepted first and takes the two remaining places.
    assert live_item(reply_a, REPLY_KINDS).required == 2
    review(reply_b, [reviewer])
    assert not WorkItem.objects.filter(target=reply_b, kind__in=REPLY_KINDS).exists()
    reply_a1 = write_reply(reply_a, writer_a1)
    reply_a2 = write_reply(reply_a, writer_a2)
    review(reply_a1, [reviewer])
    review(reply_a2, [reviewer])
    assert tree_state(tree) == "ranking"
    return {
        "tree": tree,
        "root": root,
        "a": reply_a,
        "b": reply_b,
        "a1": reply_a1,
        "a2": reply_a2,
        "voter": voter,
    }


def test_scoring_waits_for_every_sibling_group_and_then_assigns_ranks():
    built = build_two_group_tree()
    tree, root, voter = built["tree"], built["root"], built["voter"]
    root_group = live_item(root, RANK_KINDS)
    a_group = live_item(built["a"], RANK_KINDS)
    assert (root_group.kind, root_group.candidate_ids) == (
        "rank_assistant_replies",
        [built["a"].pk, built["b"].pk],
    )
    assert (a_group.kind, a_group.candidate_ids) == (
        "rank_prompter_replies",
        [built["a1"].pk, built["a2"].pk],
    )

    with committed():
        rank(root, voter, [built["b"], built["a"]])
    assert tree_state(tree) == "ranking"
    assert tree_advance(tree_id=tree.pk) == "ranking"

    with committed():
        rank(built["a"], voter, [built["a1"], built["a2"]])

    assert tree_state(tree) == "ready_for_export"
    ranks = dict(Message.objects.filter(tree=tree).values_list("pk", "rank"))
    assert ranks == {
        root.pk: None,
        built["a"].pk: 1,
        built["b"].pk: 0,
        built["a1"].pk: 0,
        built["a2"].pk: 1,
    }


def test_ranks_follow_ranked_pairs_not_the_first_ballot():
    project = small_project(goal_tree_size=4, max_children=3, num_required_rankings=3)
    author, reviewer, writer_a, writer_b, writer_c, *voters = people(8)
    tree, root = growing_tree(project, author, [reviewer])
    a, b, c = (write_reply(root, writer) for writer in (writer_a, writer_b, writer_c))
    for reply in (a, b, c):
        review(reply, [reviewer])
    assert tree_state(tree) == "ranking"

    # Margins: a>b +1, a>c +3, b>c +1, so a, b, c — though the first ballot puts b first.
    with committed():
        rank(root, voters[0], [b, a, c])
        rank(root, voters[1], [a, c, b])
        assert tree_state(tree) == "ranking"
        rank(root, voters[2], [a, b, c])

    assert tree_state(tree) == "ready_for_export"
    assert dict(Message.objects.filter(parent=root).values_list("pk", "rank")) == {
        a.pk: 0,
        b.pk: 1,
        c.pk: 2,
    }


def test_a_tied_ranking_is_broken_by_the_earliest_ballot():
    project = small_project(goal_tree_size=3, max_children=2, num_required_rankings=2)
    author, reviewer, writer_a, writer_b, early, late = people(6)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])

    with committed():
        rank(root, early, [b, a])
        rank(root, late, [a, b])

    assert tree_state(tree) == "ready_for_export"
    assert dict(Message.objects.filter(parent=root).values_list("pk", "rank")) == {b.pk: 0, a.pk: 1}


def test_the_full_audit_trail_of_a_tree():
    project = small_project()
    author, reviewer, writer_a, writer_b, voter = people(5)
    with committed():
        root = write_prompt(project, author)
        review(root, [reviewer])
    tree = root.tree
    with committed():
        a, b = write_reply(root, writer_a), write_reply(root, writer_b)
        review(a, [reviewer])
        review(b, [reviewer])
        rank(root, voter, [a, b])

    assert tree_audit(tree) == [
        ("tree.created", {}, {"state": "prompt_review", "root": root.pk}),
        ("tree.backlog", {"state": "prompt_review"}, {"state": "backlog"}),
        ("tree.growing", {"state": "backlog"}, {"state": "growing"}),
        ("tree.ranking", {"state": "growing"}, {"state": "ranking"}),
        ("tree.scoring", {"state": "ranking"}, {"state": "scoring"}),
        ("tree.ready_for_export", {"state": "scoring"}, {"state": "ready_for_export"}),
    ]
    for event in AuditEvent.objects.filter(target_type="tree", target_id=str(tree.pk)):
        assert event.project_id == project.pk


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_a_tree_runs_from_prompt_to_ready_for_export():
    """No captured callbacks: every submit commits and its on-commit work runs."""
    project = small_project()
    author, reviewer, writer_a, writer_b, voter = people(5)

    root = write_prompt(project, author)
    review(root, [reviewer])
    assert tree_state(root.tree) == "growing"  # the lottery ran after the commit
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    assert tree_state(root.tree) == "ranking"
    rank(root, voter, [b, a])

    assert tree_state(root.tree) == "ready_for_export"
    assert dict(Message.objects.filter(parent=root).values_list("pk", "rank")) == {b.pk: 0, a.pk: 1}
    assert [action for action, _, _ in transitions(root.tree)] == [
        "tree.created",
        "tree.backlog",
        "tree.growing",
        "tree.ranking",
        "tree.scoring",
        "tree.ready_for_export",
    ]


# --- halt and resume ------------------------------------------------------------------


def tree_in_state(state: str) -> dict[str, Any]:
    """A tree in ``state``; where the state has open work, ``holder`` holds one slot of it."""
    project = small_project()
    author, reviewer, writer_a, writer_b, holder = people(5)
    if state == "prompt_review":
        root = write_prompt(project, author)
        item = live_item(root, LABEL_KINDS)
        return {"tree": root.tree, "item": item, "holder": holder, "held": reserve(holder, item)}
    if state == "backlog":
        root = write_prompt(project, author)
        review(root, [reviewer])  # the lottery waits for a commit that never comes
        return {"tree": root.tree, "item": None, "holder": holder, "held": None}
    tree, root = growing_tree(project, author, [reviewer])
    if state == "growing":
        item = live_item(root, REPLY_KINDS)
        return {"tree": tree, "item": item, "holder": holder, "held": reserve(holder, item)}
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    if state == "ranking":
        item = live_item(root, RANK_KINDS)
        return {"tree": tree, "item": item, "holder": holder, "held": reserve(holder, item)}
    assert state == "scoring"
    rank(root, reviewer, [a, b])  # scoring waits for the commit
    return {"tree": tree, "item": None, "holder": holder, "held": None}


@pytest.mark.parametrize("state", ["prompt_review", "backlog", "growing", "ranking", "scoring"])
def test_halt_and_resume_from_every_active_state(state: str):
    built = tree_in_state(state)
    tree, item, holder, held = built["tree"], built["item"], built["holder"], built["held"]
    moderator = people(1)[0]
    assert tree_state(tree) == state
    live_before = [(i.pk, i.required, i.completed_count) for i in live_items(tree)]

    tree_halt(tree_id=tree.pk, actor_id=moderator.pk, reason="checking for abuse")

    tree.refresh_from_db()
    assert (tree.state, tree.halted_from_state) == ("halted", state)
    # Every live item is paused with all its unfinished slots free again.
    assert [(i.pk, i.state, i.open_slots) for i in live_items(tree)] == [
        (pk, "paused", required - completed) for pk, required, completed in live_before
    ]
    event = AuditEvent.objects.filter(target_type="tree", target_id=str(tree.pk)).last()
    assert (event.action, event.actor_id, event.before, event.after, event.reason) == (
        "tree.halted",
        moderator.pk,
        {"state": state},
        {"state": "halted"},
        "checking for abuse",
    )
    if held is not None:
        held.refresh_from_db()
        assert held.state == "cancelled"
        with pytest.raises(Conflict) as refused:
            assignment_submit(user=holder, assignment_id=held.pk, payload={"text": "late"})
        assert refused.value.code == "assignment_not_active"
        # Paused work is offered to nobody.
        assert claim(holder, tree.project, item.kind) is None

    with committed():
        tree_resume(tree_id=tree.pk, actor_id=moderator.pk, reason="all clear")
        tree.refresh_from_db()
        assert (tree.state, tree.halted_from_state) == (state, "")
        assert [(i.pk, i.state, i.open_slots) for i in live_items(tree)] == [
            (pk, "open", required - completed) for pk, required, completed in live_before
        ]

    event = AuditEvent.objects.filter(target_type="tree", action="tree.resumed").get()
    assert (event.actor_id, event.before, event.after, event.reason) == (
        moderator.pk,
        {"state": "halted"},
        {"state": state},
        "all clear",
    )
    if held is not None:
        # The work is offered again, to the person who held it too.
        again = claim(holder, tree.project, item.kind)
        assert again is not None and again.work_item_id == item.pk
    # What the tree was waiting for when it was halted happens after the resume.
    expected_after_commit = {"backlog": "growing", "scoring": "ready_for_export"}.get(state, state)
    assert tree_state(tree) == expected_after_commit


def test_halt_cancels_every_reservation_and_returns_each_slot():
    project = small_project(goal_tree_size=4, max_children=3)
    author, reviewer, first, second = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    item = live_item(root, REPLY_KINDS)
    held = [reserve(first, item), reserve(second, item)]
    item.refresh_from_db()
    assert item.open_slots == 1

    tree_halt(tree_id=tree.pk, actor_id=None)

    item.refresh_from_db()
    assert (item.state, item.open_slots, item.required) == ("paused", 3, 3)
    assert [
        state
        for state in Assignment.objects.filter(pk__in=[a.pk for a in held]).values_list(
            "state", flat=True
        )
    ] == ["cancelled", "cancelled"]


@pytest.mark.parametrize(
    "state", ["halted", "ready_for_export", "aborted_low_grade", "scoring_failed"]
)
def test_halting_a_tree_that_is_not_active_is_refused(state: str, monkeypatch: pytest.MonkeyPatch):
    project = small_project()
    author, reviewer, writer_a, writer_b = people(4)
    root = write_prompt(project, author)
    tree = root.tree
    if state == "aborted_low_grade":
        review(root, [reviewer], [SPAM_LABELS])
    elif state == "halted":
        tree_halt(tree_id=tree.pk, actor_id=None)
    else:
        review(root, [reviewer])
        trees_activate_waiting(project_id=project.pk, lang="en")
        a, b = write_reply(root, writer_a), write_reply(root, writer_b)
        review(a, [reviewer])
        review(b, [reviewer])
        if state == "scoring_failed":
            monkeypatch.setattr(
                "backend.consensus.services.trees.ranking_group_score", _broken_ranked_pairs
            )
        with committed():
            rank(root, reviewer, [a, b])
    assert tree_state(tree) == state
    before = snapshot()

    with pytest.raises(Conflict) as refused:
        tree_halt(tree_id=tree.pk, actor_id=None, reason="too late")

    assert (refused.value.code, refused.value.status_code) == ("invalid_tree_state", 409)
    assert refused.value.extra == {"tree_state": state}
    assert snapshot() == before


@pytest.mark.parametrize("state", ["prompt_review", "growing"])
def test_resuming_a_tree_that_is_not_halted_is_refused(state: str):
    project = small_project()
    author, reviewer = people(2)
    if state == "growing":
        tree, _ = growing_tree(project, author, [reviewer])
    else:
        tree = write_prompt(project, author).tree
    before = snapshot()

    with pytest.raises(Conflict) as refused:
        tree_resume(tree_id=tree.pk, actor_id=None)

    assert (refused.value.code, refused.value.extra) == (
        "invalid_tree_state",
        {"tree_state": state},
    )
    assert snapshot() == before


def test_a_reply_cannot_be_written_into_a_halted_tree_even_with_an_old_reservation():
    project = small_project()
    author, reviewer, writer = people(3)
    tree, root = growing_tree(project, author, [reviewer])
    held = reserve(writer, live_item(root, REPLY_KINDS))
    tree_halt(tree_id=tree.pk, actor_id=None)
    # Even if the reservation had survived, the halted tree refuses the reply.
    Assignment.objects.filter(pk=held.pk).update(state=AssignmentState.ACTIVE)
    before = snapshot()

    with pytest.raises(Conflict) as refused:
        assignment_submit(user=writer, assignment_id=held.pk, payload={"text": "a fine answer"})

    assert refused.value.code == "work_item_closed"
    assert snapshot() == before


# --- scoring failure and retry --------------------------------------------------------


def _broken_ranked_pairs(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("ranking engine exploded")


def test_a_scoring_failure_marks_the_tree_and_a_retry_finishes_it(monkeypatch: pytest.MonkeyPatch):
    project = small_project()
    author, reviewer, writer_a, writer_b, voter, moderator = people(6)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    monkeypatch.setattr(
        "backend.consensus.services.trees.ranking_group_score", _broken_ranked_pairs
    )

    with committed():
        rank(root, voter, [b, a])

    assert tree_state(tree) == "scoring_failed"
    assert list(Message.objects.filter(parent=root).values_list("rank", flat=True)) == [None, None]
    failed = AuditEvent.objects.get(target_type="tree", action="tree.scoring_failed")
    assert (failed.before, failed.after, failed.reason) == (
        {"state": "scoring"},
        {"state": "scoring_failed"},
        "RuntimeError: ranking engine exploded",
    )
    # A failed tree is not active: the sweep's re-checks leave it alone.
    assert tree_advance(tree_id=tree.pk) == "scoring_failed"

    monkeypatch.undo()
    with committed():
        tree_retry_scoring(tree_id=tree.pk, actor_id=moderator.pk)
        assert tree_state(tree) == "scoring"

    assert tree_state(tree) == "ready_for_export"
    assert dict(Message.objects.filter(parent=root).values_list("pk", "rank")) == {b.pk: 0, a.pk: 1}
    assert transitions(tree)[-4:] == [
        ("tree.scoring", "ranking", "scoring"),
        ("tree.scoring_failed", "scoring", "scoring_failed"),
        ("tree.scoring", "scoring_failed", "scoring"),
        ("tree.ready_for_export", "scoring", "ready_for_export"),
    ]
    retry = AuditEvent.objects.filter(target_type="tree", action="tree.scoring").last()
    assert (retry.actor_id, retry.reason) == (moderator.pk, "retry scoring")


@pytest.mark.parametrize("state", ["growing", "ranking"])
def test_retrying_scoring_of_a_tree_that_did_not_fail_is_refused(state: str):
    built = tree_in_state(state)
    before = snapshot()

    with pytest.raises(Conflict) as refused:
        tree_retry_scoring(tree_id=built["tree"].pk)

    assert (refused.value.code, refused.value.extra) == (
        "invalid_tree_state",
        {"tree_state": state},
    )
    assert snapshot() == before


def test_a_tree_whose_ranking_candidate_is_deleted_does_not_stay_in_ranking():
    """A reply deleted during ranking (here behind the services' back, as a direct
    update) is noticed by the next advance: the tree has lost size, so it goes back
    to growing, collects a replacement and ranks the new group."""
    project = small_project(goal_tree_size=4, max_children=3)
    author, reviewer, writer_a, writer_b, writer_c, writer_d, voter = people(7)
    tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, writer) for writer in (writer_a, writer_b, writer_c)]
    for reply in replies:
        review(reply, [reviewer])
    assert tree_state(tree) == "ranking"
    Message.objects.filter(pk=replies[2].pk).update(is_deleted=True)

    tree_advance(tree_id=tree.pk)

    assert tree_state(tree) == "growing"
    replacement = write_reply(root, writer_d)
    review(replacement, [reviewer])
    assert tree_state(tree) == "ranking"
    with committed():
        rank(root, voter, [replies[0], replies[1], replacement])
    assert tree_state(tree) == "ready_for_export"
