"""The invariant checker (bench/invariants.py): clean after real work through the API,
and each check fails when the database is tampered with in the way it looks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from backend.assignments.models import Assignment, AssignmentState, LabelVote, WorkItem
from backend.common.models import OutboxMessage
from backend.trees.models import Message, Tree, TreeState
from bench.invariants import CHECK_NAMES, Acknowledged, CheckResult, check_invariants
from tests.api.scenario import SMALL_TREE
from tests.helpers import answer_for, claim, submit

pytestmark = pytest.mark.django_db(transaction=True)

# What the volunteers ask for, most advanced work first, so that one tree goes all the
# way to its ranking: texts, reviews and a ranking, all acknowledged.
PREFERENCE = (
    "rank_assistant_replies",
    "label_assistant_reply",
    "assistant_reply",
    "label_initial_prompt",
    "initial_prompt",
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def worked(make_user, make_project, client_for) -> list[Acknowledged]:  # type: ignore[no-untyped-def]
    """Four volunteers work through the API (an Idempotency-Key on every submit) until
    a tree is ranked; returns what they saw acknowledged."""
    project = make_project(slug="drill", **SMALL_TREE)
    clients = [client_for(make_user()) for _ in range(4)]
    acknowledged: list[Acknowledged] = []
    kinds_done: set[str] = set()
    for _ in range(8):
        for number, client in enumerate(clients):
            for kind in PREFERENCE:
                claimed = claim(client, project.slug, kind)
                if claimed.status_code == 201:
                    break
                assert claimed.status_code == 204, claimed.content
            else:
                continue
            assignment = claimed.json()
            key = f"{number}-{assignment['id']}"
            done = submit(
                client, assignment["id"], answer_for(assignment), HTTP_IDEMPOTENCY_KEY=key
            )
            assert done.status_code == 200, done.content
            message = done.json()["message"]
            acknowledged.append(
                Acknowledged(
                    assignment["id"], assignment["kind"], key, message["id"] if message else None
                )
            )
            kinds_done.add(assignment["kind"].split("_")[0])
    assert kinds_done == {"initial", "label", "assistant", "rank"}, kinds_done
    return acknowledged


def results(acknowledged: list[Acknowledged], **options: Any) -> dict[str, CheckResult]:
    with connection.cursor() as cursor:
        return {result.name: result for result in check_invariants(cursor, acknowledged, **options)}


def failing(acknowledged: list[Acknowledged], **options: Any) -> set[str]:
    return {name for name, result in results(acknowledged, **options).items() if not result.ok}


def test_a_clean_run_passes_every_check(worked):
    checked = results(worked)
    assert list(checked) == list(CHECK_NAMES)
    assert all(result.ok for result in checked.values()), checked
    assert len(worked) >= 10


def test_an_acknowledged_submission_missing_its_votes_is_lost(worked):
    review = next(ack for ack in worked if ack.kind.startswith("label_"))
    LabelVote.objects.filter(assignment_id=review.assignment_id).delete()
    assert failing(worked) == {"nothing lost"}
    assert "no label votes" in results(worked)["nothing lost"].examples[0]


def test_an_acknowledged_submission_that_never_committed_is_lost(worked):
    ghost = Acknowledged(10**9, "assistant_reply", "ghost-key", 10**9)
    assert failing([*worked, ghost]) == {"nothing lost"}
    assert results([ghost])["nothing lost"].examples == [
        f"assignment {10**9} (assistant_reply): no such assignment"
    ]


def test_an_acknowledged_text_whose_message_is_gone_is_lost(worked):
    text = next(ack for ack in worked if ack.message_id is not None)
    Assignment.objects.filter(pk=text.assignment_id).update(state=AssignmentState.ACTIVE)
    assert failing(worked) >= {"nothing lost"}
    assert "active, not submitted" in results(worked)["nothing lost"].examples[0]


def test_a_message_written_twice_is_a_duplicate(worked):
    text = next(ack for ack in worked if ack.kind.endswith("_reply"))
    original = Message.objects.get(pk=text.message_id)
    original.pk = None
    original.save()
    assert failing(worked) == {"nothing stored twice"}
    assert "message written twice" in results(worked)["nothing stored twice"].examples[0]


def test_a_label_vote_stored_twice_for_one_assignment_is_a_duplicate(worked):
    review = next(ack for ack in worked if ack.kind.startswith("label_"))
    vote = LabelVote.objects.filter(assignment_id=review.assignment_id).first()
    assert vote is not None
    other = Message.objects.exclude(pk=vote.message_id).first()
    assert other is not None
    LabelVote.objects.create(
        message=other, user_id=vote.user_id, assignment_id=vote.assignment_id,
        label=vote.label, value=vote.value,
    )  # fmt: skip
    assert failing(worked) == {"nothing stored twice"}
    assert (
        "label vote twice for one assignment" in results(worked)["nothing stored twice"].examples[0]
    )


def test_a_work_item_with_a_surplus_submission_is_over_its_need(worked, make_user):
    item = WorkItem.objects.filter(completed_count__gt=0).order_by("pk").first()
    assert item is not None
    for _ in range(item.required):
        Assignment.objects.create(
            project_id=item.project_id, user=make_user(), work_item=item, kind=item.kind,
            lang=item.lang, state=AssignmentState.SUBMITTED,
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )  # fmt: skip
    assert failing(worked) == {"no work item over its need"}
    examples = results(worked)["no work item over its need"].examples
    assert any("more submitted" in example for example in examples), examples
    assert any("completed_count is not" in example for example in examples), examples


def test_a_live_item_whose_free_slots_disagree_is_over_its_need(worked):
    item = WorkItem.objects.filter(state="open", open_slots__gt=0).order_by("pk").first()
    assert item is not None
    WorkItem.objects.filter(pk=item.pk).update(open_slots=item.open_slots - 1)
    assert failing(worked) == {"no work item over its need"}


def test_a_growing_tree_without_live_work_is_stuck(worked):
    tree = Tree.objects.filter(state=TreeState.GROWING).first() or Tree.objects.first()
    assert tree is not None
    Tree.objects.filter(pk=tree.pk).update(state=TreeState.GROWING)
    WorkItem.objects.filter(tree=tree).update(state="closed")
    Assignment.objects.filter(work_item__tree=tree, state="active").update(state="cancelled")
    assert failing(worked) == {"no tree stuck"}
    assert results(worked)["no tree stuck"].examples == [
        f"tree {tree.pk} in growing with no live work item"
    ]
    # A tree that changed state within the grace period is still settling.
    Tree.objects.filter(pk=tree.pk).update(state_changed_at=datetime.now(UTC))
    assert failing(worked, grace_seconds=60) == set()


def test_a_tree_left_in_scoring_past_the_sweeps_retry_is_stuck(worked):
    tree = Tree.objects.first()
    assert tree is not None
    WorkItem.objects.filter(tree=tree).update(state="closed")
    Assignment.objects.filter(work_item__tree=tree, state="active").update(state="cancelled")
    Tree.objects.filter(pk=tree.pk).update(
        state=TreeState.SCORING, state_changed_at=datetime.now(UTC) - timedelta(minutes=3)
    )
    assert failing(worked) == set()  # the sweep would still hand it to Celery again
    Tree.objects.filter(pk=tree.pk).update(
        state_changed_at=datetime.now(UTC) - timedelta(minutes=7)
    )
    assert failing(worked) == {"no tree stuck"}


def test_an_outbox_row_left_is_not_drained(worked):
    OutboxMessage.objects.create(
        task_name="tasks.trees.score_tree", args=[1], kwargs={}, available_at=datetime.now(UTC)
    )
    assert failing(worked) == {"outbox drained"}
    assert results(worked)["outbox drained"].violations == 1


@pytest.mark.postgres
def test_the_checker_reads_through_a_psycopg_connection_of_its_own(worked):
    # What bench/drill.py does: its own connection to a server it only knows by URL.
    import psycopg

    options = connection.settings_dict
    with psycopg.connect(
        dbname=options["NAME"], user=options["USER"], host=options["HOST"],
        port=options["PORT"] or 5432, password=options["PASSWORD"] or None,
    ) as own, own.cursor() as cursor:  # fmt: skip
        assert all(result.ok for result in check_invariants(cursor, worked))
