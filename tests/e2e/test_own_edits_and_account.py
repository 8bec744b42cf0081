"""In a real browser, at desktop width and at 390 px: a volunteer edits their own
prompt from the tree viewer, suggests a later edit, a moderator accepts it from the
diff page, and the volunteer opts out of leaderboards and deletes their account from
"My account". No page scrolls sideways; screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.moderation.models import EditSuggestion
from backend.trees.models import Message
from tests.e2e.conftest import no_sideways_scroll, shot
from tests.factories import people, review, small_project, write_prompt
from tests.moderation.builders import with_role

PASSWORD = "a-long-test-password"


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_own_edit_then_suggestion_then_acceptance(new_page, log_in, mobile):
    from playwright.sync_api import expect

    suffix = "phone" if mobile else "desktop"
    project = small_project(own_edit_window_minutes=0)
    author, reviewer = people(2)
    moderator = with_role("moderator")
    prompt = write_prompt(project, author, text="Wich planet is the biggest one in our system?")

    page = new_page(mobile=mobile)
    log_in(page, author)
    page.goto(f"/trees/{prompt.tree_id}/")
    page.locator("[data-edit-link]").first.click()
    expect(page.get_by_role("heading", name="Edit my message")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"own-edit-{suffix}")
    page.locator("#own-edit-text").fill("Which planet is the biggest one in our system?")
    page.get_by_role("button", name="Save my edit").click()
    expect(page.locator(".flash")).to_contain_text("Your edit is saved")
    assert Message.objects.get(pk=prompt.pk).text == (
        "Which planet is the biggest one in our system?"
    )

    review(prompt, [reviewer])
    page.goto(f"/messages/{prompt.pk}/edit")
    expect(page.get_by_role("heading", name="Suggest an edit")).to_be_visible()
    page.locator("#suggest-text").fill("Which planet is the largest in the solar system?")
    page.locator("#suggest-reason").fill("clearer")
    no_sideways_scroll(page)
    shot(page, f"suggest-edit-{suffix}")
    page.get_by_role("button", name="Send my suggestion").click()
    expect(page.locator("[data-pending-suggestion]")).to_be_visible()

    moderator_page = new_page(mobile=mobile)
    log_in(moderator_page, moderator)
    moderator_page.goto("/moderation/suggestions/")
    no_sideways_scroll(moderator_page)
    shot(moderator_page, f"suggestions-{suffix}")
    moderator_page.locator("[data-suggestions] a").first.click()
    expect(moderator_page.locator("[data-diff] del")).to_have_text(["biggest one", "our"])
    expect(moderator_page.locator("[data-diff] ins")).to_have_text(["largest", "the solar"])
    no_sideways_scroll(moderator_page)
    shot(moderator_page, f"suggestion-diff-{suffix}")
    moderator_page.get_by_role("button", name="Accept the new text").click()
    expect(moderator_page.locator(".flash")).to_contain_text("The suggested text is applied")
    assert EditSuggestion.objects.get().state == "accepted"
    assert Message.objects.get(pk=prompt.pk).text == (
        "Which planet is the largest in the solar system?"
    )


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_my_account_opt_out_and_deletion(new_page, log_in, mobile):
    from playwright.sync_api import expect

    suffix = "phone" if mobile else "desktop"
    (person,) = people(1)
    person.set_password(PASSWORD)
    person.save(update_fields=["password"])
    page = new_page(mobile=mobile)
    log_in(page, person)
    page.goto("/dashboard/")
    page.get_by_role("link", name="My account").click()
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"my-account-{suffix}")

    page.get_by_label("No, keep me off the leaderboards").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.locator(".flash")).to_contain_text("no longer shown on leaderboards")
    assert User.objects.get(pk=person.pk).show_on_leaderboard is False

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename == "arbor-my-data.json"

    page.locator("#delete-password").fill("not it")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.locator("#delete-password-error")).to_have_text("That is not your password.")
    no_sideways_scroll(page)
    page.locator("#delete-password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.locator(".flash")).to_contain_text("Your account is deleted")
    assert User.objects.get(pk=person.pk).deleted_at is not None
