"""Accounts in a real browser (sign up, verify by the emailed link, log out, log in),
live notifications over the websocket, the phone layout and the German interface."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from backend.accounts.models import User
from backend.accounts.services import roles_of
from tests.e2e.conftest import no_sideways_scroll, ready, shot
from tests.e2e.scenario import every_kind_project
from tests.factories import UserFactory


def test_sign_up_verify_by_email_then_log_out_and_in(page):
    every_kind_project()
    page.goto("/")
    shot(page, "home")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Username").fill("ada")
    page.locator("input[name=password1]").fill("a long enough password")
    page.locator("input[name=password2]").fill("a long enough password")
    shot(page, "signup")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shot(page, "verification-sent")

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link is not None, mail.outbox[0].body
    page.goto(link.group(0))
    shot(page, "confirm-email")
    # The confirm button has the focus (autofocus may land a frame after load).
    expect(page.get_by_role("button", name="Yes, confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/dashboard/$"))
    expect(page.get_by_role("heading", name="What would you like to do?")).to_be_visible()
    user = User.objects.get(username="ada")
    assert roles_of(user) == ["volunteer"]
    assert user.emailaddress_set.get().verified is True

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill("ada")
    page.locator("input[name=password]").fill("a long enough password")
    shot(page, "login")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/dashboard/$"))
    ready(page)
    expect(page.locator("[data-nav-item][value='any']")).to_be_focused()


def test_my_reply_accepted_arrives_over_the_websocket(new_page, log_in):
    every_kind_project()
    author, reviewer = UserFactory(username="author"), UserFactory(username="reviewer")
    author_page, reviewer_page = new_page(), new_page()
    log_in(author_page, author)
    log_in(reviewer_page, reviewer)

    author_page.goto("/dashboard/")
    author_page.click("[data-nav-item][value='assistant_reply']")
    ready(author_page)
    expect(author_page.locator("[data-live-status]")).to_have_class(re.compile("is-live"))
    author_page.locator("#reply-text").fill(
        "Tides follow the Moon: two bulges of water, twice a day."
    )
    author_page.keyboard.press("Control+Enter")
    expect(author_page.locator(".notice")).to_have_text("Thank you! Saved.")
    message = author.messages.get()

    # Someone else reviews it (through the web app too); one review decides here.
    reviewer_page.goto("/dashboard/")
    reviewer_page.click("[data-nav-item][value='label_assistant_reply']")
    ready(reviewer_page)
    while reviewer_page.locator(".message.target").get_attribute("data-message-id") != str(
        message.pk
    ):
        reviewer_page.keyboard.press("s")
        reviewer_page.keyboard.press("Enter")
        expect(reviewer_page.locator(".notice")).to_contain_text("Skipped")
        ready(reviewer_page)  # the swapped-in panel's keys are wired
    reviewer_page.keyboard.press("n")
    reviewer_page.keyboard.press("Control+Enter")
    expect(reviewer_page.locator(".notice")).to_have_text("Thank you! Saved.")

    toast = author_page.locator("[data-toast]")
    expect(toast).to_contain_text(f"Your message #{message.pk} was accepted.")
    expect(toast.get_by_role("link", name="View")).to_have_attribute(
        "href", f"/trees/{message.tree_id}/#m{message.pk}"
    )
    shot(author_page, "notification")


def test_phone_screen_and_german_interface_with_an_english_task(new_page, log_in):
    every_kind_project()
    volunteer = UserFactory()
    page = new_page(mobile=True, locale="de-DE")
    log_in(page, volunteer)
    page.goto("/dashboard/")
    ready(page)
    # The interface follows the browser's language; the work's language is chosen apart.
    expect(page.get_by_role("heading", name="Was möchtest du tun?")).to_be_visible()
    expect(page.locator("#work-lang")).to_have_value("en")
    no_sideways_scroll(page)
    shot(page, "dashboard-phone-de")
    page.locator("[data-nav-item][value='rank_prompter_replies']").tap()
    ready(page)
    expect(page.locator("#task-title")).to_have_text("Antworten der Person ordnen")
    expect(page.locator(".message").first).to_have_attribute("class", re.compile("role-prompter"))
    no_sideways_scroll(page)
    shot(page, "task-phone-de")

    # Switch the interface to English with the switcher; the page stays the same task.
    page.select_option("#ui-language", "en")
    expect(page.locator("#task-title")).to_have_text("Rank user replies")
