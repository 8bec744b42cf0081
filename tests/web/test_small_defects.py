"""Small defects a new user met: the landing page's links, the guidelines dialog's
headings, the site icon, Arbor's own 404/500 pages (also with DEBUG on) and one log
line per refused request."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from backend.assignments.models import Assignment
from tests.factories import UserFactory
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_not_sent_to_a_log_in_by_the_landing_page(client, volunteer):
    anonymous = client.get("/").content.decode()
    client.force_login(volunteer)
    signed_in = client.get("/").content.decode()

    assert 'href="/trees/"' not in anonymous
    assert client.get("/trees/").status_code == 200  # signed in, the trees are there
    assert 'href="/trees/"' in signed_in


def test_the_guidelines_dialog_has_one_heading(web, volunteer, project):
    project.guidelines = "# How we write\n\nBe kind and **precise**."
    project.save(update_fields=["guidelines"])
    web.post("/task/claim", {"project": project.slug, "lang": "en", "kind": "initial_prompt"})
    assignment = Assignment.objects.get(user=volunteer)

    page = web.get(f"/task/{assignment.pk}/").content.decode()
    dialog = page[page.index('<dialog id="guidelines-dialog"') :]
    dialog = dialog[: dialog.index("</dialog>")]

    assert dialog.count("<h1") + dialog.count("<h2") == 1
    assert '<h2 id="guidelines-title">How we write</h2>' in dialog
    assert "<strong>precise</strong>" in dialog


def test_the_site_icon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an icon file holding …
    assert b"\x89PNG" in body  # … a PNG image
    assert 'href="/favicon.ico"' in client.get("/").content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_addresses_get_arbors_own_404_page(client, settings, debug):
    settings.DEBUG = debug

    page = client.get("/no/such/page")
    api = client.get("/api/v1/no-such-thing")

    assert page.status_code == 404
    body = page.content.decode()
    assert "There is nothing here." in body and 'class="site-header"' in body
    assert "URLconf" not in body
    assert (api.status_code, api.json()["code"]) == (404, "not_found")


def test_the_404_page_speaks_german(client):
    page = client.get("/no/such/page", HTTP_ACCEPT_LANGUAGE="de")

    assert page.status_code == 404
    assert "There is nothing here." not in page.content.decode()


def test_a_missing_trailing_slash_is_still_redirected(client):
    response = client.get("/dashboard?lang=de")

    assert (response.status_code, response["Location"]) == (301, "/dashboard/?lang=de")


def test_the_500_page_is_arbors(client, settings):
    from django.template.loader import render_to_string

    page = render_to_string("500.html")

    assert "Something went wrong" in page and 'class="site-header"' in page


def test_a_403_is_logged_as_one_line_without_a_traceback(capsys):
    volunteer = UserFactory()
    client = Client(raise_request_exception=False)
    client.force_login(volunteer)
    handler = logging.getLogger().handlers[0]
    records: list[tuple[str, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if all(f.filter(record) for f in handler.filters):
                records.append((record.getMessage(), self.format(record)))

    keep = Keep()
    keep.setFormatter(handler.formatter or logging.Formatter())
    logging.getLogger("django.request").addHandler(keep)
    try:
        response = client.get("/moderation/", **HTMX)
    finally:
        logging.getLogger("django.request").removeHandler(keep)

    assert response.status_code == 403
    [(message, line)] = records
    assert message == "Forbidden (Permission denied): /moderation/"
    # One line (text or JSON, as the log format says), and no traceback in it.
    assert "\n" not in line and "Traceback" not in line and "PermissionDenied" not in line
