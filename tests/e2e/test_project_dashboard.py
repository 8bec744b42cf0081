"""The project dashboard in a real browser: the charts are drawn (uPlot canvases from the
bundled script), no Content-Security-Policy violation, no sideways scrolling on a phone."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, no_sideways_scroll, ready
from tests.factories import UserFactory
from tests.web.test_project_dashboard import built_project

CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"), full_page=True)


def test_the_dashboard_draws_its_charts_within_the_csp_on_a_phone(new_page, log_in):
    project = built_project()
    page = new_page(mobile=True)
    page.add_init_script(CSP_WATCH)
    log_in(page, UserFactory())

    page.goto(f"/projects/{project.slug}/stats/")

    for chart in ("hourly", "daily"):
        expect(page.locator(f"[data-chart='{chart}'] canvas")).to_have_count(1)
    expect(page.locator("[data-figure='moderation-open']")).to_have_text("2")
    expect(page.locator("[data-updated]")).not_to_be_empty()
    assert page.evaluate("window.__cspViolations") == []
    no_sideways_scroll(page)
    shot(page, "project-dashboard-390")


def test_the_dashboard_on_a_desktop(new_page, log_in):
    project = built_project()
    page = new_page()
    page.add_init_script(CSP_WATCH)
    log_in(page, UserFactory())

    page.goto(f"/projects/{project.slug}/stats/")

    expect(page.locator("[data-chart='hourly'] canvas")).to_have_count(1)
    expect(page.locator("[data-chart='hourly'] .u-legend")).to_contain_text("Messages")
    assert page.evaluate("window.__cspViolations") == []
    shot(page, "project-dashboard")


def test_a_submission_updates_the_open_dashboard_over_the_websocket(new_page, log_in):
    project = built_project()
    page = new_page()
    log_in(page, UserFactory())
    page.goto(f"/projects/{project.slug}/stats/")
    expect(page.locator("[data-dashboard]")).to_have_attribute("data-live", "socket")
    active = page.locator("[data-figure='active-24h']")
    expect(active).to_have_text("2")

    # Someone else writes a prompt in another browser.
    writer = new_page()
    log_in(writer, UserFactory())
    writer.goto("/dashboard/")
    writer.click("[data-nav-item][value='initial_prompt']")
    ready(writer)
    writer.locator("#reply-text").fill("How do tides work? Please explain it simply.")
    writer.locator("#task-form button[type=submit]").click()
    expect(writer.locator(".notice")).to_have_text("Thank you! Saved.")

    # Well before the 30-second poll: the push made the page re-fetch.
    expect(active).to_have_text("3", timeout=10_000)
