"""Contract of GET /api/v1/trees/{id} and GET /api/v1/messages/{id}."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.consensus.selectors import message_consensus_extras
from backend.quality.selectors import quality_payloads
from backend.trees.models import Message, Tree
from tests.api.scenario import PROMPT_TEXT, REPLY_TEXTS, claim_ok, db_snapshot, iso, submit_ok

pytestmark = pytest.mark.django_db

PRIVILEGED_ROLES = ("moderator", "researcher", "admin")


def expected_message(message: Message, *, with_author: bool = False) -> dict:
    body = {
        "id": message.pk,
        "tree_id": message.tree_id,
        "parent_id": message.parent_id,
        "role": message.role,
        "text": message.text,
        "lang": message.lang,
        "depth": message.depth,
        "review_count": message.review_count,
        "review_result": message.review_result,
        "rank": message.rank,
        "deleted": message.is_deleted,
        "created_at": iso(message.created_at),
        "score": None,
    }
    if with_author:
        # Who wrote it, a person or a model: only for the roles that see authors.
        body["synthetic"] = message.synthetic
        body["model_name"] = message.model_name or None
        body["author_id"] = message.author_id
        # The roles that see authors see the quality signals too (docs/quality.md).
        body["quality"] = quality_payloads([message.pk])[message.pk]
    return body


def expected_message_detail(message: Message, *, with_author: bool = False) -> dict:
    """The message endpoint adds the message's consensus (its content is tested in
    tests/consensus; here only that it is the selector's, as JSON)."""
    consensus = message_consensus_extras([message.pk])[message.pk]
    return {**expected_message(message, with_author=with_author), "consensus": consensus}


def test_a_tree_lists_every_message_those_under_review_too(world_at):
    world = world_at("replies_in_review")
    response = world.client(world.dave).get(f"/api/v1/trees/{world.tree.pk}")
    assert response.status_code == 200
    r0, r1 = world.replies
    assert response.json() == {
        "id": world.tree.pk,
        "project": world.project.slug,
        "lang": "en",
        "state": "growing",
        "messages": [
            {
                "id": world.root.pk,
                "tree_id": world.tree.pk,
                "parent_id": None,
                "role": "prompter",
                "text": PROMPT_TEXT,
                "lang": "en",
                "depth": 0,
                "review_count": 1,
                "review_result": True,
                "rank": None,
                "deleted": False,
                "created_at": iso(world.root.created_at),
                "score": None,
            },
            *(
                {
                    "id": reply.pk,
                    "tree_id": world.tree.pk,
                    "parent_id": world.root.pk,
                    "role": "assistant",
                    "text": text,
                    "lang": "en",
                    "depth": 1,
                    "review_count": 0,
                    "review_result": None,
                    "rank": None,
                    "deleted": False,
                    "created_at": iso(reply.created_at),
                    "score": None,
                }
                for reply, text in ((r0, REPLY_TEXTS[0]), (r1, REPLY_TEXTS[1]))
            ),
        ],
        "ranking_groups": [],
    }


def test_deleted_and_synthetic_messages_are_shown_as_such(world_at, make_user, client_for):
    world = world_at("replies_in_review")
    r0, r1 = world.replies
    Message.objects.filter(pk=r0.pk).update(is_deleted=True)
    Message.objects.filter(pk=r1.pk).update(synthetic=True, model_name="tiny-llm-1")
    researcher = client_for(make_user(role="researcher"))
    messages = researcher.get(f"/api/v1/trees/{world.tree.pk}").json()["messages"]
    by_id = {message["id"]: message for message in messages}
    assert (by_id[r0.pk]["deleted"], by_id[r0.pk]["synthetic"]) == (True, False)
    assert (by_id[r1.pk]["synthetic"], by_id[r1.pk]["model_name"]) == (True, "tiny-llm-1")
    # Volunteers rank model replies beside human ones without knowing which is which.
    for_volunteer = world.client(world.dave).get(f"/api/v1/trees/{world.tree.pk}").json()
    by_id = {message["id"]: message for message in for_volunteer["messages"]}
    assert by_id[r0.pk]["deleted"] is True
    assert "synthetic" not in by_id[r1.pk] and "model_name" not in by_id[r1.pk]
    single = world.client(world.dave).get(f"/api/v1/messages/{r1.pk}").json()
    assert "synthetic" not in single and "model_name" not in single


def test_authors_are_hidden_from_volunteers(world_at):
    world = world_at("ranking")
    for user in (world.alice, world.dave):  # an author and a bystander
        body = world.client(user).get(f"/api/v1/trees/{world.tree.pk}").json()
        assert body["messages"]
        assert all("author_id" not in message for message in body["messages"])
        single = world.client(user).get(f"/api/v1/messages/{world.root.pk}").json()
        assert "author_id" not in single


@pytest.mark.parametrize("role", PRIVILEGED_ROLES)
def test_authors_are_shown_to_moderators_researchers_and_admins(
    world_at, make_user, client_for, role
):
    world = world_at("ranking")
    client = client_for(make_user(role=role))
    body = client.get(f"/api/v1/trees/{world.tree.pk}").json()
    assert [message["author_id"] for message in body["messages"]] == [
        world.alice.pk,
        world.bob.pk,
        world.carol.pk,
    ]
    assert body["messages"] == [
        expected_message(message, with_author=True) for message in (world.root, *world.replies)
    ]
    single = client.get(f"/api/v1/messages/{world.replies[1].pk}")
    assert single.json() == expected_message_detail(world.replies[1], with_author=True)


def test_a_message(world_at):
    world = world_at("replies_in_review")
    response = world.client(world.dave).get(f"/api/v1/messages/{world.replies[0].pk}")
    assert response.status_code == 200
    assert response.json() == expected_message_detail(world.replies[0])
    assert response.json()["parent_id"] == world.root.pk


@pytest.mark.parametrize("path", ["trees", "messages"])
def test_unknown_ids_are_404(world_at, path):
    world = world_at("prompt_review")
    code = {"trees": "tree_not_found", "messages": "message_not_found"}[path]
    detail = {"trees": "No such tree.", "messages": "No such message."}[path]
    for missing in (world.tree.pk + world.root.pk + 1000, 2**62, 10**30):
        response = world.client(world.dave).get(f"/api/v1/{path}/{missing}")
        assert response.status_code == 404, missing
        assert response.json() == {"code": code, "detail": detail}
    # Not an integer: no such route.
    response = world.client(world.dave).get(f"/api/v1/{path}/abc")
    assert response.status_code == 404


def test_a_banned_volunteer_can_still_read(world_at):
    world = world_at("ranking")
    User.objects.filter(pk=world.dave.pk).update(is_banned=True)
    client = world.client(world.dave)
    assert client.get(f"/api/v1/trees/{world.tree.pk}").status_code == 200
    assert client.get(f"/api/v1/messages/{world.root.pk}").status_code == 200


def test_trees_and_messages_are_read_only(world_at):
    world = world_at("prompt_review")
    client = world.client(world.dave)
    before = db_snapshot()
    for method in ("post", "put", "patch", "delete"):
        for path in (f"/api/v1/trees/{world.tree.pk}", f"/api/v1/messages/{world.root.pk}"):
            if method == "patch" and "/messages/" in path:
                continue  # an author edits their own text (tests/moderation/test_own_edits.py)
            response = getattr(client, method)(path, {"state": "halted"}, format="json")
            assert response.status_code == 405
            assert response.json()["code"] == "method_not_allowed"
    assert db_snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_ranks_appear_once_the_tree_is_scored(world_at):
    """With on-commit work running (Celery eager), a ranking finishes the tree."""
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    r0, r1 = world.replies
    submit_ok(client, assignment["id"], {"ranking": [r1.pk, r0.pk]})
    assert Tree.objects.get(pk=world.tree.pk).state == "ready_for_export"

    body = client.get(f"/api/v1/trees/{world.tree.pk}").json()
    assert body["state"] == "ready_for_export"
    assert {message["id"]: message["rank"] for message in body["messages"]} == {
        world.root.pk: None,
        r1.pk: 0,
        r0.pk: 1,
    }
    assert client.get(f"/api/v1/messages/{r1.pk}").json()["rank"] == 0
