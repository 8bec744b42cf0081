"""A brand-new volunteer, in a real browser at desktop width and at 390 px: signs up,
is taken through the tour with practice tasks (an explanation after each answer,
nothing stored as data), qualifies for a locked kind, does a first real task, and is
handed a gold item that looks like any task and is scored in the background. No page
scrolls sideways; screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from backend.assignments.models import Assignment, LabelVote, RankingVote
from backend.onboarding.models import GoldResult, PracticeRecord, QualificationAttempt
from backend.onboarding.services import training_item_create
from backend.projects.services import project_update
from tests.e2e.conftest import no_sideways_scroll, ready, shot
from tests.e2e.scenario import every_kind_project
from tests.onboarding.helpers import RANKING_ITEM, REVIEW_ITEM


def _items(project) -> None:  # type: ignore[no-untyped-def]
    def add(data):  # type: ignore[no-untyped-def]
        training_item_create(project=project, data=data, actor_id=None)

    add(REVIEW_ITEM)
    add(RANKING_ITEM)
    for n in range(2):
        add(
            {
                **RANKING_ITEM,
                "use": "gold",
                "conversation": [{"role": "prompter", "text": f"Name a prime number ({n})."}],
                "candidates": [{"text": "Seven is prime."}, {"text": "Nine."}],
                "answer_ranking": [1, 2],
                "explanation": "",
            }
        )
    add(
        {
            **REVIEW_ITEM,
            "use": "gold",
            "conversation": [
                {"role": "prompter", "text": "What is two plus two?"},
                {"role": "assistant", "text": "Visit my shop for the answer!"},
            ],
            "answer_labels": {"spam": 1},
        }
    )


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_a_new_volunteer_from_sign_up_to_a_gold_item(new_page, mobile):
    suffix = "phone" if mobile else "desktop"
    world = every_kind_project(
        slug=f"onboard-{suffix}",
        gold_rate=0.0,
        qualification={"rank_assistant_replies": {"items": 2, "min_accuracy": 0.5}},
    )
    project = world.project
    _items(project)
    username = f"newcomer{suffix}"
    page = new_page(mobile=mobile)

    # Sign up and confirm the email address.
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Username").fill(username)
    page.locator("input[name=password1]").fill("a long enough password")
    page.locator("input[name=password2]").fill("a long enough password")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert link is not None
    page.goto(link.group(0))
    # The confirm button takes the focus (autofocus may land a frame after load).
    expect(page.get_by_role("button", name="Yes, confirm")).to_be_focused()
    page.keyboard.press("Enter")

    # The first visit to the dashboard starts the tour.
    expect(page).to_have_url(re.compile("/tour/"))
    expect(page.get_by_role("heading", name="Welcome: a short tour")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"onboarding-tour-{suffix}")
    page.get_by_role("button", name="Start practising").click()

    # Practice 1: a review, drawn like a real one, then the explanation.
    expect(page.locator("[data-practice]")).to_be_visible()
    ready(page)
    expect(page.get_by_text("Buy cheap watches at example.com!!!")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"onboarding-practice-review-{suffix}")
    page.locator("input[name=label-spam][value='1']").check()
    page.locator("input[name=label-quality][value='0']").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-practice-result='correct']")).to_be_visible()
    expect(page.locator("[data-explanation]")).to_contain_text("The reply is an advertisement")
    no_sideways_scroll(page)
    shot(page, f"onboarding-practice-result-{suffix}")
    page.locator("[data-next]").click()

    # Practice 2: a ranking, answered as shown; the known order is explained either way.
    expect(page.locator("[data-rank-list]")).to_be_visible()
    ready(page)
    no_sideways_scroll(page)
    shot(page, f"onboarding-practice-ranking-{suffix}")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-known-ranking] li")).to_have_count(3)
    page.locator("[data-next]").click()

    # The end of the tour names the locked kind; its page says how to unlock it.
    expect(page.locator("[data-tour-done]")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"onboarding-tour-done-{suffix}")
    page.locator("[data-qualify-link='rank_assistant_replies']").click()
    expect(page.locator("[data-qualification-state='locked']")).to_be_visible()
    expect(page.get_by_text("Answer 2 tasks whose answer the project knows")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, f"onboarding-qualification-locked-{suffix}")
    page.get_by_role("button", name="Take the qualification").click()
    for step in (1, 2):
        expect(page.get_by_text(f"Qualification {step} of 2")).to_be_visible()
        ready(page)
        if step == 1:
            no_sideways_scroll(page)
            shot(page, f"onboarding-qualification-task-{suffix}")
        # The known best first: "Seven is prime." is candidate 1.
        page.locator("[data-ranking-input]").evaluate("(input) => { input.value = '1,2'; }")
        page.get_by_role("button", name="Submit").click()
    expect(page.locator("[data-qualification-state='passed']")).to_be_visible()
    shot(page, f"onboarding-qualification-passed-{suffix}")

    # A first real task: a review from the dashboard, where ranking is open now.
    page.goto("/dashboard/")
    expect(page.locator("[data-kind-locked]")).to_have_count(0)
    no_sideways_scroll(page)
    shot(page, f"onboarding-dashboard-{suffix}")
    page.locator("[data-nav-item][value='label_assistant_reply']").click()
    expect(page.get_by_text("Tides come from the Moon's pull on the oceans.")).to_be_visible()
    ready(page)
    # From now on every review claim is a gold item: the next task after this one.
    project_update(slug=project.slug, changes={"settings": {"gold_rate": 1.0}}, actor_id=None)
    page.locator("input[name=label-spam][value='0']").check()
    page.locator("input[name=label-lang_mismatch][value='0']").check()
    page.get_by_role("button", name="Submit").click()

    # The gold item looks like any review; its answer is scored in the background.
    expect(page.get_by_text("Visit my shop for the answer!")).to_be_visible()
    expect(page.locator("[data-undo]")).to_be_visible()
    ready(page)
    no_sideways_scroll(page)
    shot(page, f"onboarding-gold-task-{suffix}")
    page.locator("input[name=label-spam][value='1']").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Visit my shop for the answer!")).to_have_count(0)
    expect(page.get_by_text("Thank you! Saved.").first).to_be_visible()

    from backend.accounts.models import User

    person = User.objects.get(username=username)
    assert PracticeRecord.objects.filter(user=person).count() == 2
    assert QualificationAttempt.objects.get(user=person).is_passed is True
    result = GoldResult.objects.get(user=person, assignment__isnull=False)
    assert (result.kind, result.is_correct) == ("label_assistant_reply", True)
    real = Assignment.objects.filter(user=person, state="submitted", work_item__isnull=False)
    assert [a.kind for a in real] == ["label_assistant_reply"]
    # Only the real review left votes; practice, qualification and gold left none.
    assert set(LabelVote.objects.filter(user=person).values_list("assignment_id", flat=True)) == {
        real.get().pk
    }
    assert not RankingVote.objects.filter(user=person).exists()
