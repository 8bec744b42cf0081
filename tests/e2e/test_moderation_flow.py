"""Moderation in a real browser: a moderator clears a queue of twenty mixed items with
the keyboard alone, then finds what they did in the audit log; and the queue updates
itself over the websocket when another moderator claims an item or a report arrives."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from backend.accounts.services import user_token
from backend.audit.models import AuditEvent
from backend.moderation.models import QueueItem
from backend.trees.models import Message, Tree
from tests.e2e.conftest import ready, shot
from tests.factories import people
from tests.moderation.builders import with_role
from tests.moderation.mixed_queue import Arrival, mixed_queue

# What the moderator decides per kind of item, as the key they press.
KEY_FOR = {"report": "2", "red_flag": "1", "rejected_prompt": "1", "many_skips": "3"}
RESOLUTION_FOR_KEY = {"1": "dismiss", "2": "delete_message", "3": "halt_tree", "5": "ban_author"}


def current_item(page: Any) -> int:
    return int(page.locator("[data-moderation-item]").get_attribute("data-moderation-item"))


def test_a_moderator_clears_twenty_mixed_items_with_the_keyboard(page, log_in):
    arrivals = mixed_queue(20)
    by_item: dict[int, Arrival] = {arrival.item.pk: arrival for arrival in arrivals}
    moderator = with_role("moderator", username="mod-kim")
    log_in(page, moderator)

    page.goto("/moderation/")
    ready(page)
    expect(page.locator("[data-queue-item]")).to_have_count(20)
    expect(page.locator("#queue-reason")).to_contain_text("Reported by a volunteer (8)")
    shot(page, "moderation-queue")

    page.keyboard.press("n")
    decided: dict[int, str] = {}
    for turn in range(20):
        expect(page.locator("[data-resolve-form]")).to_be_visible()
        ready(page)
        item_id = current_item(page)
        arrival = by_item[item_id]
        assert item_id == arrivals[turn].item.pk  # oldest first
        last = turn == 19
        key = "5" if last else KEY_FOR[arrival.reason]
        page.keyboard.press(key)
        expect(page.locator(f"input[data-action-key='{key}']")).to_be_checked()
        if last:
            assert arrival.reason == "report"
            page.keyboard.press("h")
            expect(page.locator("[data-hide-messages]")).to_be_checked()
        if turn in (0, 19):
            page.keyboard.press("i")
            expect(page.locator("[data-note]")).to_be_focused()
            page.keyboard.type("Seen by Kim; the rules say so.")
            page.keyboard.press("Escape")
        if turn == 0:
            shot(page, "moderation-item")
        page.keyboard.press("Enter")
        decided[item_id] = RESOLUTION_FOR_KEY[key]
        if not last:
            expect(page.locator("[data-moderation-item]")).not_to_have_attribute(
                "data-moderation-item", str(item_id)
            )

    expect(page).to_have_url(re.compile(r"/moderation/$"))
    expect(page.locator(".flash")).to_contain_text("The queue is clear.")
    expect(page.locator("[data-queue-item]")).to_have_count(0)
    shot(page, "moderation-queue-clear")

    assert {
        pk: (state, resolution, resolved_by)
        for pk, state, resolution, resolved_by in QueueItem.objects.values_list(
            "pk", "state", "resolution", "resolved_by_id"
        )
    } == {pk: ("resolved", action, moderator.pk) for pk, action in decided.items()}
    reports = [arrival for arrival in arrivals if arrival.reason == "report"]
    # Every reported reply is gone: seven deleted one by one, the author's last hidden
    # by the ban (which hid all their messages).
    assert all(Message.objects.get(pk=a.message.pk).is_deleted for a in reports)
    assert Message.objects.get(pk=reports[-1].message.pk).author.is_banned
    skipped_trees = [arrival.tree.pk for arrival in arrivals if arrival.reason == "many_skips"]
    assert (
        list(Tree.objects.filter(pk__in=skipped_trees).values_list("state", flat=True))
        == ["halted"] * 3
    )
    notes = dict(QueueItem.objects.exclude(note="").values_list("pk", "note"))
    assert notes == {
        arrivals[0].item.pk: "Seen by Kim; the rules say so.",
        arrivals[19].item.pk: "Seen by Kim; the rules say so.",
    }

    # The audit log shows what was done, and by whom; the CSV link carries the filter.
    page.goto("/moderation/audit/")
    page.fill("#audit-action", "queue.resolved")
    page.press("#audit-action", "Enter")
    expect(page.locator("tr[data-event-action='queue.resolved']")).to_have_count(20)
    expect(page.locator("tr[data-event-action='queue.resolved']").first).to_contain_text("mod-kim")
    expect(page.locator("[data-audit-csv]")).to_have_attribute(
        "href", "/moderation/audit.csv?action=queue.resolved"
    )
    shot(page, "moderation-audit")
    assert AuditEvent.objects.filter(action="message.deleted", actor=moderator).count() == 7
    assert AuditEvent.objects.filter(action="tree.halted", actor=moderator).count() == 3
    assert AuditEvent.objects.filter(action="user.banned", actor=moderator).count() == 1


def test_skipping_and_going_back_by_keyboard(page, log_in):
    arrivals = mixed_queue(2)
    moderator = with_role("moderator", username="mod-sam")
    log_in(page, moderator)
    page.goto("/moderation/")
    ready(page)
    page.keyboard.press("n")
    expect(page.locator("[data-moderation-item]")).to_have_attribute(
        "data-moderation-item", str(arrivals[0].item.pk)
    )
    ready(page)
    page.keyboard.press("u")
    expect(page.locator("[data-moderation-item]")).to_have_attribute(
        "data-moderation-item", str(arrivals[1].item.pk)
    )
    ready(page)
    page.keyboard.press("q")
    expect(page).to_have_url(re.compile(r"/moderation/$"))
    expect(page.locator(f"[data-queue-item='{arrivals[0].item.pk}']")).to_contain_text("open")
    expect(page.locator(f"[data-queue-item='{arrivals[1].item.pk}']")).to_contain_text("yours")


def test_the_queue_updates_live_when_another_moderator_claims_or_a_report_arrives(new_page, log_in):
    """The changes come through the server (as in real use): another moderator claims in
    their browser, a volunteer reports over the REST API."""
    arrivals = mixed_queue(2)
    watcher = with_role("moderator", username="mod-wen")
    other = with_role("moderator", username="mod-ola")
    page = new_page()
    log_in(page, watcher)
    page.goto("/moderation/")
    ready(page)
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("is-live"))
    first = page.locator(f"[data-queue-item='{arrivals[0].item.pk}']")
    expect(first).to_contain_text("open")

    other_page = new_page()
    log_in(other_page, other)
    other_page.goto("/moderation/")
    ready(other_page)
    other_page.locator(f"[data-queue-item='{arrivals[0].item.pk}'] button").click()
    expect(other_page.locator("[data-resolve-form]")).to_be_visible()

    expect(first).to_contain_text("mod-ola is on it")
    expect(first.locator("button")).to_be_disabled()

    # A message without an item yet (a report about the red-flagged reply would join its
    # item: one item per message).
    reply = Message.objects.filter(tree=arrivals[1].tree, parent__isnull=True).first()
    assert reply is not None
    reporter = people(1)[0]
    answer = other_page.context.request.post(
        f"/api/v1/messages/{reply.pk}/reports",
        data={"reason": "pii", "text": "my phone number"},
        headers={"Authorization": f"Token {user_token(user=reporter)}", "Cookie": ""},
    )
    assert answer.status == 201, answer.text()
    expect(page.locator("[data-queue-item]")).to_have_count(3)
    expect(page.locator("[data-queue-count]")).to_have_text("3 items waiting.")
    expect(page.locator("#queue-reason")).to_contain_text("All reasons (3)")
    expect(page.locator("#queue-reason")).to_contain_text("Reported by a volunteer (2)")
    shot(page, "moderation-queue-live")
