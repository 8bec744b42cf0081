"""The moderation pages in German show no English for what the engine wrote: the
queue's reason badges, an item's details line and the history notes."""

from __future__ import annotations

import pytest

from backend.moderation.models import QueueItem
from tests.factories import people
from tests.moderation.builders import flat_tree, post

pytestmark = pytest.mark.django_db

ENGLISH = (
    "Reported by a volunteer",
    "Red flags",
    "reports:",
    "last_reason",
    "red_flags",
    "drawn in the prompt lottery",
    "initial prompt accepted",
)


def test_the_queue_and_an_item_speak_german(client, moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    reporter, flagger = people(2)
    post(reporter, f"/api/v1/messages/{reply.pk}/reports", {"reason": "spam"})
    post(flagger, f"/api/v1/messages/{reply.pk}/reactions", {"emoji": "red_flag"})
    item = QueueItem.objects.get()
    client.force_login(moderator)

    queue = client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    page = client.get(f"/moderation/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Von einer freiwilligen Person gemeldet" in queue and "Rote Flaggen" in queue
    assert "1 Meldung" in page and "letzte Meldung: Spam" in page and "1 rote Flagge" in page
    assert "in der Anfragen-Lotterie gezogen" in page
    for words in ENGLISH:
        assert words not in queue, words
        assert words not in page, words
