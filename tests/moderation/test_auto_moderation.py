"""Auto-moderation: red flags delete a reply's subtree or abort a tree at its root,
skipped replies queue and then halt a tree; per-project thresholds; every automatic
action is in the audit log with no actor, can be undone by a moderator, and is not
redone by the next signal once a moderator has undone it."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.moderation.models import QueueItem
from backend.trees.models import Tree
from tests.factories import committed, people
from tests.moderation.builders import counts, deep_tree, deleted_ids, flat_tree, needs, post

pytestmark = pytest.mark.django_db


def flag(user, message) -> int:  # type: ignore[no-untyped-def]
    response = post(user, f"/api/v1/messages/{message.pk}/reactions", {"emoji": "red_flag"})
    assert response.status_code in (200, 201), response.content
    return response.status_code


def red_flag_item() -> tuple[int, dict]:
    item = QueueItem.objects.get(reason="red_flag")
    return item.occurrences, item.details


def automatic_events() -> list[tuple[str, str, dict, str]]:
    """Audit events of actions nobody took by hand (moderation's, not the lifecycle's)."""
    return [
        (event.action, event.target_id, event.after, event.reason)
        for event in AuditEvent.objects.filter(
            actor__isnull=True, reason__startswith="automatic"
        ).order_by("pk")
    ]


def state(tree: Tree) -> tuple[str, str]:
    tree.refresh_from_db()
    return tree.state, tree.halted_from_state


# --- Red flags ---------------------------------------------------------------------------


def test_the_fourth_red_flag_deletes_a_replys_subtree_and_a_moderator_can_undo_it(moderator):
    built = deep_tree()
    tree, a = built.tree, built.replies["a"]
    subtree = [a.pk, built.replies["a1"].pk, built.replies["a2"].pk]
    flaggers = people(5)

    assert [flag(user, a) for user in flaggers[:3]] == [201, 201, 201]
    assert flag(flaggers[0], a) == 200  # the same person twice counts once

    assert deleted_ids(tree) == []
    assert red_flag_item() == (3, {"red_flags": 3})
    assert automatic_events() == []

    assert flag(flaggers[3], a) == 201

    assert deleted_ids(tree) == subtree
    assert red_flag_item() == (4, {"red_flags": 4})
    assert state(tree) == ("growing", "")
    # The prompt lost reply A: one replacement is asked for.
    assert needs(tree) == [("assistant_reply", built.root.pk, 1, 0, 1)]
    assert automatic_events() == [
        (
            "message.deleted",
            str(a.pk),
            {"deleted": True, "subtree": subtree},
            "automatic: 4 red flags",
        ),
        ("tree.regrowing", str(tree.pk), {"state": "growing"}, "automatic: 4 red flags"),
    ]

    # Reversible: the moderator restores it, and the tree is whole again.
    assert (
        post(moderator, f"/api/v1/messages/{a.pk}/undelete", {"reason": "fine"}).status_code == 200
    )
    assert deleted_ids(tree) == []
    assert counts(tree) == {"messages": 7, "counting": 7, "deleted": 0}
    assert needs(tree) == []
    assert state(tree) == ("scoring", "")

    # The moderator decided: a fifth flag is counted, not acted on again.
    assert flag(flaggers[4], a) == 201
    assert deleted_ids(tree) == []
    assert red_flag_item() == (5, {"red_flags": 5})
    assert len(automatic_events()) == 2


def test_the_fourth_red_flag_on_a_prompt_aborts_its_tree_and_reopening_undoes_it(moderator):
    built = flat_tree("one_reply")
    tree, root = built.tree, built.root
    flaggers = people(5)

    for user in flaggers[:4]:
        flag(user, root)

    assert state(tree) == ("aborted_low_grade", "growing")
    assert deleted_ids(tree) == []  # aborted, nothing hidden
    assert needs(tree) == []
    assert automatic_events() == [
        ("tree.aborted", str(tree.pk), {"state": "aborted_low_grade"}, "automatic: 4 red flags")
    ]

    response = post(moderator, f"/api/v1/trees/{tree.pk}/reopen", {"reason": "fine"})

    assert response.status_code == 200
    assert state(tree) == ("growing", "")
    assert needs(tree) == [("assistant_reply", root.pk, 1, 0, 1)]
    flag(flaggers[4], root)
    assert state(tree) == ("growing", "")
    assert red_flag_item() == (5, {"red_flags": 5})


@pytest.mark.parametrize(
    ("threshold", "flags", "deleted"), [(2, 2, True), (2, 1, False), (6, 5, False)]
)
def test_the_red_flag_threshold_is_a_project_setting(threshold, flags, deleted):
    built = flat_tree("one_reply", auto_delete_red_flags=threshold)
    reply = built.replies["a"]

    for user in people(flags):
        flag(user, reply)

    assert deleted_ids(built.tree) == ([reply.pk] if deleted else [])
    assert red_flag_item() == (flags, {"red_flags": flags})
    expected = [("message.deleted", str(reply.pk))] if deleted else []
    assert [(action, target) for action, target, _, _ in automatic_events()] == expected


# --- Skipped replies ----------------------------------------------------------------------


def skip_a_reply(user, project_slug: str) -> None:  # type: ignore[no-untyped-def]
    """``user`` takes a reply assignment and skips it; the check runs after the commit."""
    with committed():
        claimed = post(
            user,
            "/api/v1/assignments/",
            {"project": project_slug, "lang": "en", "kind": "assistant_reply"},
        )
        assert claimed.status_code == 201, claimed.content
        skipped = post(
            user, f"/api/v1/assignments/{claimed.json()['id']}/skip", {"reason": "too hard"}
        )
        assert skipped.status_code == 200, skipped.content


def many_skips() -> tuple[int, dict] | None:
    item = QueueItem.objects.filter(reason="many_skips").first()
    return None if item is None else (item.occurrences, item.details)


def test_the_tenth_skipped_reply_queues_a_tree_and_the_twenty_fifth_halts_it(moderator):
    built = flat_tree("growing")
    project, tree = built.project, built.tree
    assert (project.queue_reply_skips, project.auto_halt_reply_skips) == (10, 25)
    skippers = people(26)

    for user in skippers[:9]:
        skip_a_reply(user, project.slug)
    assert many_skips() is None

    skip_a_reply(skippers[9], project.slug)
    assert many_skips() == (1, {"reply_skips": 10})
    item = QueueItem.objects.get()
    assert (item.tree_id, item.message_id, item.state) == (tree.pk, None, "open")

    for user in skippers[10:24]:
        skip_a_reply(user, project.slug)
    assert many_skips() == (15, {"reply_skips": 24})
    assert state(tree) == ("growing", "")

    skip_a_reply(skippers[24], project.slug)
    assert many_skips() == (16, {"reply_skips": 25})
    assert state(tree) == ("halted", "growing")
    assert [(a, t, r) for a, t, _, r in automatic_events()] == [
        ("tree.halted", str(tree.pk), "automatic: 25 skipped replies")
    ]
    assert needs(tree) == [("assistant_reply", built.root.pk, 2, 0, 2)]

    # Reversible: the moderator resumes it, and the next skip does not halt it again.
    assert post(moderator, f"/api/v1/trees/{tree.pk}/resume").status_code == 200
    skip_a_reply(skippers[25], project.slug)
    assert state(tree) == ("growing", "")
    assert many_skips() == (17, {"reply_skips": 26})
    assert len(automatic_events()) == 1


def test_the_skip_thresholds_are_project_settings(moderator):
    built = flat_tree("growing", queue_reply_skips=2, auto_halt_reply_skips=3)
    skippers = people(3)

    skip_a_reply(skippers[0], built.project.slug)
    assert many_skips() is None
    skip_a_reply(skippers[1], built.project.slug)
    assert many_skips() == (1, {"reply_skips": 2})
    assert state(built.tree) == ("growing", "")
    skip_a_reply(skippers[2], built.project.slug)
    assert many_skips() == (2, {"reply_skips": 3})
    assert state(built.tree) == ("halted", "growing")


def test_skipped_reviews_do_not_count_as_skipped_replies():
    built = flat_tree("prompt_review", queue_reply_skips=1)
    skipper = people(1)[0]

    with committed():
        claimed = post(
            skipper,
            "/api/v1/assignments/",
            {"project": built.project.slug, "lang": "en", "kind": "label_initial_prompt"},
        )
        assert claimed.status_code == 201
        post(skipper, f"/api/v1/assignments/{claimed.json()['id']}/skip")

    assert many_skips() is None
    assert state(built.tree) == ("prompt_review", "")
