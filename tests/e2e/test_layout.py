"""Every page at a desktop width and on a 390 px phone: no sideways scrolling, no key
control cut off, and a screenshot of each under test-artifacts/screenshots/ for people
to look at. The data is realistic: work of every kind, tasks held, reviews and
rankings done, a queue item with several reasons, an export."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.assignments.services import assignment_claim_next
from backend.moderation import services as moderation
from backend.moderation.models import QueueItem
from backend.trees.models import Message
from tests.e2e.conftest import ARTIFACTS, ready
from tests.e2e.scenario import every_kind_project
from tests.factories import people, write_prompt
from tests.moderation.builders import with_role

SCREENSHOTS = ARTIFACTS / "screenshots"

# What is wrong with a page's layout, measured in the page: the document wider than
# the window, or a key control (a button, a link styled as one, a badge, a form field)
# reaching past the window's edges or past a box that clips it.
MEASURE = (Path(__file__).parent / "layout_problems.js").read_text()


@dataclass
class Site:
    volunteer: Any
    moderator: Any
    researcher: Any
    admin: Any
    pages: dict[str, list[str]]


def realistic_site() -> Site:
    world = every_kind_project()
    project = world.project
    volunteer = people(1)[0]
    moderator = with_role("moderator", username="mod-lena")
    researcher = with_role("researcher", username="res-ravi")
    admin = with_role("admin", username="admin-ada")
    # The volunteer's history: a prompt, reviews and rankings done, and open tasks.
    write_prompt(project, volunteer, "What makes sourdough bread rise without yeast from a shop?")
    for kind in ("label_initial_prompt", "rank_assistant_replies", "label_assistant_reply"):
        held = assignment_claim_next(user=volunteer, project=project, lang="en", kind=kind)
        assert held is not None, kind
    # A message reported, red-flagged and flagged by the quality checks: one item.
    reply = Message.objects.filter(tree=world.reply_tree, parent__isnull=False).first()
    assert reply is not None
    reporter = people(1)[0]
    moderation.report_create(message_id=reply.pk, reporter_id=reporter.pk, reason="spam")
    moderation.queue_item_raise(
        reason="red_flag", tree=reply.tree, message=reply, details={"red_flags": 2}
    )
    moderation.queue_item_raise(
        reason="quality_flag", tree=reply.tree, message=reply, details={"flags": ["too_short"]}
    )
    moderation.queue_item_raise(
        reason="many_skips", tree=world.ranking_tree, details={"reply_skips": 12}
    )
    item = QueueItem.objects.filter(message=reply).get()
    task = volunteer_task(volunteer)
    pages = {
        "anonymous": ["/", "/accounts/login/", "/accounts/signup/", "/no/such/page"],
        "volunteer": [
            "/dashboard/",
            f"/task/{task}/",
            f"/task/?project={project.slug}&lang=de&kind=rank_prompter_replies",
            "/leaderboard/",
            "/me/",
            "/trees/",
            f"/trees/{world.reply_tree.pk}/",
            f"/projects/{project.slug}/stats/",
        ],
        "moderator": [
            "/moderation/",
            f"/moderation/items/{item.pk}/",
            f"/moderation/messages/{reply.pk}/",
            f"/moderation/users/{reply.author_id}/",
            "/moderation/trollboard/",
            "/moderation/audit/",
        ],
        "researcher": [
            "/exports/",
            "/models/",
            f"/projects/{project.slug}/arena/",
            f"/projects/{project.slug}/models/",
        ],
        "admin": ["/admin/"],
    }
    return Site(volunteer, moderator, researcher, admin, pages)


def settled(page: Any) -> None:
    """Loaded, and Arbor's scripts done where the page has them."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        """() => document.documentElement.dataset.arborReady === "true"
              || !document.querySelector('script[src*="arbor/app.js"]')"""
    )


def volunteer_task(volunteer: Any) -> int:
    from backend.assignments.models import Assignment

    return Assignment.objects.filter(user=volunteer, state="active").order_by("pk").first().pk


def slug(path: str) -> str:
    """A file name for a page, the same on every run (ids vary)."""
    name = re.sub(r"\d+", "n", path.split("?")[0].strip("/")).replace("/", "_")
    return name or "home"


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "390px"])
def test_every_page_fits_the_window(
    new_page: Callable[..., Any], log_in: Callable[[Any, Any], None], mobile: bool
):
    site = realistic_site()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = "390" if mobile else "desktop"
    for old in SCREENSHOTS.glob(f"{width}-*.png"):
        old.unlink()
    found: dict[str, list[str]] = {}
    for who, paths in site.pages.items():
        page = new_page(mobile=mobile)
        if who != "anonymous":
            log_in(page, getattr(site, who))
        for path in paths:
            page.goto(path)
            settled(page)
            problems = page.evaluate(MEASURE)
            page.screenshot(
                path=str(SCREENSHOTS / f"{width}-{who}-{slug(path)}.png"), full_page=True
            )
            if problems:
                found[f"{who} {path}"] = problems
    assert found == {}, "\n".join(
        f"{where}: {problem}" for where, problems in found.items() for problem in problems
    )


def test_the_keyboard_sheet_opens_at_its_title_on_a_phone(
    new_page: Callable[..., Any], log_in: Callable[[Any, Any], None]
):
    site = realistic_site()
    page = new_page(mobile=True)
    log_in(page, site.volunteer)
    page.goto(site.pages["volunteer"][1])
    ready(page)

    page.keyboard.press("?")
    sheet = page.locator("#hotkeys-dialog")
    sheet.wait_for(state="visible")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "390-volunteer-keyboard-sheet.png"))

    assert sheet.evaluate("(d) => d.scrollTop") == 0
    title = page.locator("#hotkeys-title").bounding_box()
    assert title is not None and title["y"] >= 0
    sheet_box = sheet.bounding_box()
    assert sheet_box is not None and title["y"] >= sheet_box["y"]
