"""Every moderation action and its reversal through the HTTP API, with the tree's
counts, needs (live work items and their open slots) and state right afterwards.

Trees come from ``tests/moderation/builders.py``: ``flat_tree`` (goal 3, depth 1, two
replies A and B under the prompt) and ``deep_tree`` (goal 7, depth 2: the prompt with
A and B, A with A1 and A2, B with B1 and B2; three ranked groups, ready for export).
A need is ``(kind, target id, required, completed, open slots)``.
"""

from __future__ import annotations

import pytest

from backend.assignments.growth import current_rank_items
from backend.assignments.models import RANK_KINDS, REPLY_KINDS, Assignment, RankingVote, WorkItem
from backend.audit.models import AuditEvent
from backend.trees.models import Message, MessageRevision, Tree
from tests.factories import (
    GOOD_LABELS,
    SPAM_LABELS,
    committed,
    growing_tree,
    live_item,
    people,
    rank,
    reserve,
    review,
    write_prompt,
    write_reply,
)
from tests.moderation.builders import (
    counts,
    deep_tree,
    deleted_ids,
    everything,
    flat_tree,
    needs,
    post,
    with_role,
)

pytestmark = pytest.mark.django_db


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("pk").last()


def tree_actions(tree: Tree) -> list[tuple[str, str | None, str | None]]:
    return [
        (event.action, event.before.get("state"), event.after.get("state"))
        for event in AuditEvent.objects.filter(target_type="tree", target_id=str(tree.pk)).order_by(
            "pk"
        )
    ]


def ranks(built) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
    built.refresh()
    return {name: message.rank for name, message in built.replies.items()}


# --- Delete / undelete ------------------------------------------------------------------


def test_deleting_a_reply_in_a_growing_tree_opens_a_replacement_and_undelete_takes_it_back(
    moderator,
):
    built = flat_tree("one_reply")
    tree, root, reply = built.tree, built.root, built.replies["a"]
    assert needs(tree) == [("assistant_reply", root.pk, 2, 1, 1)]
    transitions_before = tree_actions(tree)

    response = post(moderator, f"/api/v1/messages/{reply.pk}/delete", {"reason": "off topic"})

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["deleted"], body["tree_id"], body["author_id"]) == (
        reply.pk,
        True,
        tree.pk,
        built.writers[0].pk,
    )
    assert counts(tree) == {"messages": 2, "counting": 1, "deleted": 1}
    # The reply no longer counts: one more slot under the prompt, two free.
    assert needs(tree) == [("assistant_reply", root.pk, 3, 1, 2)]
    built.refresh()
    assert built.tree.state == "growing"
    assert tree_actions(tree) == transitions_before
    event = last_event("message.deleted")
    assert (event.actor_id, event.target_id, event.before, event.after, event.reason) == (
        moderator.pk,
        str(reply.pk),
        {"deleted": False},
        {"deleted": True, "subtree": [reply.pk]},
        "off topic",
    )
    assert Message.objects.get(pk=reply.pk).deletion_event_id == event.pk

    response = post(moderator, f"/api/v1/messages/{reply.pk}/undelete", {"reason": "it was fine"})

    assert response.status_code == 200
    assert response.json()["deleted"] is False
    assert counts(tree) == {"messages": 2, "counting": 2, "deleted": 0}
    # Exactly as before: the replacement slot nobody took is withdrawn.
    assert needs(tree) == [("assistant_reply", root.pk, 2, 1, 1)]
    assert Message.objects.get(pk=reply.pk).deletion_event_id is None
    event = last_event("message.undeleted")
    assert (event.actor_id, event.target_id, event.after, event.reason) == (
        moderator.pk,
        str(reply.pk),
        {"deleted": False, "restored": 1},
        "it was fine",
    )


def test_undelete_never_takes_back_a_replacement_slot_someone_holds(moderator):
    built = flat_tree("one_reply")
    tree, root, reply = built.tree, built.root, built.replies["a"]
    post(moderator, f"/api/v1/messages/{reply.pk}/delete", {"reason": "spam"})
    holder = people(1)[0]
    held = reserve(holder, live_item(root, REPLY_KINDS))
    assert needs(tree) == [("assistant_reply", root.pk, 3, 1, 1)]

    assert post(moderator, f"/api/v1/messages/{reply.pk}/undelete").status_code == 200

    # The free slot is withdrawn, the held one stays (its reply may still come).
    assert needs(tree) == [("assistant_reply", root.pk, 2, 1, 0)]
    held.refresh_from_db()
    assert held.state == "active"


def test_deleting_a_ranked_reply_regrows_a_ready_tree_and_reranks_only_its_group(moderator):
    built = deep_tree()
    tree, replies = built.tree, built.replies
    a, a1, a2 = replies["a"], replies["a1"], replies["a2"]
    assert ranks(built) == {"a": 0, "b": 1, "a1": 0, "a2": 1, "b1": 0, "b2": 1}
    root_item, a_item, b_item = current_rank_items(tree)
    assert [
        (item.target_id, item.completed_count, item.state) for item in (root_item, a_item, b_item)
    ] == [
        (built.root.pk, 1, "closed"),
        (a.pk, 1, "closed"),
        (replies["b"].pk, 1, "closed"),
    ]

    response = post(moderator, f"/api/v1/messages/{a1.pk}/delete", {"reason": "rude"})

    assert response.status_code == 200
    built.refresh()
    assert built.tree.state == "growing"
    assert counts(tree) == {"messages": 7, "counting": 6, "deleted": 1}
    # A lost a reply: one replacement under A, nothing else is needed.
    assert needs(tree) == [("prompter_reply", a.pk, 1, 0, 1)]
    assert tree_actions(tree)[-1] == ("tree.regrowing", "ready_for_export", "growing")
    assert last_event("tree.regrowing").actor_id == moderator.pk

    replacement = write_reply(a, people(1)[0])
    review(replacement, [built.reviewer])

    built.refresh()
    assert built.tree.state == "ranking"
    # Only A's group changed; the root's and B's keep their completed rankings.
    assert needs(tree) == [("rank_prompter_replies", a.pk, 1, 0, 1)]
    new_a_item = live_item(a, RANK_KINDS)
    assert new_a_item.candidate_ids == [a2.pk, replacement.pk]
    assert current_rank_items(tree) == [root_item, new_a_item, b_item]
    assert RankingVote.objects.filter(work_item__in=[root_item, a_item, b_item]).count() == 3

    with committed():
        rank(a, built.voter, [replacement, a2])

    built.refresh()
    replacement.refresh_from_db()
    assert built.tree.state == "ready_for_export"
    assert ranks(built) == {"a": 0, "b": 1, "a1": None, "a2": 1, "b1": 0, "b2": 1}
    assert replacement.rank == 0
    # The old vote on A's group stays as history; four votes in all.
    assert RankingVote.objects.filter(work_item=a_item).count() == 1
    assert RankingVote.objects.count() == 4
    assert needs(tree) == []


def test_undelete_restores_its_own_subtree_and_not_what_was_deleted_separately(moderator):
    built = deep_tree()
    tree, root, replies = built.tree, built.root, built.replies
    a, a1, a2 = replies["a"], replies["a1"], replies["a2"]

    assert (
        post(moderator, f"/api/v1/messages/{a1.pk}/delete", {"reason": "first"}).status_code == 200
    )
    first = last_event("message.deleted")
    assert (
        post(moderator, f"/api/v1/messages/{a.pk}/delete", {"reason": "second"}).status_code == 200
    )
    second = last_event("message.deleted")

    assert second.after == {"deleted": True, "subtree": [a.pk, a1.pk, a2.pk]}
    assert deleted_ids(tree) == [a.pk, a1.pk, a2.pk]
    assert dict(
        Message.objects.filter(tree=tree, is_deleted=True).values_list("pk", "deletion_event_id")
    ) == {
        a.pk: second.pk,
        a1.pk: first.pk,
        a2.pk: second.pk,
    }
    assert counts(tree) == {"messages": 7, "counting": 4, "deleted": 3}
    # The prompt lost A: one replacement under it; A's own replacement item is closed.
    assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]

    before = everything()
    refused = post(moderator, f"/api/v1/messages/{a2.pk}/undelete")
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "deleted_with_ancestor",
        "detail": f"This message was deleted with message {a.pk}; undelete that one.",
    }
    assert everything() == before

    response = post(moderator, f"/api/v1/messages/{a.pk}/undelete", {"reason": "restore A"})

    assert response.status_code == 200
    assert deleted_ids(tree) == [a1.pk]
    assert last_event("message.undeleted").after == {"deleted": False, "restored": 2}
    assert counts(tree) == {"messages": 7, "counting": 6, "deleted": 1}
    # A is back, so the prompt's replacement is withdrawn; A still misses A1.
    assert needs(tree) == [("prompter_reply", a.pk, 1, 0, 1)]
    built.refresh()
    assert built.tree.state == "growing"

    assert post(moderator, f"/api/v1/messages/{a1.pk}/undelete").status_code == 200
    assert deleted_ids(tree) == []
    assert counts(tree) == {"messages": 7, "counting": 7, "deleted": 0}
    # Whole again and unchanged since it was ranked: straight through to scoring, no
    # new ranking asked for.
    built.refresh()
    assert built.tree.state == "scoring"
    assert needs(tree) == []
    assert WorkItem.objects.filter(tree=tree, kind__in=RANK_KINDS).count() == 3


def test_deleting_a_reply_during_ranking_cancels_the_ranking_and_asks_for_a_replacement(
    moderator,
):
    built = flat_tree("ranking")
    tree, root = built.tree, built.root
    ranking = reserve(built.voter, live_item(root, RANK_KINDS))

    response = post(moderator, f"/api/v1/messages/{built.replies['b'].pk}/delete")

    assert response.status_code == 200
    built.refresh()
    assert built.tree.state == "growing"
    assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]
    ranking.refresh_from_db()
    assert ranking.state == "cancelled"
    assert tree_actions(tree)[-1] == ("tree.regrowing", "ranking", "growing")


@pytest.mark.parametrize("stage", ["ranking", "scoring"])
def test_deleting_a_reply_of_a_halted_tree_resumes_it_growing(moderator, stage):
    built = flat_tree(stage)
    tree, root = built.tree, built.root
    assert post(moderator, f"/api/v1/trees/{tree.pk}/halt").status_code == 200

    assert post(moderator, f"/api/v1/messages/{built.replies['b'].pk}/delete").status_code == 200

    built.refresh()
    assert (built.tree.state, built.tree.halted_from_state) == ("halted", "growing")
    # The paused ranking of a group that no longer exists is closed, not kept.
    assert needs(tree) == []
    response = post(moderator, f"/api/v1/trees/{tree.pk}/resume")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["halted_from_state"]) == ("growing", "")
    assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]


@pytest.mark.parametrize("stage", ["one_reply", "ready_for_export"])
def test_deleting_the_root_aborts_the_tree_and_undeleting_it_reopens_it_where_it_was(
    moderator, stage
):
    built = flat_tree(stage)
    tree, root = built.tree, built.root
    state = built.tree.state
    ids = [root.pk, *sorted(reply.pk for reply in built.replies.values())]

    response = post(moderator, f"/api/v1/messages/{root.pk}/delete", {"reason": "abuse"})

    assert response.status_code == 200
    built.refresh()
    assert (built.tree.state, built.tree.halted_from_state) == ("aborted_low_grade", state)
    assert deleted_ids(tree) == ids
    assert needs(tree) == []
    assert tree_actions(tree)[-1] == ("tree.aborted", state, "aborted_low_grade")
    aborted = last_event("tree.aborted")
    assert (aborted.actor_id, aborted.reason) == (moderator.pk, "abuse")

    with committed():
        response = post(moderator, f"/api/v1/messages/{root.pk}/undelete", {"reason": "mistake"})
        assert response.status_code == 200
        built.refresh()
        if stage == "one_reply":
            assert (built.tree.state, built.tree.halted_from_state) == ("growing", "")
            # The old reply item was closed by the abort; a new one asks for the one
            # reply still missing.
            assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]
            assert tree_actions(tree)[-1] == ("tree.reopened", "aborted_low_grade", "growing")
        else:
            # Its sibling group is unchanged and ranked: no new ranking, just scoring.
            assert built.tree.state == "scoring"
            assert needs(tree) == []
            assert tree_actions(tree)[-3:] == [
                ("tree.reopened", "aborted_low_grade", "growing"),
                ("tree.ranking", "growing", "ranking"),
                ("tree.scoring", "ranking", "scoring"),
            ]

    built.refresh()
    assert built.tree.state == state
    assert deleted_ids(tree) == []
    if stage == "ready_for_export":
        assert ranks(built) == {"a": 0, "b": 1}
        assert WorkItem.objects.filter(tree=tree, kind__in=RANK_KINDS).count() == 1


def test_the_root_of_a_prompt_rejected_in_review_can_be_deleted_and_undeleted(moderator):
    project_tree = flat_tree("prompt_review")
    root = project_tree.root
    review(root, [project_tree.reviewer], [SPAM_LABELS])
    project_tree.refresh()
    assert (project_tree.tree.state, project_tree.tree.halted_from_state) == (
        "aborted_low_grade",
        "",
    )

    assert post(moderator, f"/api/v1/messages/{root.pk}/delete").status_code == 200
    response = post(moderator, f"/api/v1/messages/{root.pk}/undelete")

    assert response.status_code == 200
    assert response.json()["deleted"] is False
    project_tree.refresh()
    # Rejected in review, it stays aborted: undeleting only makes the prompt visible.
    assert (project_tree.tree.state, project_tree.tree.halted_from_state) == (
        "aborted_low_grade",
        "",
    )
    assert needs(project_tree.tree) == []


def test_refused_deletes_and_undeletes_change_nothing(moderator):
    built = flat_tree("one_reply")
    reply, root = built.replies["a"], built.root
    post(moderator, f"/api/v1/messages/{reply.pk}/delete")
    before = everything()

    again = post(moderator, f"/api/v1/messages/{reply.pk}/delete")
    not_deleted = post(moderator, f"/api/v1/messages/{root.pk}/undelete")
    missing = post(moderator, "/api/v1/messages/999999/delete")
    bad_reason = post(moderator, f"/api/v1/messages/{reply.pk}/undelete", {"reason": 5})

    assert (again.status_code, again.json()) == (
        409,
        {"code": "already_deleted", "detail": "This message is already deleted."},
    )
    assert (not_deleted.status_code, not_deleted.json()) == (
        409,
        {"code": "not_deleted", "detail": "This message is not deleted."},
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "message_not_found")
    assert bad_reason.status_code == 400
    assert everything() == before


# --- Edit / revisions / revert ----------------------------------------------------------


def revisions(moderator, message: Message) -> list[dict]:  # type: ignore[no-untyped-def]
    from tests.moderation.builders import get

    response = get(moderator, f"/api/v1/messages/{message.pk}/revisions")
    assert response.status_code == 200
    return response.json()


def test_an_unedited_message_has_one_revision_its_current_text(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]

    assert [
        (r["id"], r["text"], r["editor_id"], r["reason"], r["is_current"])
        for r in revisions(moderator, reply)
    ] == [(None, reply.text, built.writers[0].pk, "", True)]


def test_edits_keep_every_revision_and_revert_makes_an_old_one_current(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    original = reply.text
    needs_before = needs(built.tree)

    first = post(
        moderator, f"/api/v1/messages/{reply.pk}/edit", {"text": "Fixed typo.", "reason": "typo"}
    )
    second = post(
        moderator,
        f"/api/v1/messages/{reply.pk}/edit",
        {"text": "  Removed a phone number.  ", "reason": "pii"},
    )

    assert (first.status_code, first.json()["text"]) == (200, "Fixed typo.")
    assert (second.status_code, second.json()["text"]) == (200, "Removed a phone number.")
    listed = revisions(moderator, reply)
    assert [(r["text"], r["editor_id"], r["reason"], r["is_current"]) for r in listed] == [
        (original, built.writers[0].pk, "", False),
        ("Fixed typo.", moderator.pk, "typo", False),
        ("Removed a phone number.", moderator.pk, "pii", True),
    ]
    assert [r["created_at"] for r in listed] == sorted(r["created_at"] for r in listed)
    event = last_event("message.edited")
    assert (event.actor_id, event.before, event.after, event.reason) == (
        moderator.pk,
        {"text": "Fixed typo."},
        {"text": "Removed a phone number."},
        "pii",
    )

    response = post(
        moderator,
        f"/api/v1/messages/{reply.pk}/revert",
        {"revision": listed[0]["id"], "reason": "undo"},
    )

    assert response.status_code == 200
    assert response.json()["text"] == original
    reply.refresh_from_db()
    assert reply.text == original
    assert [(r["text"], r["reason"], r["is_current"]) for r in revisions(moderator, reply)] == [
        (original, "", False),
        ("Fixed typo.", "typo", False),
        ("Removed a phone number.", "pii", False),
        (original, "undo", True),
    ]
    assert AuditEvent.objects.filter(action="message.edited", target_id=str(reply.pk)).count() == 3
    # Editing text changes no counts and no needs.
    assert needs(built.tree) == needs_before
    assert counts(built.tree) == {"messages": 2, "counting": 2, "deleted": 0}


def test_refused_edits_and_reverts_change_nothing(moderator):
    built = flat_tree("one_reply", max_message_length=50)
    reply, root = built.replies["a"], built.root
    post(moderator, f"/api/v1/messages/{reply.pk}/edit", {"text": "Shorter.", "reason": "x"})
    other_revision = MessageRevision.objects.filter(message=reply).first()
    before = everything()

    blank = post(moderator, f"/api/v1/messages/{reply.pk}/edit", {"text": "   "})
    same = post(moderator, f"/api/v1/messages/{reply.pk}/edit", {"text": "Shorter."})
    too_long = post(moderator, f"/api/v1/messages/{reply.pk}/edit", {"text": "x" * 51})
    no_text = post(moderator, f"/api/v1/messages/{reply.pk}/edit", {"reason": "nothing"})
    foreign = post(moderator, f"/api/v1/messages/{root.pk}/revert", {"revision": other_revision.pk})
    missing = post(moderator, "/api/v1/messages/999999/edit", {"text": "Hello"})

    assert [
        (r.status_code, r.json()["code"])
        for r in (blank, same, too_long, no_text, foreign, missing)
    ] == [
        (400, "blank"),
        (400, "unchanged"),
        (400, "too_long"),
        (400, "required"),
        (404, "revision_not_found"),
        (404, "message_not_found"),
    ]
    assert everything() == before


# --- Halt / resume / abort / reopen ------------------------------------------------------


def tree_for_halting(state: str):  # type: ignore[no-untyped-def]
    """A flat tree in ``state`` where a volunteer holds one slot of its open work."""
    built = flat_tree({"growing": "one_reply"}.get(state, state))
    holder = people(1)[0]
    live = (
        WorkItem.objects.filter(tree=built.tree, state="open", open_slots__gt=0)
        .order_by("pk")
        .first()
    )
    held = reserve(holder, live) if live is not None else None
    return built, held


@pytest.mark.parametrize("state", ["prompt_review", "backlog", "growing", "ranking", "scoring"])
def test_halt_and_resume_from_every_active_state(moderator, state):
    built, held = tree_for_halting(state)
    tree = built.tree
    assert built.tree.state == state
    before = needs(tree)
    assert (held is not None) == (state in ("prompt_review", "growing", "ranking"))

    response = post(moderator, f"/api/v1/trees/{tree.pk}/halt", {"reason": "looking into it"})

    assert response.status_code == 200
    assert response.json() == {
        "id": tree.pk,
        "project": built.project.slug,
        "lang": "en",
        "state": "halted",
        "halted_from_state": state,
    }
    # Paused, with the held slot given back.
    assert [
        (item.kind, item.target_id, item.state, item.open_slots)
        for item in WorkItem.objects.filter(tree=tree, state__in=["open", "paused"]).order_by("pk")
    ] == [
        (kind, target, "paused", required - completed)
        for kind, target, required, completed, _ in before
    ]
    if held is not None:
        held.refresh_from_db()
        assert held.state == "cancelled"
    event = last_event("tree.halted")
    assert (event.actor_id, event.before, event.after, event.reason) == (
        moderator.pk,
        {"state": state},
        {"state": "halted"},
        "looking into it",
    )

    with committed():
        response = post(moderator, f"/api/v1/trees/{tree.pk}/resume", {"reason": "fine"})
        assert response.status_code == 200
        assert (response.json()["state"], response.json()["halted_from_state"]) == (state, "")
        assert needs(tree) == [
            (kind, target, required, completed, required - completed)
            for kind, target, required, completed, _ in before
        ]

    # What the tree waited for when it was halted happens once the resume commits.
    built.refresh()
    assert built.tree.state == {"backlog": "growing", "scoring": "ready_for_export"}.get(
        state, state
    )
    assert last_event("tree.resumed").after == {"state": state}


@pytest.mark.parametrize(
    ("stage", "action", "code"),
    [
        ("ready_for_export", "halt", "invalid_tree_state"),
        ("growing", "resume", "invalid_tree_state"),
        ("growing", "reopen", "invalid_tree_state"),
    ],
)
def test_refused_tree_actions_change_nothing(moderator, stage, action, code):
    built = flat_tree(stage)
    before = everything()

    response = post(moderator, f"/api/v1/trees/{built.tree.pk}/{action}")

    assert (response.status_code, response.json()["code"]) == (409, code)
    assert response.json()["tree_state"] == stage
    assert everything() == before


def test_halting_twice_and_unknown_trees_are_refused(moderator):
    built = flat_tree("growing")
    post(moderator, f"/api/v1/trees/{built.tree.pk}/halt")
    before = everything()

    again = post(moderator, f"/api/v1/trees/{built.tree.pk}/halt")
    missing = post(moderator, "/api/v1/trees/999999/resume")

    assert (again.status_code, again.json()["code"], again.json()["tree_state"]) == (
        409,
        "invalid_tree_state",
        "halted",
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "tree_not_found")
    assert everything() == before


def test_abort_and_reopen_return_a_tree_to_where_it_was(moderator):
    built = flat_tree("one_reply")
    tree, root = built.tree, built.root
    holder = people(1)[0]
    held = reserve(holder, live_item(root, REPLY_KINDS))

    response = post(moderator, f"/api/v1/trees/{tree.pk}/abort", {"reason": "prompt is abuse"})

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["halted_from_state"]) == (
        "aborted_low_grade",
        "growing",
    )
    assert needs(tree) == []
    held.refresh_from_db()
    assert held.state == "cancelled"
    assert deleted_ids(tree) == []  # aborting hides nothing

    response = post(moderator, f"/api/v1/trees/{tree.pk}/reopen", {"reason": "it was not"})

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["halted_from_state"]) == ("growing", "")
    assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]
    assert tree_actions(tree)[-2:] == [
        ("tree.aborted", "growing", "aborted_low_grade"),
        ("tree.reopened", "aborted_low_grade", "growing"),
    ]


def test_a_tree_rejected_in_review_cannot_be_reopened(moderator):
    built = flat_tree("prompt_review")
    review(built.root, [built.reviewer], [SPAM_LABELS])
    before = everything()

    response = post(moderator, f"/api/v1/trees/{built.tree.pk}/reopen")

    assert (response.status_code, response.json()["code"]) == (409, "not_reopenable")
    assert everything() == before


# --- Ban / unban ------------------------------------------------------------------------


def troll_world():  # type: ignore[no-untyped-def]
    """A troll who wrote reply A of a growing tree, holds a reply slot of a second
    tree, and has one prompt waiting for review (which someone is reviewing) and one
    waiting for the lottery."""
    built = flat_tree("one_reply")
    troll = built.writers[0]
    project, reviewer = built.project, built.reviewer
    second_author, other_reviewer = people(2)
    second, second_root = growing_tree(project, second_author, [reviewer])
    held = reserve(troll, live_item(second_root, REPLY_KINDS))
    waiting_review = write_prompt(project, troll)
    reviewing = reserve(other_reviewer, live_item(waiting_review, ["label_initial_prompt"]))
    waiting_lottery = write_prompt(project, troll)
    review(waiting_lottery, [reviewer], [GOOD_LABELS])
    return {
        "built": built,
        "troll": troll,
        "second": second,
        "second_root": second_root,
        "held": held,
        "waiting_review": waiting_review,
        "reviewing": reviewing,
        "other_reviewer": other_reviewer,
        "waiting_lottery": waiting_lottery,
    }


def state_of(message: Message) -> tuple[str, str]:
    tree = Tree.objects.get(pk=message.tree_id)
    return tree.state, tree.halted_from_state


def test_a_ban_cancels_assignments_and_pulls_waiting_prompts_and_unban_undoes_it(moderator):
    world = troll_world()
    built, troll, second = world["built"], world["troll"], world["second"]
    review_tree, lottery_tree = world["waiting_review"].tree, world["waiting_lottery"].tree
    assert needs(second) == [("assistant_reply", world["second_root"].pk, 2, 0, 1)]
    first_tree_needs = needs(built.tree)

    response = post(moderator, f"/api/v1/users/{troll.pk}/ban", {"reason": "trolling"})

    assert response.status_code == 200
    assert response.json() == {
        "id": troll.pk,
        "username": troll.username,
        "display_name": "",
        "roles": ["volunteer"],
        "is_banned": True,
        "show_on_leaderboard": True,
    }
    world["held"].refresh_from_db()
    assert world["held"].state == "cancelled"
    assert needs(second) == [("assistant_reply", world["second_root"].pk, 2, 0, 2)]
    assert state_of(world["waiting_review"]) == ("aborted_low_grade", "prompt_review")
    assert state_of(world["waiting_lottery"]) == ("aborted_low_grade", "backlog")
    world["reviewing"].refresh_from_db()
    assert world["reviewing"].state == "cancelled"
    assert needs(review_tree) == []
    # Without hide_messages the troll's messages stay.
    assert Message.objects.filter(author=troll, is_deleted=True).count() == 0
    assert needs(built.tree) == first_tree_needs
    event = last_event("user.banned")
    assert (event.actor_id, event.target_id, event.reason, event.after) == (
        moderator.pk,
        str(troll.pk),
        "trolling",
        {
            "is_banned": True,
            "hide_messages": False,
            "aborted_trees": [review_tree.pk, lottery_tree.pk],
            "hidden_messages": 0,
            "cancelled_assignments": 1,
        },
    )
    refused = post(troll, "/api/v1/assignments/", {"project": built.project.slug, "lang": "en"})
    assert (refused.status_code, refused.json()["code"]) == (403, "banned")

    response = post(moderator, f"/api/v1/users/{troll.pk}/unban", {"reason": "apologised"})

    assert response.status_code == 200
    assert response.json()["is_banned"] is False
    assert state_of(world["waiting_review"]) == ("prompt_review", "")
    assert state_of(world["waiting_lottery"]) == ("backlog", "")
    # The prompt waiting for review gets its review item back, its author excluded.
    assert needs(review_tree) == [("label_initial_prompt", world["waiting_review"].pk, 1, 0, 1)]
    # A cancelled reservation stays cancelled; its slot stays free.
    world["held"].refresh_from_db()
    assert world["held"].state == "cancelled"
    assert needs(second) == [("assistant_reply", world["second_root"].pk, 2, 0, 2)]
    assert last_event("user.unbanned").after == {
        "is_banned": False,
        "restored_messages": 0,
        "reopened_trees": 2,
    }
    assert post(
        troll, "/api/v1/assignments/", {"project": built.project.slug, "lang": "en"}
    ).status_code in (
        201,
        204,
    )


def test_a_ban_hides_messages_only_when_asked_and_unban_restores_only_those(moderator):
    world = troll_world()
    built, troll = world["built"], world["troll"]
    root, reply = built.root, built.replies["a"]
    # A third prompt of the troll's was deleted by a moderator before the ban.
    deleted_before = write_prompt(built.project, troll)
    post(moderator, f"/api/v1/messages/{deleted_before.pk}/delete", {"reason": "separately"})
    assert needs(built.tree) == [("assistant_reply", root.pk, 2, 1, 1)]

    response = post(
        moderator, f"/api/v1/users/{troll.pk}/ban", {"reason": "spam", "hide_messages": True}
    )

    assert response.status_code == 200
    hidden = [reply.pk, world["waiting_review"].pk, world["waiting_lottery"].pk]
    assert sorted(
        Message.objects.filter(author=troll, is_deleted=True).values_list("pk", flat=True)
    ) == sorted([*hidden, deleted_before.pk])
    ban = last_event("user.banned")
    assert list(
        Message.objects.filter(deletion_event=ban).order_by("pk").values_list("pk", flat=True)
    ) == sorted(hidden)
    assert ban.after["hidden_messages"] == 3
    # Reply A no longer counts: its tree asks for a replacement.
    assert needs(built.tree) == [("assistant_reply", root.pk, 3, 1, 2)]
    assert state_of(world["waiting_review"]) == ("aborted_low_grade", "prompt_review")

    response = post(moderator, f"/api/v1/users/{troll.pk}/unban")

    assert response.status_code == 200
    assert list(
        Message.objects.filter(author=troll, is_deleted=True).values_list("pk", flat=True)
    ) == [deleted_before.pk]
    assert state_of(deleted_before) == ("aborted_low_grade", "prompt_review")
    assert needs(built.tree) == [("assistant_reply", root.pk, 2, 1, 1)]
    assert state_of(world["waiting_review"]) == ("prompt_review", "")
    assert state_of(world["waiting_lottery"]) == ("backlog", "")
    assert last_event("user.unbanned").after == {
        "is_banned": False,
        "restored_messages": 3,
        "reopened_trees": 2,
    }


def test_a_user_whose_prompt_was_rejected_can_be_banned_hidden_and_unbanned(moderator):
    built = flat_tree("prompt_review")
    review(built.root, [built.reviewer], [SPAM_LABELS])
    author = built.author

    banned = post(moderator, f"/api/v1/users/{author.pk}/ban", {"hide_messages": True})
    unbanned = post(moderator, f"/api/v1/users/{author.pk}/unban")

    assert (banned.status_code, unbanned.status_code) == (200, 200)
    assert deleted_ids(built.tree) == []
    built.refresh()
    assert (built.tree.state, built.tree.halted_from_state) == ("aborted_low_grade", "")


def test_refused_bans_change_nothing(moderator):
    built = flat_tree("one_reply")
    volunteer, admin = built.writers[1], with_role("admin")
    post(moderator, f"/api/v1/users/{volunteer.pk}/ban")
    before = everything()

    again = post(moderator, f"/api/v1/users/{volunteer.pk}/ban")
    not_banned = post(moderator, f"/api/v1/users/{built.author.pk}/unban")
    an_admin = post(moderator, f"/api/v1/users/{admin.pk}/ban")
    missing = post(moderator, "/api/v1/users/999999/ban")
    bad_flag = post(moderator, f"/api/v1/users/{built.author.pk}/ban", {"hide_messages": "maybe"})

    assert [
        (r.status_code, r.json()["code"]) for r in (again, not_banned, an_admin, missing, bad_flag)
    ] == [
        (409, "already_banned"),
        (409, "not_banned"),
        (409, "cannot_ban_admin"),
        (404, "user_not_found"),
        (400, "invalid"),
    ]
    assert everything() == before
    assert Assignment.objects.filter(state="cancelled").count() == 0
