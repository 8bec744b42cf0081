"""The strict Content-Security-Policy breaks nothing: the main pages, in a real browser,
report no violation (no inline script, style or handler is left, htmx injects no style)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from backend.accounts.models import Role
from backend.accounts.services import user_create
from tests.e2e.scenario import every_kind_project
from tests.helpers import claim

DASHBOARD = re.compile(r"/dashboard/$")
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def _watch(page: Any) -> list[str]:
    reported: list[str] = []
    page.context.add_init_script(COLLECT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            reported.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return reported


def _visit(page: Any, path: str, reported: list[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # let deferred scripts and htmx run
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], f"{path}: {violations}"
    assert reported == [], f"{path}: {reported}"


def test_the_main_pages_report_no_csp_violation(new_page, client_for):
    scenario = every_kind_project()
    user_create(username="vera", password="pw-for-tests-9", email="vera@example.org")
    volunteer_page = new_page()
    reported = _watch(volunteer_page)

    _visit(volunteer_page, "/", reported)
    _visit(volunteer_page, "/accounts/login/", reported)
    volunteer_page.fill("input[name=login]", "vera")
    volunteer_page.fill("input[name=password]", "pw-for-tests-9")
    volunteer_page.click("button[type=submit].primary")
    expect(volunteer_page).to_have_url(DASHBOARD)
    _visit(volunteer_page, "/dashboard/", reported)

    from backend.accounts.models import User

    volunteer = User.objects.get(username="vera")
    assignment = claim(client_for(volunteer), scenario.project.slug)
    assert assignment.status_code == 201, assignment.content
    _visit(volunteer_page, f"/task/{assignment.json()['id']}/", reported)
    _visit(volunteer_page, f"/trees/{scenario.ranking_tree.pk}/", reported)

    admin_page = new_page()
    admin_reported = _watch(admin_page)
    user_create(
        username="root", password="pw-for-tests-9", email="root@example.org", role=Role.ADMIN
    )
    admin_page.goto("/accounts/login/")
    admin_page.fill("input[name=login]", "root")
    admin_page.fill("input[name=password]", "pw-for-tests-9")
    admin_page.click("button[type=submit].primary")
    expect(admin_page).to_have_url(DASHBOARD)
    _visit(admin_page, "/moderation/", admin_reported)
    _visit(admin_page, "/exports/", admin_reported)


def test_the_api_docs_render_offline(new_page):
    """Swagger UI renders the schema from Arbor's own files: no request leaves the
    server, and the page reports no CSP violation."""
    page = new_page()
    reported = _watch(page)
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))

    _visit(page, "/api/docs/", reported)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Arbor API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert hosts == {"localhost"} or hosts == {"127.0.0.1"}, hosts
    assert page.evaluate("window.__cspViolations") == []
    assert reported == []
