"""In a real browser at desktop width and at 390 px: a researcher writes a practice
item on the project's page; a volunteer sees a locked kind on the dashboard and the
page of a kind paused for poor gold answers. No page scrolls sideways; screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backend.onboarding.models import GoldPause, TourProgress, TrainingItem
from tests.e2e.conftest import no_sideways_scroll, shot
from tests.e2e.scenario import every_kind_project
from tests.factories import UserFactory
from tests.moderation.builders import with_role


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_training_items_page_and_locked_and_paused_kinds(new_page, log_in, mobile):
    suffix = "phone" if mobile else "desktop"
    world = every_kind_project(
        slug=f"training-{suffix}",
        qualification={"rank_assistant_replies": {"items": 3, "min_accuracy": 0.8}},
    )
    slug = world.project.slug
    researcher = with_role("researcher")
    page = new_page(mobile=mobile)
    log_in(page, researcher)

    page.goto(f"/projects/{slug}/edit/")
    page.locator("[data-training-link]").click()
    expect(page.get_by_role("heading", name="Practice and gold items")).to_be_visible()
    page.locator("#t-kind").select_option("rank_assistant_replies")
    page.locator("#t-use").select_option("both")
    page.locator("#t-conversation").fill("Which is the largest ocean?")
    page.locator("#t-candidates").fill("The Atlantic.\n---\nThe Pacific, by far.")
    page.locator("#t-ranking").fill("2, 1")
    page.locator("#t-explanation").fill("The Pacific is the largest ocean.")
    no_sideways_scroll(page)
    shot(page, f"training-items-{suffix}")
    page.get_by_role("button", name="Add the item").click()
    expect(page.get_by_role("heading", name="Training item", exact=False)).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"training-item-{suffix}")
    item = TrainingItem.objects.get(project=world.project)
    assert (item.kind, item.use, item.answer_ranking) == ("rank_assistant_replies", "both", [2, 1])

    volunteer = UserFactory()
    TourProgress.objects.create(user=volunteer, state="skipped", started_at=timezone.now())
    GoldPause.objects.create(
        user=volunteer,
        project=world.project,
        kind="label_assistant_reply",
        accuracy=0.2,
        paused_at=timezone.now(),
    )
    volunteer_page = new_page(mobile=mobile)
    log_in(volunteer_page, volunteer)
    volunteer_page.goto(f"/dashboard/?project={slug}&lang=en")
    expect(volunteer_page.locator("[data-kind-locked='rank_assistant_replies']")).to_be_visible()
    expect(volunteer_page.locator("[data-kind-locked='label_assistant_reply']")).to_be_visible()
    no_sideways_scroll(volunteer_page)
    shot(volunteer_page, f"dashboard-locked-kinds-{suffix}")
    volunteer_page.locator("[data-kind-locked='label_assistant_reply']").click()
    expect(volunteer_page.locator("[data-qualification-state='paused']")).to_be_visible()
    no_sideways_scroll(volunteer_page)
    shot(volunteer_page, f"qualification-paused-{suffix}")
