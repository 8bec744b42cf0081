"""One live queue item per message, holding every reason it was raised for.

A message that is reported and red-flagged (and flagged by the quality checks) is one
item for a moderator, not three: the API lists every reason (``reason`` stays the
first), the queue page shows a badge per reason, and filtering by any of its reasons
finds it. On PostgreSQL two reasons raised at the same moment still make one item.
"""

from __future__ import annotations

import pytest

from backend.moderation import services
from backend.moderation.models import QueueItem, QueueItemReason
from backend.trees.models import Message
from tests.concurrency.threads import describe, run_together
from tests.factories import people
from tests.moderation.builders import flat_tree, get, post

pytestmark = pytest.mark.django_db


def report(user, message: Message, reason: str = "spam"):  # type: ignore[no-untyped-def]
    return post(user, f"/api/v1/messages/{message.pk}/reports", {"reason": reason})


def red_flag(user, message: Message):  # type: ignore[no-untyped-def]
    return post(user, f"/api/v1/messages/{message.pk}/reactions", {"emoji": "red_flag"})


def queue(moderator, **params):  # type: ignore[no-untyped-def]
    response = get(moderator, "/api/v1/moderation/queue", **params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_reported_and_red_flagged_message_is_one_item_with_both_reasons(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    reporter, flagger = people(2)

    assert report(reporter, reply, "spam").status_code == 201
    assert red_flag(flagger, reply).status_code == 201

    [item] = queue(moderator)
    assert {
        key: item[key]
        for key in ("reason", "reasons", "reason_labels", "occurrences", "details", "state")
    } == {
        "reason": "report",
        "reasons": ["report", "red_flag"],
        "reason_labels": ["Reported by a volunteer", "Red flags"],
        "occurrences": 2,
        "details": {"reports": 1, "last_reason": "spam", "red_flags": 1},
        "state": "open",
    }
    assert [row["id"] for row in queue(moderator, reason="red_flag")] == [item["id"]]
    assert [row["id"] for row in queue(moderator, reason="report")] == [item["id"]]
    assert queue(moderator, reason="many_skips") == []
    assert QueueItem.objects.count() == 1


def test_the_queue_page_shows_every_reason_and_counts_the_item_under_each(client, moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    reporter, flagger = people(2)
    report(reporter, reply)
    red_flag(flagger, reply)
    client.force_login(moderator)

    page = client.get("/moderation/").content.decode()

    assert page.count('data-queue-item="') == 1
    assert 'data-reason="report"' in page and 'data-reason="red_flag"' in page
    assert "Reported by a volunteer (1)" in page and "Red flags (1)" in page


def test_a_quality_flag_joins_the_messages_item_and_merges_its_details(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    report(people(1)[0], reply, "wrong")

    services.queue_item_raise(
        reason="quality_flag", tree=reply.tree, message=reply, details={"flags": ["too_short"]}
    )
    item = services.queue_item_raise(
        reason="quality_flag",
        tree=reply.tree,
        message=reply,
        details={"flags": ["too_short", "copied_text"]},
    )

    assert item.reasons == ["report", "quality_flag"]
    assert item.occurrences == 3
    assert item.details == {
        "reports": 1,
        "last_reason": "wrong",
        "flags": ["too_short", "copied_text"],
    }
    [shown] = queue(moderator)
    assert shown["reasons"] == ["report", "quality_flag"]


def test_the_item_page_shows_details_in_words(client, moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    report(people(1)[0], reply, "spam")
    red_flag(people(1)[0], reply)
    item = QueueItem.objects.get()
    client.force_login(moderator)

    page = client.get(f"/moderation/items/{item.pk}/").content.decode()

    assert "1 report" in page and "latest report: Spam" in page and "1 red flag" in page
    assert "last_reason" not in page and "red_flags:" not in page


def test_a_resolved_item_is_left_alone_and_a_new_signal_opens_a_fresh_one(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    report(people(1)[0], reply)
    item = QueueItem.objects.get()
    assert (
        post(moderator, f"/api/v1/moderation/queue/{item.pk}/resolve", {"action": "dismiss"})
    ).status_code == 200

    red_flag(people(1)[0], reply)

    fresh = QueueItem.objects.exclude(pk=item.pk).get()
    assert (fresh.reasons, fresh.state) == (["red_flag"], "open")
    assert list(item.reason_rows.values_list("reason", flat=True)) == ["report"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_two_reasons_raised_at_once_make_one_item(round_: int):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    reasons = ["report", "red_flag"]

    outcome = run_together(
        2,
        lambda index: (
            services.queue_item_raise(
                reason=reasons[index], tree=reply.tree, message=reply, details={reasons[index]: 1}
            ).pk
        ),
    )

    assert outcome.raised == [], describe(outcome.raised)
    [item] = QueueItem.objects.all()
    assert set(outcome.results) == {item.pk}
    assert sorted(QueueItemReason.objects.values_list("reason", flat=True)) == sorted(reasons)
    assert (item.occurrences, item.details) == (2, {"report": 1, "red_flag": 1})
