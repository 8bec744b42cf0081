"""What a moderator deleted stays hidden from everyone else on the API: the message
and the subtree its deletion hid are listed (``deleted: true``) with ``text: null``,
as the web tree viewer shows them. Moderators and admins still read everything."""

from __future__ import annotations

import pytest

from tests.api.scenario import PROMPT_TEXT, REPLY_TEXTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleted(world_at, make_user, client_for):  # type: ignore[no-untyped-def]
    """A ranking-stage tree whose prompt a moderator deleted (with both replies)."""
    world = world_at("ranking")
    moderator = make_user("moderator")
    response = client_for(moderator).post(
        f"/api/v1/messages/{world.root.pk}/delete", {"reason": "spam"}, format="json"
    )
    assert response.status_code == 200, response.content
    world.refresh()
    assert world.root.is_deleted and all(reply.is_deleted for reply in world.replies)
    return world, moderator


def texts_of_tree(client, tree_id):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/trees/{tree_id}")
    assert response.status_code == 200, response.content
    return {m["id"]: (m["text"], m["deleted"]) for m in response.json()["messages"]}


@pytest.mark.parametrize("role", ["volunteer", "researcher"])
def test_others_see_deleted_messages_without_their_text(deleted, make_user, client_for, role):
    world, _moderator = deleted
    client = client_for(make_user(role))
    ids = [world.root.pk, *(reply.pk for reply in world.replies)]

    tree = texts_of_tree(client, world.tree.pk)
    single = [client.get(f"/api/v1/messages/{pk}") for pk in ids]

    assert tree == {pk: (None, True) for pk in ids}
    assert [(r.status_code, r.json()["text"], r.json()["deleted"]) for r in single] == [
        (200, None, True)
    ] * 3


def test_the_author_of_a_deleted_message_does_not_see_its_text_either(deleted):
    world, _moderator = deleted

    response = world.client(world.alice).get(f"/api/v1/messages/{world.root.pk}")

    assert (response.json()["text"], response.json()["deleted"]) == (None, True)


def test_moderators_and_admins_still_read_deleted_text(deleted, make_user, client_for):
    world, moderator = deleted
    admin = make_user()
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    expected = {
        world.root.pk: (PROMPT_TEXT, True),
        **{reply.pk: (text, True) for reply, text in zip(world.replies, REPLY_TEXTS, strict=True)},
    }

    for user in (moderator, admin):
        client = client_for(user)
        assert texts_of_tree(client, world.tree.pk) == expected
        assert client.get(f"/api/v1/messages/{world.root.pk}").json()["text"] == PROMPT_TEXT


def test_messages_a_ban_hid_lose_their_text_and_come_back_with_the_unban(
    world_at, make_user, client_for
):
    world = world_at("ranking")
    moderator = client_for(make_user("moderator"))
    bobs_reply = world.replies[0]
    volunteer = world.client(world.dave)

    banned = moderator.post(
        f"/api/v1/users/{world.bob.pk}/ban", {"hide_messages": True}, format="json"
    )
    hidden = volunteer.get(f"/api/v1/messages/{bobs_reply.pk}").json()
    moderator.post(f"/api/v1/users/{world.bob.pk}/unban", {}, format="json")
    shown = volunteer.get(f"/api/v1/messages/{bobs_reply.pk}").json()

    assert banned.status_code == 200
    assert (hidden["text"], hidden["deleted"]) == (None, True)
    assert (shown["text"], shown["deleted"]) == (REPLY_TEXTS[0], False)


def test_live_messages_keep_their_text_for_volunteers(world_at):
    world = world_at("ranking")

    tree = texts_of_tree(world.client(world.dave), world.tree.pk)

    assert tree[world.root.pk] == (PROMPT_TEXT, False)
