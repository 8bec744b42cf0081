"""The Django admin cannot write state that only audited services may change: a POST
to add, change or delete a tree, message, vote, work item or assignment is refused and
changes nothing, and a user's ban flag cannot be set from the user form."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.accounts.models import Role, User
from backend.accounts.services import user_create
from backend.assignments.models import Assignment, LabelVote, WorkItem
from backend.audit.models import AuditEvent
from backend.trees.models import Message, Tree
from tests.moderation.builders import flat_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    admin = user_create(username="root", password="pw-for-tests-9", role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    return client


def _url(model: type, action: str, pk: int | None = None) -> str:
    meta = model._meta  # type: ignore[attr-defined]
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    return f"{base}{action}/" if pk is None else f"{base}{pk}/{action}/"


def test_admin_posts_cannot_change_audited_state(admin_client):
    built = flat_tree("one_reply")
    tree, root = built.tree, built.root
    vote = LabelVote.objects.filter(message=built.replies["a"]).first()
    item = WorkItem.objects.filter(tree=tree).order_by("pk").first()
    assignment = Assignment.objects.filter(work_item__tree=tree).order_by("pk").first()
    assert vote is not None and item is not None and assignment is not None
    before = {
        "tree": (tree.state,),
        "message": (root.text, root.is_deleted, root.review_result),
        "vote": (vote.value,),
        "item": (item.state, item.completed_count, item.required),
        "assignment": (assignment.state,),
    }
    audit_count = AuditEvent.objects.count()

    attempts = [
        (Tree, tree.pk, {"state": "halted", "lang": "en", "project": tree.project_id}),
        (Message, root.pk, {"text": "Rewritten behind the audit log's back.", "is_deleted": "on"}),
        (LabelVote, vote.pk, {"value": "1.0"}),
        (WorkItem, item.pk, {"completed_count": "0", "required": "99", "state": "closed"}),
        (Assignment, assignment.pk, {"state": "submitted"}),
    ]
    for model, pk, data in attempts:
        assert admin_client.post(_url(model, "change", pk), data).status_code == 403, model
        assert admin_client.post(_url(model, "delete", pk), {"post": "yes"}).status_code == 403
        assert admin_client.post(_url(model, "add"), data).status_code == 403, model
        assert admin_client.get(_url(model, "change", pk)).status_code == 200  # still readable

    tree.refresh_from_db()
    root.refresh_from_db()
    vote.refresh_from_db()
    item.refresh_from_db()
    assignment.refresh_from_db()
    assert {
        "tree": (tree.state,),
        "message": (root.text, root.is_deleted, root.review_result),
        "vote": (vote.value,),
        "item": (item.state, item.completed_count, item.required),
        "assignment": (assignment.state,),
    } == before
    assert Tree.objects.filter(pk=tree.pk).exists()
    assert AuditEvent.objects.count() == audit_count


def test_the_admin_user_form_cannot_ban(admin_client):
    person = user_create(username="vera", password="pw-for-tests-9", email="vera@example.org")
    response = admin_client.post(
        _url(User, "change", person.pk),
        {
            "username": "vera",
            "first_name": "Vera",
            "last_name": "",
            "email": "vera@example.org",
            "is_active": "on",
            "is_banned": "on",
            "display_name": "",
            "languages": "[]",
            "show_on_leaderboard": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "last_login_0": "",
            "last_login_1": "",
        },
    )
    assert response.status_code == 302  # the form saved what it may
    person.refresh_from_db()
    assert (person.first_name, person.is_banned) == ("Vera", False)
