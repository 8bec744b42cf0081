"""The task page warns before a prompt with personal data (or in another language) is
sent; the person can still send it, and it is stored as written."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.trees.models import Message
from tests.e2e.conftest import ready, shot
from tests.e2e.scenario import every_kind_project
from tests.factories import UserFactory


def test_an_email_in_a_prompt_is_warned_about_and_can_be_sent_anyway(page, log_in):
    every_kind_project()
    volunteer = UserFactory()
    log_in(page, volunteer)
    page.goto("/dashboard/")
    page.click("[data-nav-item][value='initial_prompt']")
    ready(page)
    text = (
        "Could you write a polite reminder to my landlord at jane.doe@example.com "
        "about the heating?"
    )
    page.locator("#reply-text").fill(text)
    page.locator("#task-form button[type=submit]").click()

    warning = page.locator("[data-quality-warning]")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(
        "This looks like an email address. Please remove personal data."
    )
    submit = page.locator("#task-form button[type=submit]")
    expect(submit).to_have_text("Submit anyway")
    shot(page, "quality-warning")
    assert not Message.objects.filter(author=volunteer).exists()

    submit.click()
    expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
    assert Message.objects.get(author=volunteer).text == text


def test_a_prompt_in_another_language_is_warned_about(page, log_in):
    every_kind_project()
    volunteer = UserFactory()
    log_in(page, volunteer)
    page.goto("/dashboard/")
    page.click("[data-nav-item][value='initial_prompt']")
    ready(page)
    task_lang = page.locator("[data-quality-warning]").get_attribute("data-lang")
    text = (
        "Kannst du mir bitte erklären, wie man einen guten Sauerteig für Brot ansetzt?"
        if task_lang != "de"
        else "Could you please explain how to start a good sourdough for bread at home?"
    )
    page.locator("#reply-text").fill(text)
    page.keyboard.press("Control+Enter")
    warning = page.locator("[data-quality-warning]")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("another language")

    # Editing the text hides the warning; a clean text in the task's language goes through.
    clean = (
        "How do tides work? Please explain it simply to a curious child."
        if task_lang != "de"
        else "Wie entstehen Ebbe und Flut? Erkläre es bitte einfach für ein Kind."
    )
    page.locator("#reply-text").fill(clean)
    expect(warning).to_be_hidden()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
    assert Message.objects.get(author=volunteer).text == clean
