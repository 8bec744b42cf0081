"""Who may do what: every moderation endpoint × anonymous, volunteer, researcher,
moderator and admin; reports for every signed-in user; banned users refused on writes;
and no role granting for moderators (Django admin is for staff only).

A refused call answers 401 ``not_authenticated`` or 403 ``permission_denied`` and
changes nothing; a permitted one answers 200 (201 for a new note) and does its work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from backend.accounts.models import User
from backend.moderation.models import QueueItem, UserNote
from backend.trees.models import Message, Tree
from tests.factories import growing_tree, people
from tests.moderation.builders import Built, api, everything, flat_tree, post, with_role

pytestmark = pytest.mark.django_db


@dataclass
class Call:
    method: str
    url: str
    body: dict[str, Any] | None = None
    expected: int = 200


def _report_item(built: Built) -> QueueItem:
    assert (
        post(
            built.voter, f"/api/v1/messages/{built.replies['a'].pk}/reports", {"reason": "spam"}
        ).status_code
        == 201
    )
    return QueueItem.objects.get()


def _another_tree(built: Built) -> Tree:
    tree, _ = growing_tree(built.project, people(1)[0], [built.reviewer])
    return tree


def _done_by_moderator(built: Built, url: str, body: dict[str, Any] | None = None) -> None:
    helper = with_role("moderator", username="helper-mod")
    assert post(helper, url, body).status_code == 200


# Each endpoint: how to reach it in a fresh world (built = flat_tree("one_reply")), and
# how to check that a permitted call did its work.
SETUPS: dict[str, Callable[[Built], Call]] = {
    "queue": lambda built: (_report_item(built), Call("get", "/api/v1/moderation/queue"))[1],
    "claim": lambda built: Call("post", f"/api/v1/moderation/queue/{_report_item(built).pk}/claim"),
    "next": lambda built: (_report_item(built), Call("post", "/api/v1/moderation/queue/next"))[1],
    "release": lambda built: (
        _done_by_moderator(built, f"/api/v1/moderation/queue/{_report_item(built).pk}/claim"),
        # Only the holder may release: a permitted caller who is not gets 409, not 403.
        Call(
            "post",
            f"/api/v1/moderation/queue/{QueueItem.objects.get().pk}/release",
            expected=409,
        ),
    )[1],
    "resolve": lambda built: Call(
        "post",
        f"/api/v1/moderation/queue/{_report_item(built).pk}/resolve",
        {"action": "dismiss", "note": "ok"},
    ),
    "trollboard": lambda built: Call("get", "/api/v1/moderation/trollboard"),
    "audit_log": lambda built: Call("get", "/api/v1/audit-log"),
    "audit_log_csv": lambda built: Call("get", "/api/v1/audit-log?format=csv"),
    "halt": lambda built: Call(
        "post", f"/api/v1/trees/{_another_tree(built).pk}/halt", {"reason": "r"}
    ),
    "resume": lambda built: (
        _done_by_moderator(built, f"/api/v1/trees/{built.tree.pk}/halt"),
        Call("post", f"/api/v1/trees/{built.tree.pk}/resume", {"reason": "r"}),
    )[1],
    "abort": lambda built: Call(
        "post", f"/api/v1/trees/{_another_tree(built).pk}/abort", {"reason": "r"}
    ),
    "reopen": lambda built: (
        _done_by_moderator(built, f"/api/v1/trees/{built.tree.pk}/abort"),
        Call("post", f"/api/v1/trees/{built.tree.pk}/reopen", {"reason": "r"}),
    )[1],
    "delete": lambda built: Call(
        "post", f"/api/v1/messages/{built.replies['a'].pk}/delete", {"reason": "r"}
    ),
    "undelete": lambda built: (
        _done_by_moderator(built, f"/api/v1/messages/{built.replies['a'].pk}/delete"),
        Call("post", f"/api/v1/messages/{built.replies['a'].pk}/undelete", {"reason": "r"}),
    )[1],
    "edit": lambda built: Call(
        "post", f"/api/v1/messages/{built.replies['a'].pk}/edit", {"text": "Better.", "reason": "r"}
    ),
    "revert": lambda built: (
        _done_by_moderator(
            built, f"/api/v1/messages/{built.replies['a'].pk}/edit", {"text": "Changed."}
        ),
        Call(
            "post",
            f"/api/v1/messages/{built.replies['a'].pk}/revert",
            {"revision": built.replies["a"].revisions.order_by("pk").first().pk},
        ),
    )[1],
    "revisions": lambda built: Call("get", f"/api/v1/messages/{built.replies['a'].pk}/revisions"),
    "ban": lambda built: Call("post", f"/api/v1/users/{built.writers[1].pk}/ban", {"reason": "r"}),
    "unban": lambda built: (
        _done_by_moderator(built, f"/api/v1/users/{built.writers[1].pk}/ban"),
        Call("post", f"/api/v1/users/{built.writers[1].pk}/unban", {"reason": "r"}),
    )[1],
    "notes": lambda built: Call("get", f"/api/v1/users/{built.writers[1].pk}/notes"),
    "add_note": lambda built: Call(
        "post",
        f"/api/v1/users/{built.writers[1].pk}/notes",
        {"text": "Watch this one."},
        expected=201,
    ),
}


def did_its_work(name: str, built: Built, response: Any) -> None:
    """A permitted call's own effect, one fact per endpoint."""
    a = Message.objects.get(pk=built.replies["a"].pk)
    writer = User.objects.get(pk=built.writers[1].pk)
    tree_state = Tree.objects.get(pk=built.tree.pk).state
    if name == "queue":
        assert [item["reason"] for item in response.json()] == ["report"]
    elif name == "claim":
        assert response.json()["state"] == "claimed"
    elif name == "next":
        assert (response.json()["state"], response.json()["reason"]) == ("claimed", "report")
    elif name == "release":
        assert response.json()["code"] == "not_claimed"
        assert QueueItem.objects.get().claimed_by.username == "helper-mod"
    elif name == "resolve":
        assert (response.json()["state"], response.json()["resolution"]) == ("resolved", "dismiss")
    elif name in ("trollboard", "audit_log"):
        assert isinstance(response.json(), list)
    elif name == "audit_log_csv":
        assert b"".join(response.streaming_content).startswith(b"id,created_at,actor,action")
    elif name in ("halt", "abort"):
        assert response.json()["state"] == {"halt": "halted", "abort": "aborted_low_grade"}[name]
    elif name in ("resume", "reopen"):
        assert (response.json()["state"], tree_state) == ("growing", "growing")
    elif name == "delete":
        assert a.is_deleted
    elif name == "undelete":
        assert not a.is_deleted
    elif name == "edit":
        assert a.text == "Better."
    elif name == "revert":
        assert a.text == built.replies["a"].text
    elif name == "revisions":
        assert [revision["text"] for revision in response.json()] == [a.text]
    elif name == "ban":
        assert writer.is_banned
    elif name == "unban":
        assert not writer.is_banned
    elif name == "notes":
        assert response.json() == []
    elif name == "add_note":
        assert list(UserNote.objects.values_list("text", flat=True)) == ["Watch this one."]
    else:  # pragma: no cover
        raise AssertionError(name)


def call(user: User | None, request: Call) -> Any:
    client = api(user)
    if request.method == "get":
        return client.get(request.url)
    return client.post(request.url, request.body or {}, format="json")


ROLES = ("anonymous", "volunteer", "researcher", "moderator", "admin")


def user_of(role: str) -> User | None:
    return None if role == "anonymous" else with_role(role, username=f"the-{role}")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(SETUPS))
def test_moderation_endpoints_by_role(name: str, role: str):
    built = flat_tree("one_reply")
    request = SETUPS[name](built)
    user = user_of(role)
    before = everything()

    response = call(user, request)

    if role == "anonymous":
        assert response.status_code == 401
        assert response.json() == {
            "code": "not_authenticated",
            "detail": "Authentication credentials were not provided.",
        }
        assert everything() == before
    elif role in ("volunteer", "researcher"):
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "detail": "You do not have permission to perform this action.",
        }
        assert everything() == before
    else:
        assert response.status_code == request.expected, response.content
        did_its_work(name, built, response)


@pytest.mark.parametrize("role", ROLES)
def test_any_signed_in_user_may_report_a_message(role: str):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    user = user_of(role)
    before = everything()

    response = post(
        user, f"/api/v1/messages/{reply.pk}/reports", {"reason": "pii", "text": "a phone number"}
    )

    if role == "anonymous":
        assert response.status_code == 401
        assert everything() == before
        return
    assert response.status_code == 201
    body = response.json()
    assert (body["message_id"], body["reason"], body["text"]) == (reply.pk, "pii", "a phone number")
    item = QueueItem.objects.get()
    assert (item.reason, item.message_id, item.state, item.details) == (
        "report",
        reply.pk,
        "open",
        {"reports": 1, "last_reason": "pii"},
    )


def test_a_banned_volunteer_is_refused_every_write_but_may_still_read():
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    banned = built.writers[1]
    moderator = with_role("moderator")
    assert post(moderator, f"/api/v1/users/{banned.pk}/ban").status_code == 200
    before = everything()

    writes = [
        post(banned, f"/api/v1/messages/{reply.pk}/reports", {"reason": "spam"}),
        post(banned, f"/api/v1/messages/{reply.pk}/reactions", {"emoji": "red_flag"}),
        post(banned, "/api/v1/assignments/", {"project": built.project.slug, "lang": "en"}),
    ]

    assert [(r.status_code, r.json()) for r in writes] == [
        (403, {"code": "banned", "detail": "Your account is banned."})
    ] * 3
    assert everything() == before
    assert api(banned).get(f"/api/v1/messages/{reply.pk}").status_code == 200


def test_a_banned_moderator_may_read_the_queue_but_not_act():
    built = flat_tree("one_reply")
    moderator = with_role("moderator")
    admin = with_role("admin")
    assert post(admin, f"/api/v1/users/{moderator.pk}/ban").status_code == 200
    before = everything()

    halt = post(moderator, f"/api/v1/trees/{built.tree.pk}/halt")
    delete = post(moderator, f"/api/v1/messages/{built.replies['a'].pk}/delete")

    assert [(r.status_code, r.json()["code"]) for r in (halt, delete)] == [(403, "banned")] * 2
    assert everything() == before
    assert api(moderator).get("/api/v1/moderation/queue").status_code == 200


# --- Roles are granted by admins only ---------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_moderator_has_no_access_to_django_admin_and_cannot_grant_roles():
    moderator = with_role("moderator")
    volunteer = with_role("volunteer")
    client = signed_in(moderator)
    moderators = Group.objects.get(name="moderator")
    groups_before = list(volunteer.groups.values_list("name", flat=True))

    pages = [client.get(url) for url in ("/admin/", "/admin/accounts/user/", "/admin/auth/group/")]
    change = client.post(
        f"/admin/accounts/user/{volunteer.pk}/change/",
        {"username": volunteer.username, "groups": [moderators.pk], "is_staff": "on"},
    )

    for response in [*pages, change]:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    volunteer.refresh_from_db()
    assert list(volunteer.groups.values_list("name", flat=True)) == groups_before == ["volunteer"]
    assert (volunteer.is_staff, volunteer.is_superuser) == (False, False)


def test_an_admin_reaches_the_role_pages_of_django_admin():
    admin = with_role("admin")
    volunteer = with_role("volunteer")
    client = signed_in(admin)

    for url in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{volunteer.pk}/change/"):
        assert client.get(url).status_code == 200, url
