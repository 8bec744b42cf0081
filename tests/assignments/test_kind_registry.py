"""The task-kind registry: a kind added in one module (``fact_check_kind``) is claimed
and submitted end to end through HTTP, offered by "any", drawn by the task page and
kept from the author of what it shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from backend.assignments.models import LabelVote, WorkItem
from backend.assignments.registry import get_kind, kind_names, register, unregister
from backend.common.events import MessageReviewed, subscribe, unsubscribe
from tests.api.scenario import World
from tests.assignments.fact_check_kind import FactCheck, on_message_reviewed
from tests.helpers import GOOD_LABELS, claim, submit

pytestmark = pytest.mark.django_db

NAME = FactCheck.name


@pytest.fixture
def fact_check() -> Iterator[FactCheck]:
    spec = register(FactCheck())
    subscribe(MessageReviewed, on_message_reviewed)
    yield spec
    unsubscribe(MessageReviewed, on_message_reviewed)
    unregister(NAME)


def accepted_replies(world_at) -> World:  # type: ignore[no-untyped-def]
    """Two assistant replies, both accepted in review (by alice), in a tree that goes on
    growing (starting to rank would close every open item of the tree)."""
    world: World = world_at("replies_in_review", goal_tree_size=10, max_depth=3)
    for _ in world.replies:
        assignment = claim(world.client(world.alice), world.project.slug, "label_assistant_reply")
        assert assignment.status_code == 201
        assert (
            submit(
                world.client(world.alice), assignment.json()["id"], {"labels": GOOD_LABELS}
            ).status_code
            == 200
        )
    return world


def test_the_built_in_kinds_are_registered_in_page_order():
    assert kind_names() == [
        "initial_prompt",
        "assistant_reply",
        "prompter_reply",
        "label_initial_prompt",
        "label_assistant_reply",
        "label_prompter_reply",
        "rank_assistant_replies",
        "rank_prompter_replies",
        "compare_model_replies",  # the arena's, registered when its app starts
        "write_arena_prompt",
    ]
    with pytest.raises(ValueError, match="registered already"):
        register(type(get_kind("initial_prompt"))())  # type: ignore[misc]
    with pytest.raises(ValueError, match="other than 'any'"):
        register(type("Any", (FactCheck,), {"name": "any"})())


def test_a_new_kind_is_claimed_and_submitted_over_http(world_at, fact_check):
    world = accepted_replies(world_at)
    items = WorkItem.objects.filter(kind=NAME).order_by("target_id")
    assert [(item.target_id, item.required) for item in items] == [
        (reply.pk, 2) for reply in world.replies
    ]

    # bob wrote the first reply: he is only offered the other one.
    claimed = claim(world.client(world.bob), world.project.slug, NAME)
    assert claimed.status_code == 201
    body = claimed.json()
    assert (body["kind"], body["tree_id"], body["candidates"]) == (NAME, world.tree.pk, [])
    assert body["conversation"][-1]["id"] == world.replies[1].pk
    assert body["labels"] == [{"name": "factually_wrong", "kind": "flag", "mandatory": True}]

    refused = submit(world.client(world.bob), body["id"], {"labels": {"factually_wrong": 0.5}})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_value")
    done = submit(world.client(world.bob), body["id"], {"labels": {"factually_wrong": 1}})
    assert done.status_code == 200
    assert done.json()["assignment"]["state"] == "submitted"
    vote = LabelVote.objects.get(label="factually_wrong")
    assert (vote.message_id, vote.user_id, vote.value) == (world.replies[1].pk, world.bob.pk, 1.0)
    assert WorkItem.objects.get(target=world.replies[1], kind=NAME).completed_count == 1

    # bob may not check the same reply twice, nor his own: nothing left for him.
    assert claim(world.client(world.bob), world.project.slug, NAME).status_code == 204


def test_any_offers_the_new_kind_and_the_task_page_draws_it(world_at, fact_check):
    world = accepted_replies(world_at)
    world.project.assignment_weights = {NAME: 1.0}  # others not weighed: their defaults…
    for name in kind_names():
        if name != NAME:
            world.project.assignment_weights[name] = 0  # … here none, to see this one
    world.project.save(update_fields=["assignment_weights"])

    claimed = claim(world.client(world.dave), world.project.slug, "any")
    assert (claimed.status_code, claimed.json()["kind"]) == (201, NAME)

    browser = Client()
    browser.force_login(world.dave)
    page = browser.get(f"/task/{claimed.json()['id']}/").content.decode()
    assert "Check the facts of a reply" in page
    assert 'data-label-name="factually_wrong"' in page


def test_a_kind_is_claimable_only_while_registered(world_at, fact_check):
    world: World = world_at("empty")
    assert claim(world.client(world.bob), world.project.slug, NAME).status_code == 204
    unregister(NAME)

    refused = claim(world.client(world.bob), world.project.slug, NAME)

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_choice"
