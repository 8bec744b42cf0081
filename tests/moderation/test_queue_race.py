"""Moderators racing each other and auto-moderation on PostgreSQL, in real threads
released together by a barrier (each with its own connection, closed at its end; see
``tests/concurrency/threads.py``).

- two moderators claim one item: exactly one wins, the other gets 409 ``already_claimed``;
- sixteen resolve one item: one resolution and one action, fifteen 409 ``already_resolved``;
- red flags arriving together past the threshold: one automatic deletion, every flag 201;
- a moderator resolving an item while the threshold flag arrives: no deadlock.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from backend.audit.models import AuditEvent
from backend.moderation import services
from backend.moderation.models import QueueItem
from backend.trees.models import Message, Reaction, Tree
from tests.concurrency.threads import Worker, api_client, describe, run_together
from tests.factories import people
from tests.moderation.builders import flat_tree, post, with_role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def reported_item(built) -> QueueItem:  # type: ignore[no-untyped-def]
    assert (
        post(
            people(1)[0], f"/api/v1/messages/{built.replies['a'].pk}/reports", {"reason": "spam"}
        ).status_code
        == 201
    )
    return QueueItem.objects.get(message=built.replies["a"], state="open")


def answers(outcome) -> list[tuple[int, str | None]]:  # type: ignore[no-untyped-def]
    assert outcome.raised == [], describe(outcome.raised)
    return sorted(
        (response.status_code, response.json().get("code") if response.status_code >= 400 else None)
        for response in outcome.results
    )


@pytest.mark.parametrize("round_", range(5))
def test_two_moderators_claiming_one_item_exactly_one_wins(round_: int):
    built = flat_tree("one_reply")
    item = reported_item(built)
    moderators = [with_role("moderator", username=f"mod-{round_}-{n}") for n in range(2)]
    clients = [api_client(moderator) for moderator in moderators]

    outcome = run_together(
        2, lambda index: clients[index].post(f"/api/v1/moderation/queue/{item.pk}/claim")
    )

    assert answers(outcome) == [(200, None), (409, "already_claimed")]
    winner = next(
        index for index, response in enumerate(outcome.results) if response.status_code == 200
    )
    loser = outcome.results[1 - winner]
    assert loser.json()["claimed_by"] == moderators[winner].pk
    item.refresh_from_db()
    assert (item.state, item.claimed_by_id) == ("claimed", moderators[winner].pk)
    assert list(
        AuditEvent.objects.filter(action="queue.claimed").values_list("actor_id", flat=True)
    ) == [moderators[winner].pk]


@pytest.mark.parametrize("action", ["dismiss", "delete_message", "halt_tree"])
def test_sixteen_moderators_resolving_one_item_make_one_resolution(action: str):
    built = flat_tree("one_reply")
    item = reported_item(built)
    moderators = [with_role("moderator", username=f"mod-{n}") for n in range(16)]
    clients = [api_client(moderator) for moderator in moderators]

    outcome = run_together(
        16,
        lambda index: clients[index].post(
            f"/api/v1/moderation/queue/{item.pk}/resolve",
            {"action": action, "note": f"by {index}"},
            format="json",
        ),
    )

    assert answers(outcome) == [(200, None)] + [(409, "already_resolved")] * 15
    winner = next(
        index for index, response in enumerate(outcome.results) if response.status_code == 200
    )
    item.refresh_from_db()
    assert (item.state, item.resolution, item.resolved_by_id, item.note) == (
        "resolved",
        action,
        moderators[winner].pk,
        f"by {winner}",
    )
    assert AuditEvent.objects.filter(action="queue.resolved").count() == 1
    assert AuditEvent.objects.filter(action="message.deleted").count() == (
        action == "delete_message"
    )
    assert AuditEvent.objects.filter(action="tree.halted").count() == (action == "halt_tree")
    tree = Tree.objects.get(pk=built.tree.pk)
    assert tree.state == ("halted" if action == "halt_tree" else "growing")


def test_red_flags_arriving_together_past_the_threshold_delete_once():
    built = flat_tree("one_reply", auto_delete_red_flags=2)
    reply = built.replies["a"]
    clients = [api_client(user) for user in people(8)]

    outcome = run_together(
        8,
        lambda index: clients[index].post(
            f"/api/v1/messages/{reply.pk}/reactions", {"emoji": "red_flag"}, format="json"
        ),
    )

    assert answers(outcome) == [(201, None)] * 8
    assert Reaction.objects.filter(message=reply).count() == 8
    assert AuditEvent.objects.filter(action="message.deleted").count() == 1
    assert Message.objects.get(pk=reply.pk).is_deleted
    item = QueueItem.objects.get(reason="red_flag")
    assert item.occurrences == 8


def _locks_waited_for() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(cursor.fetchone()[0])


def test_resolving_while_the_threshold_flag_arrives_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
):
    """The moderator's resolution locks the tree, then the queue item; the threshold
    flag deletes (tree lock) before it counts on the queue item. Here the resolution
    holds the tree while the flag arrives, then goes on to the queue item."""
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    flaggers = people(4)
    for flagger in flaggers[:3]:
        post(flagger, f"/api/v1/messages/{reply.pk}/reactions", {"emoji": "red_flag"})
    item = QueueItem.objects.get(reason="red_flag")
    moderator = with_role("moderator")
    holding_tree, go_on = threading.Event(), threading.Event()
    real_halt = services.tree_halt

    def halt_and_wait(**kwargs: Any) -> Tree:
        tree = real_halt(**kwargs)
        holding_tree.set()
        assert go_on.wait(30)
        return tree

    monkeypatch.setattr(services, "tree_halt", halt_and_wait)
    resolving = Worker(
        lambda: api_client(moderator).post(
            f"/api/v1/moderation/queue/{item.pk}/resolve", {"action": "halt_tree"}, format="json"
        )
    )
    resolving.start()
    assert holding_tree.wait(30)
    flagging = Worker(
        lambda: api_client(flaggers[3]).post(
            f"/api/v1/messages/{reply.pk}/reactions", {"emoji": "red_flag"}, format="json"
        )
    )
    flagging.start()
    deadline = time.monotonic() + 10
    while _locks_waited_for() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _locks_waited_for() > 0, "the flag never waited for the tree"
    go_on.set()

    resolved, flagged = resolving.finish(), flagging.finish()

    assert (resolved.status_code, flagged.status_code) == (200, 201), (
        resolved.content,
        flagged.content,
    )
    item.refresh_from_db()
    assert (item.state, item.resolution) == ("resolved", "halt_tree")
    tree = Tree.objects.get(pk=built.tree.pk)
    assert (tree.state, tree.halted_from_state) == ("halted", "growing")
    # The flag came after the resolution: its deletion happened and it opened a new item.
    assert Message.objects.get(pk=reply.pk).is_deleted
    assert list(
        QueueItem.objects.filter(reason="red_flag")
        .order_by("pk")
        .values_list("state", "occurrences", "details")
    ) == [("resolved", 3, {"red_flags": 3}), ("open", 1, {"red_flags": 4})]


@pytest.mark.parametrize("round_", range(3))
def test_eight_moderators_asking_for_the_next_item_each_get_their_own(round_: int):
    from tests.moderation.mixed_queue import mixed_queue

    arrivals = mixed_queue(6)
    moderators = [with_role("moderator", username=f"next-{round_}-{n}") for n in range(8)]
    clients = [api_client(moderator) for moderator in moderators]

    outcome = run_together(8, lambda index: clients[index].post("/api/v1/moderation/queue/next"))

    assert outcome.raised == [], describe(outcome.raised)
    assert sorted(response.status_code for response in outcome.results) == [200] * 6 + [204] * 2
    given = [
        (index, response.json()["id"])
        for index, response in enumerate(outcome.results)
        if response.status_code == 200
    ]
    assert sorted(item_id for _index, item_id in given) == sorted(a.item.pk for a in arrivals)
    assert sorted(QueueItem.objects.values_list("pk", "claimed_by_id")) == sorted(
        (item_id, moderators[index].pk) for index, item_id in given
    )
    assert AuditEvent.objects.filter(action="queue.claimed").count() == 6
