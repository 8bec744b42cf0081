"""No tree stays in ``scoring_failed``: the sweep retries with backoff, gives up into the
moderation queue after ``SCORING_MAX_ATTEMPTS``, and people retry from the API, the
moderator pages and ``manage.py retry_scoring``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.consensus.services.trees import scoring_failed_retry_due, scoring_retry_delay
from backend.moderation.models import QueueItem
from backend.trees.models import Message, Tree
from tasks.assignments import sweep
from tests.factories import (
    committed,
    growing_tree,
    people,
    rank,
    review,
    small_project,
    write_reply,
)

pytestmark = pytest.mark.django_db

BROKEN = "backend.consensus.services.trees.ranking_group_score"


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("ranking engine exploded")


def failed_tree(monkeypatch: pytest.MonkeyPatch) -> tuple[Tree, Message, Message]:
    """A tree whose first scoring raised (the broken scorer stays patched)."""
    project = small_project()
    author, reviewer, writer_a, writer_b, voter = people(5)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    monkeypatch.setattr(BROKEN, _explode)
    with committed():
        rank(root, voter, [b, a])
    tree.refresh_from_db()
    assert (tree.state, tree.scoring_failures) == ("scoring_failed", 1)
    return tree, a, b


def age(tree: Tree, by: timedelta) -> None:
    Tree.objects.filter(pk=tree.pk).update(state_changed_at=timezone.now() - by)


def test_backoff_doubles_from_one_minute():
    assert [scoring_retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_the_sweep_retries_after_the_backoff_and_the_tree_finishes(monkeypatch):
    tree, a, b = failed_tree(monkeypatch)

    with committed():
        assert sweep.apply().get()["scoring_retried"] == 0  # backoff not over
    assert Tree.objects.get(pk=tree.pk).state == "scoring_failed"

    monkeypatch.undo()  # whatever broke is fixed
    age(tree, timedelta(minutes=1, seconds=1))
    with committed():
        assert sweep.apply().get()["scoring_retried"] == 1

    tree.refresh_from_db()
    assert (tree.state, tree.scoring_failures) == ("ready_for_export", 0)
    assert dict(Message.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "rank")) == {
        b.pk: 0,
        a.pk: 1,
    }
    retry = AuditEvent.objects.filter(target_type="tree", action="tree.scoring").last()
    assert (retry.actor_id, retry.is_automatic, retry.reason) == (
        None,
        True,
        "automatic retry 1 after a scoring failure",
    )
    assert not QueueItem.objects.exists()


def test_after_the_last_attempt_the_tree_waits_in_the_moderation_queue(monkeypatch, settings):
    settings.SCORING_MAX_ATTEMPTS = 3
    tree, _, _ = failed_tree(monkeypatch)
    for failures in (1, 2):
        age(tree, scoring_retry_delay(failures) + timedelta(seconds=1))
        with committed():
            assert scoring_failed_retry_due() == [tree.pk]
        tree.refresh_from_db()
        assert (tree.state, tree.scoring_failures) == ("scoring_failed", failures + 1)

    age(tree, timedelta(days=1))
    assert scoring_failed_retry_due() == []  # no attempts left: a person decides
    item = QueueItem.objects.get()
    assert (item.reason, item.tree_id, item.message_id, item.details) == (
        "scoring_failed",
        tree.pk,
        None,
        {"attempts": 3, "error": "RuntimeError: ranking engine exploded"},
    )


def test_a_moderator_retries_from_the_api_and_others_may_not(monkeypatch, make_user, client_for):
    tree, _, _ = failed_tree(monkeypatch)
    volunteer, moderator = make_user(Role.VOLUNTEER), make_user(Role.MODERATOR)

    refused = client_for(volunteer).post(f"/api/v1/trees/{tree.pk}/retry-scoring", {}, "json")
    assert (refused.status_code, Tree.objects.get(pk=tree.pk).state) == (403, "scoring_failed")

    monkeypatch.undo()
    with committed():
        answer = client_for(moderator).post(
            f"/api/v1/trees/{tree.pk}/retry-scoring", {"reason": "fixed the scorer"}, "json"
        )
    assert answer.status_code == 200
    assert answer.json()["state"] == "scoring"  # as it was when the retry answered
    assert Tree.objects.get(pk=tree.pk).state == "ready_for_export"
    retry = AuditEvent.objects.filter(target_type="tree", action="tree.scoring").last()
    assert (retry.actor_id, retry.is_automatic, retry.reason) == (
        moderator.pk,
        False,
        "fixed the scorer",
    )

    again = client_for(moderator).post(f"/api/v1/trees/{tree.pk}/retry-scoring", {}, "json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_tree_state")


def test_a_moderator_retries_from_the_queue_item_page(monkeypatch, make_user, settings):
    settings.SCORING_MAX_ATTEMPTS = 1  # the first failure goes to the queue
    tree, _, _ = failed_tree(monkeypatch)
    moderator = make_user(Role.MODERATOR)
    client = Client()
    client.force_login(moderator)
    item = QueueItem.objects.get(reason="scoring_failed")
    page = client.get(f"/moderation/items/{item.pk}/").content.decode()
    assert f'action="/moderation/trees/{tree.pk}/retry-scoring"' in page

    monkeypatch.undo()
    with committed():
        client.post(f"/moderation/trees/{tree.pk}/retry-scoring", {"reason": ""})
    assert Tree.objects.get(pk=tree.pk).state == "ready_for_export"


def test_the_command_retries_named_trees_or_all_failed_ones(monkeypatch):
    tree, _, _ = failed_tree(monkeypatch)
    Tree.objects.filter(pk=tree.pk).update(scoring_failures=4)
    out = StringIO()
    with committed():
        call_command("retry_scoring", "--all", stdout=out)
    assert out.getvalue() == f"tree {tree.pk}: scoring\n"
    tree.refresh_from_db()
    # Still broken: it failed again, with a fresh count after a retry by hand.
    assert (tree.state, tree.scoring_failures) == ("scoring_failed", 1)

    with pytest.raises(CommandError, match="1 of 1 trees were not retried"):
        call_command("retry_scoring", str(tree.pk + 1000), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="Name the trees"):
        call_command("retry_scoring", stdout=StringIO())
