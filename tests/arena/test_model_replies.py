"""Model replies in trees: asked for when a prompter message waits for replies, stored
as synthetic siblings that take a reply's place, reviewed and ranked like any reply."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.arena.model_replies import model_replies_request, model_reply_generate
from backend.arena.models import ModelReplyRequest
from backend.arena.services import arena_settings_update, model_endpoint_create
from backend.assignments.models import WorkItem
from backend.trees.models import Message
from tests.factories import committed, growing_tree, people, review, small_project
from tests.helpers import claim, submit

pytestmark = pytest.mark.django_db


def model_reply_project(fake_models, names, per_parent):
    project = small_project()
    author, reviewer = people(2)
    tree, root = growing_tree(project, author, [reviewer])
    for name in names:
        model_endpoint_create(name=name, base_url=fake_models.base_url, model=name)
    arena_settings_update(
        project=project,
        changes={"model_reply_models": list(names), "model_replies_per_parent": per_parent},
        actor_id=None,
    )
    return project, tree, root


def test_off_by_default(fake_models) -> None:
    project = small_project()
    author, reviewer = people(2)
    growing_tree(project, author, [reviewer])
    model_endpoint_create(name="fast-x", base_url=fake_models.base_url, model="fast-x")
    assert model_replies_request() == 0
    assert fake_models.calls == {}


def test_model_replies_become_ranked_siblings(fake_models, make_user, client_for) -> None:
    project, _tree, root = model_reply_project(fake_models, ["fast-m1", "fast-m2"], 2)
    item = WorkItem.objects.get(target=root, kind="assistant_reply")
    assert item.required == 2
    with committed():
        assert model_replies_request() == 2
    replies = list(Message.objects.filter(parent=root).order_by("model_name"))
    assert [(m.synthetic, m.model_name, m.author_id, m.role) for m in replies] == [
        (True, "fast-m1", None, "assistant"),
        (True, "fast-m2", None, "assistant"),
    ]
    assert replies[0].text.startswith("[Canned demo reply, not a real model]")
    assert fake_models.requests[0]["messages"] == [{"role": "user", "content": root.text}]
    item.refresh_from_db()
    assert (item.state, item.completed_count, item.open_slots) == ("closed", 2, 0)
    assert list(ModelReplyRequest.objects.values_list("state", flat=True)) == [
        "stored",
        "stored",
    ]
    # Asking again owes nothing more, and a second run of a request stores nothing.
    assert model_replies_request() == 0
    first = ModelReplyRequest.objects.order_by("pk").first()
    assert model_reply_generate(request_id=first.pk) == "stored"
    assert Message.objects.filter(parent=root).count() == 2

    # Reviewed and ranked like any reply; volunteers see no model names.
    reviewer, ranker = people(2)
    for reply in replies:
        review(reply, [reviewer])
    volunteer = client_for(ranker)
    assignment = claim(volunteer, project.slug, kind="rank_assistant_replies")
    assert assignment.status_code == 201, assignment.content
    shown = assignment.json()
    assert sorted(candidate["id"] for candidate in shown["candidates"]) == sorted(
        r.pk for r in replies
    )
    assert "model_name" not in str(shown["candidates"])
    with committed():
        ranked = submit(volunteer, shown["id"], {"ranking": [replies[1].pk, replies[0].pk]})
    assert ranked.status_code == 200, ranked.content
    ranks = dict(Message.objects.filter(parent=root).values_list("model_name", "rank"))
    assert ranks == {"fast-m2": 0, "fast-m1": 1}, ranks  # 0 is the best

    board = client_for(make_user(Role.RESEARCHER)).get(
        f"/api/v1/projects/{project.slug}/model-leaderboard", {"sources": "rankings"}
    )
    rows = board.json()
    assert [(row["model"], row["wins"], row["losses"]) for row in rows] == [
        ("fast-m2", 1, 0),
        ("fast-m1", 0, 1),
    ]


def test_a_failing_model_leaves_the_place_to_volunteers(fake_models) -> None:
    _project, _tree, root = model_reply_project(fake_models, ["error-m"], 1)
    with committed():
        assert model_replies_request() == 1
    request = ModelReplyRequest.objects.get()
    assert request.state == "failed"
    assert request.error.startswith("HTTP 500")
    assert not Message.objects.filter(parent=root).exists()
    item = WorkItem.objects.get(target=root, kind="assistant_reply")
    assert (item.state, item.open_slots, item.completed_count) == ("open", 2, 0)


def test_no_reply_is_stored_once_volunteers_filled_the_places(fake_models) -> None:
    _project, _tree, root = model_reply_project(fake_models, ["fast-late"], 1)
    assert model_replies_request() == 1  # owed, not yet generated (no commit)
    WorkItem.objects.filter(target=root, kind="assistant_reply").update(open_slots=0)
    request = ModelReplyRequest.objects.get()
    assert model_reply_generate(request_id=request.pk) == "skipped"
    assert not Message.objects.filter(parent=root).exists()


def test_a_model_reply_flagged_by_quality_signals_is_held_until_moderated(fake_models) -> None:
    from backend.assignments.lottery import trees_activate_waiting
    from backend.moderation.models import QueueItem
    from backend.moderation.services import queue_item_resolve
    from tests.factories import write_prompt

    project = small_project()
    author, reviewer = people(2)
    root = write_prompt(
        project, author, text="Please write to alice.liddell@example.org about the tea party."
    )
    review(root, [reviewer])
    trees_activate_waiting(project_id=project.pk, lang="en")
    model_endpoint_create(name="fast-echo", base_url=fake_models.base_url, model="fast-echo")
    arena_settings_update(
        project=project,
        changes={"model_reply_models": ["fast-echo"], "model_replies_per_parent": 1},
        actor_id=None,
    )
    with committed():
        assert model_replies_request() == 1
    reply = Message.objects.get(parent=root)
    assert reply.synthetic is True
    assert "alice.liddell@example.org" in reply.text  # the fake model echoes the prompt
    review_item = WorkItem.objects.get(target=reply)
    assert review_item.state == "paused"  # held out of tasks
    queue_item = QueueItem.objects.get(message=reply)
    moderator = people(1)[0]
    moderator.is_staff = True
    moderator.save()
    with committed():
        queue_item_resolve(item_id=queue_item.pk, moderator_id=moderator.pk, action="dismiss")
    review_item.refresh_from_db()
    assert review_item.state == "open"
