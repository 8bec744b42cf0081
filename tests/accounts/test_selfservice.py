"""A person's own account through ``/api/v1/users/me/…``: "Download my data" holds
exactly their data, "Delete my account" removes their personal data under both
project policies (checked with an export run afterwards), and the leaderboard choice.

The tree is tests/exports' small world (alice asks, bob answers "4" and "Because.",
carol "5", dave "22"; erin and frank rank), plus bob's own votes and report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from axes.models import AccessLog
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.accounts.models import ApiToken, User
from backend.accounts.selfservice import deleted_username
from backend.accounts.tokens import token_create
from backend.audit.models import AuditAction, AuditEvent
from backend.community.services import leaderboards_rebuild
from backend.exports.options import export_options_build
from backend.exports.services import export_write
from backend.moderation.curation import message_edit
from backend.moderation.models import Report, UserNote
from backend.trees.models import Message, MessageRevision
from tests.community.builders import ledger_entry
from tests.exports.builders import SmallWorld, build_small_world, label, react
from tests.exports.conftest import read_jsonl
from tests.factories import UserFactory, small_project

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(make_project, make_user) -> SmallWorld:  # type: ignore[no-untyped-def]
    built = build_small_world(make_project(slug="lab"), make_user)
    users, m = built.users, built.messages
    label(m["m3"], users["bob"], "spam", 1.0)
    react(m["m4"], users["bob"], "-1")
    Report.objects.create(message=m["m4"], reporter=users["bob"], reason="wrong", text="not 22")
    Report.objects.create(message=m["m2"], reporter=users["alice"], reason="spam", text="alice's")
    UserNote.objects.create(user=users["bob"], author=users["carol"], text="carol's note on bob")
    User.objects.filter(pk=users["bob"].pk).update(
        email="bob@example.org", display_name="Bobby Tables", first_name="Bob"
    )
    EmailAddress.objects.create(user=users["bob"], email="bob@example.org", verified=True)
    return built


def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def export_nodes(tmp_path: Any, project: Any, **filters: Any) -> list[dict[str, Any]]:
    """Every message node of an oasst-trees export, depth first."""
    options = export_options_build(project=project, format="oasst-trees", filters=filters)
    path = tmp_path / f"export-{len(list(tmp_path.iterdir()))}{options.extension}"
    export_write(options=options, destination=path, secret="a-fixed-secret")

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for reply in node.get("replies", []):
            yield from walk(reply)

    return [node for line in read_jsonl(path) for node in walk(line["prompt"])]


# --- Download my data ----------------------------------------------------------------


def test_download_holds_my_data_in_exact_sections(world):
    bob, m = world.users["bob"], world.messages
    # Their messages are long reviewed: bob's edit is applied as a moderator's would be.
    message_edit(message_id=m["m6"].pk, actor_id=bob.pk, text="Because 2+2 is 4.")
    message_edit(message_id=m["m2"].pk, actor_id=world.users["carol"].pk, text="Four.")

    response = signed_in(bob).get("/api/v1/users/me/data")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="arbor-my-data.json"'
    data = response.json()
    assert sorted(data) == [
        "account",
        "audit",
        "edit_suggestions",
        "format",
        "generated_at",
        "label_votes",
        "messages",
        "onboarding",
        "points",
        "ranking_votes",
        "reactions",
        "reports",
    ]
    assert data["format"] == "arbor.personal-data.v1"
    assert {key: data["account"][key] for key in ("id", "username", "email", "display_name")} == {
        "id": bob.pk,
        "username": "bob",
        "email": "bob@example.org",
        "display_name": "Bobby Tables",
    }
    assert [(row["id"], row["text"]) for row in data["messages"]] == [
        (m["m2"].pk, "Four."),
        (m["m6"].pk, "Because 2+2 is 4."),
    ]
    assert [(r["text"], r["by"], r["reason"]) for r in data["messages"][0]["revisions"]] == [
        ("4", "me", ""),
        ("Four.", "staff", ""),
    ]
    assert [(r["text"], r["by"]) for r in data["messages"][1]["revisions"]] == [
        ("Because.", "me"),
        ("Because 2+2 is 4.", "me"),
    ]
    assert [(v["message_id"], v["label"], v["value"]) for v in data["label_votes"]] == [
        (m["m3"].pk, "spam", 1.0)
    ]
    assert data["ranking_votes"] == []
    assert [(r["message_id"], r["emoji"]) for r in data["reactions"]] == [(m["m4"].pk, "-1")]
    assert [(r["message_id"], r["reason"], r["text"]) for r in data["reports"]] == [
        (m["m4"].pk, "wrong", "not 22")
    ]
    assert sorted(data["points"]) == ["entries", "level", "points", "streak_days"]
    assert [row["action"] for row in data["audit"]] == ["user.created"]
    assert AuditEvent.objects.filter(
        action=AuditAction.USER_DATA_DOWNLOADED, target_id=str(bob.pk), actor_id=bob.pk
    ).exists()


def test_download_holds_no_one_elses_data(world):
    bob = world.users["bob"]
    text = json.dumps(signed_in(bob).get("/api/v1/users/me/data").json())

    for other in ("alice", "carol", "dave", "erin", "frank"):
        assert other not in text
        assert f'"user_id": {world.users[other].pk}' not in text
    # Others' words: alice's prompt and report, erin's ranking, carol's note on bob.
    for words in ("What is 2+2?", "Why?", "alice's", "carol's note on bob"):
        assert words not in text
    erin_ranking = [world.messages[name].pk for name in ("m2", "m3", "m4")]
    assert json.dumps(erin_ranking) not in text


def test_download_needs_a_signed_in_person():
    response = APIClient().get("/api/v1/users/me/data")
    assert response.status_code in (401, 403)
    assert "code" in response.json()


# --- Delete my account ---------------------------------------------------------------


def test_a_wrong_password_deletes_nothing(world):
    bob = world.users["bob"]
    events = AuditEvent.objects.count()

    response = signed_in(bob).post("/api/v1/users/me/delete", {"password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["password"][0]["code"] == "wrong_password"
    missing = signed_in(bob).post("/api/v1/users/me/delete", {}, format="json")
    assert missing.json()["fields"]["password"][0]["code"] == "required"
    bob.refresh_from_db()
    assert (bob.username, bob.is_active, bob.deleted_at) == ("bob", True, None)
    assert Message.objects.filter(author=bob).count() == 2
    assert AuditEvent.objects.count() == events


def _delete_bob(world: SmallWorld) -> tuple[User, dict[str, Any]]:
    bob = world.users["bob"]
    token = Token.objects.create(user=bob)
    _, personal_key = token_create(user=bob, name="laptop")
    for username in ("bob", "alice"):
        AccessLog.objects.create(username=username, ip_address="192.0.2.7", user_agent="b")
    browser = Client()
    assert browser.login(username="bob", password=PASSWORD)
    response = signed_in(bob).post("/api/v1/users/me/delete", {"password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    bob.refresh_from_db()
    assert response.json() == {"deleted": True, "username": bob.username}
    # Nothing personal is left, and no way in: no password, token, session.
    assert bob.username == deleted_username(bob.pk) and bob.username.startswith("deleted-")
    assert (bob.email, bob.display_name, bob.first_name, bob.last_name, bob.languages) == (
        "",
        "",
        "",
        "",
        [],
    )
    assert (bob.is_active, bob.has_usable_password(), bob.show_on_leaderboard) == (
        False,
        False,
        False,
    )
    assert bob.deleted_at is not None
    assert not bob.groups.exists()
    assert not EmailAddress.objects.filter(user=bob).exists()
    assert not Token.objects.filter(key=token.key).exists()
    assert not ApiToken.objects.filter(user=bob).exists()
    by_personal = APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Token {personal_key}")
    assert by_personal.status_code == 401
    assert not UserNote.objects.filter(user=bob).exists()
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["alice"]
    assert not Client().login(username="bob", password=PASSWORD)
    assert browser.get("/api/v1/users/me").status_code in (401, 403)
    by_token = APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.status_code == 401
    # Audited, and the audit log keeps nothing personal about bob.
    deleted = AuditEvent.objects.get(action=AuditAction.USER_DELETED)
    assert (deleted.target_id, deleted.actor_id) == (str(bob.pk), bob.pk)
    about_bob = json.dumps(
        list(
            AuditEvent.objects.filter(target_type="user", target_id=str(bob.pk)).values(
                "before", "after", "reason"
            )
        )
    )
    for personal in ('"bob"', "bob@example.org", "Bobby", "Bob"):
        assert personal not in about_bob
    return bob, deleted.after


def test_deleting_with_the_anonymise_policy_keeps_the_messages_without_an_author(world, tmp_path):
    m = world.messages
    message_edit(message_id=m["m6"].pk, actor_id=world.users["bob"].pk, text="Because, see.")
    before = export_nodes(tmp_path, world.project, anonymize=False)
    assert {node["text"]: node.get("user_id") for node in before}["4"] == str(world.users["bob"].pk)

    bob, counts = _delete_bob(world)

    assert counts["messages_removed"] == 0
    assert counts["messages_without_author"] == 2
    assert not Message.objects.filter(author_id=bob.pk).exists()
    assert not MessageRevision.objects.filter(editor_id=bob.pk).exists()
    after = {
        node["text"]: node.get("user_id")
        for node in export_nodes(tmp_path, world.project, anonymize=False)
    }
    assert after == {
        "What is 2+2?": str(world.users["alice"].pk),
        "4": None,
        "Why?": str(world.users["alice"].pk),
        "Because, see.": None,
        "5": str(world.users["carol"].pk),
        "22": str(world.users["dave"].pk),
    }
    # With pseudonymous ids, bob's messages have none either.
    anonymised = {
        node["text"]: node.get("user_id") for node in export_nodes(tmp_path, world.project)
    }
    assert anonymised["4"] is None and anonymised["Because, see."] is None
    assert anonymised["5"] is not None


def test_deleting_with_the_remove_policy_deletes_the_messages_and_their_replies(world, tmp_path):
    world.project.on_account_deletion = "remove"
    world.project.save(update_fields=["on_account_deletion"])
    m = world.messages

    _, counts = _delete_bob(world)

    # "4" goes with alice's "Why?" under it and bob's "Because." under that.
    assert counts["messages_removed"] == 1
    assert set(Message.objects.filter(is_deleted=True).values_list("pk", flat=True)) == {
        m["m2"].pk,
        m["m5"].pk,
        m["m6"].pk,
    }
    # The tree needs a reply again (deletion makes it regrow): export every state.
    world.tree.refresh_from_db()
    assert world.tree.state == "growing"
    texts = [
        node["text"]
        for node in export_nodes(tmp_path, world.project, anonymize=False, states="all")
    ]
    assert sorted(texts) == sorted(["What is 2+2?", "5", "22"])
    deletion = AuditEvent.objects.get(action=AuditAction.MESSAGE_DELETED)
    assert (deletion.target_id, deletion.reason) == (
        str(m["m2"].pk),
        "its author deleted their account",
    )


def test_an_account_without_a_password_confirms_with_its_username(world):
    bob = world.users["bob"]
    bob.set_unusable_password()
    bob.save(update_fields=["password"])
    wrong = signed_in(bob).post("/api/v1/users/me/delete", {"confirm": "bobby"}, format="json")
    assert wrong.json()["fields"]["confirm"][0]["code"] == "confirmation_mismatch"

    response = signed_in(bob).post("/api/v1/users/me/delete", {"confirm": "bob"}, format="json")

    assert response.status_code == 200
    bob.refresh_from_db()
    assert bob.deleted_at is not None


def test_the_policy_setting_is_validated(make_project):
    from backend.common.errors import ArborError

    with pytest.raises(ArborError) as refused:
        make_project(on_account_deletion="forget")
    assert "settings.on_account_deletion" in refused.value.fields


# --- Leaderboard visibility ----------------------------------------------------------


def test_opting_out_hides_me_from_the_leaderboard_api_and_page():
    now = timezone.now()
    project = small_project()
    shy, open_person = UserFactory(username="shy-sam"), UserFactory(username="open-olga")
    for person, points in [(shy, 30), (open_person, 20)]:
        ledger_entry(person, project, now, points)
    leaderboards_rebuild(now=now)

    def shown() -> list[str]:
        rows = signed_in(open_person).get("/api/v1/leaderboard/", {"window": "all"}).json()
        return [row["display_name"] for row in rows["results"]]

    assert shown() == ["shy-sam", "open-olga"]
    events = AuditEvent.objects.filter(action=AuditAction.USER_PROFILE_UPDATED).count()

    response = signed_in(shy).put(
        "/api/v1/users/me/leaderboard", {"show_on_leaderboard": False}, format="json"
    )

    assert (response.status_code, response.json()["show_on_leaderboard"]) == (200, False)
    assert shown() == ["open-olga"]
    browser = Client()
    browser.force_login(open_person)
    page = browser.get("/leaderboard/?window=all").content.decode()
    assert "open-olga" in page and "shy-sam" not in page
    assert AuditEvent.objects.filter(action=AuditAction.USER_PROFILE_UPDATED).count() == events + 1
    again = signed_in(shy).put(
        "/api/v1/users/me/leaderboard", {"show_on_leaderboard": True}, format="json"
    )
    assert again.json()["show_on_leaderboard"] is True
    assert shown() == ["shy-sam", "open-olga"]
    bad = signed_in(shy).put("/api/v1/users/me/leaderboard", {}, format="json")
    assert (bad.status_code, bad.json()["fields"]["show_on_leaderboard"][0]["code"]) == (
        400,
        "required",
    )


def test_the_download_costs_the_same_queries_for_a_small_and_a_large_account(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.accounts.selfservice import account_data_collect
    from tests.exports.builders import make_message, make_tree

    def queries_for(user: User) -> int:
        with CaptureQueriesContext(connection) as captured:
            account_data_collect(user=user)
        return len(captured)

    dave = User.objects.get(pk=world.users["dave"].pk)
    small = queries_for(dave)
    for number in range(20):
        tree = make_tree(world.project)
        prompt = make_message(tree, None, f"prompt {number}", author=dave)
        label(prompt, world.users["erin"], "spam", 0.0)
        label(world.messages["m2"], dave, f"label-{number}", 0.5)
        react(prompt, dave, "+1")
        message_edit(message_id=prompt.pk, actor_id=dave.pk, text=f"prompt {number}, edited")

    assert queries_for(dave) == small


def test_each_project_applies_its_own_policy(world, make_project):
    from tests.exports.builders import make_message, make_tree

    strict = make_project(slug="strict", on_account_deletion="remove")
    bob = world.users["bob"]
    tree = make_tree(strict)
    prompt = make_message(tree, None, "A prompt in the strict project", author=world.users["alice"])
    bobs = make_message(tree, prompt, "Bob's answer there", author=bob, rank=0)

    _, counts = _delete_bob(world)

    assert (counts["messages_removed"], counts["messages_without_author"]) == (1, 3)
    bobs.refresh_from_db()
    assert (bobs.is_deleted, bobs.author_id) == (True, None)
    lab = Message.objects.filter(pk__in=[world.messages["m2"].pk, world.messages["m6"].pk])
    assert list(lab.values_list("is_deleted", "author_id")) == [(False, None), (False, None)]
