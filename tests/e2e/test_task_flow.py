"""Doing the work in a real browser: every kind of task with the keyboard alone, a
ranking by drag and drop, errors that keep what was typed, and the leaderboard."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from backend.assignments.models import Assignment, AssignmentState, LabelVote, RankingVote
from backend.community.models import LeaderboardEntry
from backend.community.services import community_refresh
from backend.trees.models import Message
from backend.web.labels import kind_title
from tests.e2e.conftest import ready, shot
from tests.e2e.scenario import every_kind_project
from tests.factories import UserFactory

KINDS_IN_ORDER = [
    "initial_prompt",
    "label_initial_prompt",
    "assistant_reply",
    "label_assistant_reply",
    "prompter_reply",
    "label_prompter_reply",
    "rank_assistant_replies",
    "rank_prompter_replies",
]


def start_with_keyboard(page: Any, kind: str) -> None:
    """On the dashboard, move to the kind's card with j/k and start it with Enter."""
    page.goto("/dashboard/")
    ready(page)
    values = page.locator("[data-nav-item]").evaluate_all("cards => cards.map(card => card.value)")
    focused = page.evaluate(
        "() => [...document.querySelectorAll('[data-nav-item]')].indexOf(document.activeElement)"
    )
    target = values.index(kind)
    key = "j" if target > focused else "k"
    for _ in range(abs(target - focused)):
        page.keyboard.press(key)
    expect(page.locator(f"[data-nav-item][value='{kind}']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text(str(kind_title(kind)))
    ready(page)


def answer_with_keyboard(page: Any, kind: str, serial: int) -> None:
    if kind in ("initial_prompt", "assistant_reply", "prompter_reply"):
        expect(page.locator("#reply-text")).to_be_focused()
        text = f"A keyboard-only {kind.replace('_', ' ')} number {serial}: yes, no, skip? j/k!"
        page.keyboard.type(text)
        # Letter hotkeys (s, g, y, n, j, k, ?) are off while typing: all went into the box.
        expect(page.locator("#reply-text")).to_have_value(text)
        expect(page.locator("dialog[open]")).to_have_count(0)
        expect(page.locator("[data-char-count]")).to_contain_text(f"{len(text)} / ")
    elif kind.startswith("label_"):
        label_kinds = page.locator("[data-label-row]").evaluate_all(
            "rows => rows.map(row => row.dataset.labelKind)"
        )
        for label_kind in label_kinds:
            page.keyboard.press("n" if label_kind == "flag" else "4")
        expect(page.locator("input[name='label-spam'][value='0']")).to_be_checked()
    else:
        before = page.locator("[data-ranking-input]").input_value().split(",")
        page.keyboard.press("Shift+J")  # the first reply goes one down
        after = page.locator("[data-ranking-input]").input_value().split(",")
        assert after == [before[1], before[0], *before[2:]]


def test_every_kind_with_the_keyboard_alone_then_the_leaderboard(page, log_in):
    scenario = every_kind_project()
    volunteer = UserFactory(username="keyboard")
    log_in(page, volunteer)
    page.goto("/dashboard/")
    shot(page, "dashboard")
    page.evaluate("window.__samePage = true")

    for serial, kind in enumerate(KINDS_IN_ORDER):
        start_with_keyboard(page, kind)
        page.evaluate("window.__samePage = true")
        answer_with_keyboard(page, kind, serial)
        shot(page, f"task-{kind}")
        assignment_id = int(page.locator("[data-task]").get_attribute("data-assignment"))
        page.keyboard.press("Control+Enter")
        expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
        # The next task (or "no work") was swapped in: no page load happened.
        assert page.evaluate("window.__samePage") is True
        assert Assignment.objects.get(pk=assignment_id).state == AssignmentState.SUBMITTED

    done = Assignment.objects.filter(user=volunteer, state=AssignmentState.SUBMITTED)
    assert sorted(done.values_list("kind", flat=True)) == sorted(KINDS_IN_ORDER)
    assert Message.objects.filter(author=volunteer).count() == 3
    spam_votes = LabelVote.objects.filter(user=volunteer, label="spam").values_list(
        "value", flat=True
    )
    assert list(spam_votes) == [0.0, 0.0, 0.0]
    assert set(
        LabelVote.objects.filter(user=volunteer, label="quality").values_list("value", flat=True)
    ) == {0.75}
    assert RankingVote.objects.filter(user=volunteer).count() == 2

    # The leaderboard shows the new points once the community pass has run (beat does it).
    community_refresh()
    expected = LeaderboardEntry.objects.get(window="day", project=None, user=volunteer).points
    assert (
        expected >= 4 + 2 * 4 + 3 * 1 + 2 * 2
    )  # a prompt, two replies, three reviews, two rankings
    page.goto("/leaderboard/?window=day")
    row = page.locator("tr.me")
    expect(row).to_contain_text("keyboard")
    expect(row.locator("td.num").first).to_have_text(str(expected))
    shot(page, "leaderboard")
    page.goto("/me/")
    expect(page.locator("[data-stat=points]")).to_have_text(str(expected))
    shot(page, "profile")

    # Both rankings were the last ones the tree needed: it was scored, and the tree
    # viewer shows the ranks.
    page.goto(f"/trees/{scenario.ranking_tree.pk}/")
    expect(page.locator(".rank-badge")).to_have_count(4)
    expect(page.locator(".rank-badge.rank-0")).to_have_count(2)
    shot(page, "tree")


def test_a_ranking_by_drag_and_drop(page, log_in):
    scenario = every_kind_project()
    volunteer = UserFactory()
    log_in(page, volunteer)
    page.goto("/dashboard/")
    page.click("[data-nav-item][value='rank_assistant_replies']")
    ready(page)
    items = page.locator(".rank-item")
    expect(items).to_have_count(2)
    order = [
        int(value) for value in items.evaluate_all("items => items.map(item => item.dataset.id)")
    ]

    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + 20)
    page.mouse.down()
    page.mouse.move(second["x"] + second["width"] / 2, second["y"] + second["height"] - 5, steps=12)
    page.mouse.up()

    dragged = [
        int(value) for value in items.evaluate_all("items => items.map(item => item.dataset.id)")
    ]
    assert dragged == [order[1], order[0]]
    assert page.locator("[data-ranking-input]").input_value() == f"{order[1]},{order[0]}"
    expect(items.nth(0).locator("[data-rank-position]")).to_have_text("1")
    shot(page, "rank-dragged")
    page.click("#task-form button[type=submit]")
    expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
    vote = RankingVote.objects.get(user=volunteer)
    assert vote.ranking == [order[1], order[0]]
    assert vote.parent_id == scenario.ranking_tree.root_id


def test_a_validation_error_and_a_server_error_keep_the_typed_text(page, log_in):
    project = every_kind_project().project
    project.max_message_length = 40
    project.save(update_fields=["max_message_length"])
    volunteer = UserFactory()
    log_in(page, volunteer)
    page.goto("/dashboard/")
    page.click("[data-nav-item][value='initial_prompt']")
    ready(page)
    text = "This prompt is far longer than the forty characters allowed here."
    page.locator("#reply-text").fill(text)
    expect(page.locator("[data-char-count]")).to_have_class(re.compile("is-over"))
    page.keyboard.press("Control+Enter")

    error = page.locator("#text-error")
    expect(error).to_have_text(f"At most 40 characters; this has {len(text)}.")
    expect(page.locator("#reply-text")).to_have_value(text)
    expect(page.locator("#reply-text")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reply-text")).to_be_focused()
    shot(page, "validation-error")
    assert not Message.objects.filter(author=volunteer).exists()

    # A server failure: nothing is swapped, the text stays, the error is said next to it.
    page.route("**/submit", lambda route: route.fulfill(status=500, body="boom"))
    page.locator("#reply-text").fill("Short and fine.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-form-error]")).to_contain_text("error 500")
    expect(page.locator("#reply-text")).to_have_value("Short and fine.")
    shot(page, "server-error")
    page.unroute("**/submit")

    # The text survives a reload too (kept as a draft until the server takes it).
    page.reload()
    ready(page)
    expect(page.locator("#reply-text")).to_have_value("Short and fine.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
    assert Message.objects.get(author=volunteer).text == "Short and fine."


def test_skip_report_react_guidelines_and_hotkey_sheet(page, log_in):
    every_kind_project()
    volunteer = UserFactory()
    log_in(page, volunteer)
    page.goto("/dashboard/")
    page.click("[data-nav-item][value='label_assistant_reply']")
    ready(page)
    # Hotkeys are off while typing in a text box, on again after Esc.
    page.keyboard.press("?")
    expect(page.locator("#hotkeys-dialog")).to_be_visible()
    shot(page, "hotkeys")
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    expect(page.locator("#guidelines-dialog")).to_be_visible()
    expect(page.locator("#guidelines-dialog pre code")).to_have_text("print('hello')\n")
    shot(page, "guidelines")
    page.keyboard.press("Escape")

    target_id = int(page.locator(".message.target").get_attribute("data-message-id"))
    page.locator(f"#reactions-{target_id} button[value='+1']").click()
    expect(page.locator(f"#reactions-{target_id} button[value='+1']")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator(f"#reactions-{target_id} button[value='+1'] .count")).to_have_text("1")

    page.keyboard.press("r")
    dialog = page.locator("#report-dialog")
    expect(dialog).to_be_visible()
    page.locator("#report-text").fill("Contains a phone number.")
    page.locator("#report-dialog input[value='pii']").check()
    page.locator("#report-dialog button[type=submit]").click()
    expect(dialog.locator("[data-report-result]")).to_contain_text("A moderator will look at it")
    shot(page, "report")
    page.keyboard.press("Escape")
    from backend.moderation.models import Report

    report = Report.objects.get(reporter=volunteer)
    assert (report.message_id, report.reason, report.text) == (
        target_id,
        "pii",
        "Contains a phone number.",
    )

    assignment_id = int(page.locator("[data-task]").get_attribute("data-assignment"))
    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("ArrowDown")  # the second reason
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text("Skipped")
    skipped = Assignment.objects.get(pk=assignment_id)
    assert (skipped.state, skipped.skip_reason) == (AssignmentState.SKIPPED, "content")
