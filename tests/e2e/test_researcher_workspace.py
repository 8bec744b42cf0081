"""A researcher sets up a project with its own labels in the product, volunteers work
under it, and the project's dashboard shows it: no Django admin, no shell."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.accounts.services import user_create
from tests.e2e.conftest import ready, shot
from tests.factories import UserFactory


def test_a_new_project_with_its_own_labels_from_setup_to_the_dashboard(new_page, log_in):
    researcher = user_create(username="rita", password="pw-for-tests-9", role="researcher")
    page = new_page()
    log_in(page, researcher)

    page.goto("/projects/new/")
    page.fill("#p-slug", "kitchen")
    page.fill("#p-name", "Kitchen talk")
    page.fill("#p-languages", "en")
    page.fill("#p-guidelines", "Talk about **food**.")
    page.fill("#l-0-name", "spam")
    page.fill("#l-1-name", "on_topic")
    page.fill("#l-1-question", "About cooking?")
    page.check("input[name='label-1-mandatory']")
    page.fill("#s-num_reviews_initial_prompt", "1")
    shot(page, "project-new")
    page.click("[data-project-form] button[type=submit]")
    expect(page).to_have_url("/projects/kitchen/edit/")
    expect(page.locator("#l-1-name")).to_have_value("on_topic")

    # A volunteer writes the first prompt of the new project …
    writer = new_page(mobile=True)
    log_in(writer, UserFactory())
    writer.goto("/dashboard/?project=kitchen")
    writer.click("[data-nav-item][value='initial_prompt']")
    ready(writer)
    writer.locator("#reply-text").fill("How long should I rest a steak after cooking it?")
    writer.locator("#task-form button[type=submit]").click()
    expect(writer.locator(".notice")).to_have_text("Thank you! Saved.")

    # … and another reviews it, asked the project's own question.
    reviewer = new_page(mobile=True)
    log_in(reviewer, UserFactory())
    reviewer.goto("/dashboard/?project=kitchen")
    reviewer.click("[data-nav-item][value='label_initial_prompt']")
    ready(reviewer)
    expect(reviewer.locator("#task")).to_contain_text("About cooking?")
    shot(reviewer, "project-custom-label-390")

    page.goto("/projects/kitchen/stats/")
    expect(page.locator("[data-figure='active-24h']")).to_have_text("1")
    expect(page.locator("[data-progress]")).to_contain_text("1")
    shot(page, "project-dashboard-new-project")
