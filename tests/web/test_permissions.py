"""Who may open what: volunteers get the task flow, never the role pages."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from backend.accounts.models import User
from backend.accounts.page_permissions import role_page
from tests.factories import people

pytestmark = pytest.mark.django_db

VOLUNTEER_PAGES = ["/dashboard/", "/leaderboard/", "/me/", "/trees/", "/task/?project=web"]
# Pages for other roles, with the roles that may open them. Moderator pages join this
# list as they are built.
ROLE_PAGES = {"/exports/": {"researcher", "admin"}}


@pytest.mark.parametrize("path", VOLUNTEER_PAGES + list(ROLE_PAGES))
def test_anonymous_people_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", VOLUNTEER_PAGES)
def test_a_volunteer_opens_the_volunteer_pages(web, project, path):
    assert web.get(path).status_code in (200, 302)


@pytest.mark.parametrize("path", list(ROLE_PAGES))
def test_a_volunteer_cannot_open_role_pages(web, path):
    response = web.get(path)
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


@pytest.mark.parametrize("path", list(ROLE_PAGES))
def test_the_role_opens_its_page(client, make_user, path):
    for role in ROLE_PAGES[path] - {"admin"}:
        client.force_login(make_user(role))
        assert client.get(path).status_code == 200


def test_a_volunteer_cannot_open_the_admin(web):
    response = web.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_menu_shows_role_links_only_to_the_role(web, client, make_user):
    assert 'href="/exports/"' not in web.get("/dashboard/").content.decode()
    client.force_login(make_user("researcher"))
    assert 'href="/exports/"' in client.get("/dashboard/").content.decode()


def test_role_page_refuses_other_roles(make_user):
    @role_page("moderator")
    def queue(request):
        return HttpResponse("queue")

    factory = RequestFactory()
    for role, status in (
        ("volunteer", 403),
        ("researcher", 403),
        ("moderator", 200),
        ("admin", 200),
    ):
        request = factory.get("/moderation/")
        request.user = make_user(role)
        if status == 403:
            from django.core.exceptions import PermissionDenied

            with pytest.raises(PermissionDenied):
                queue(request)
        else:
            assert queue(request).status_code == 200


def test_a_banned_person_reads_but_cannot_write(web, volunteer, project):
    User.objects.filter(pk=volunteer.pk).update(is_banned=True)
    assert web.get("/dashboard/").status_code == 200
    response = web.post("/task/claim", {"project": "web", "lang": "en", "kind": "any"})
    assert response.status_code == 403
    author = people(1)[0]
    from tests.factories import write_prompt

    message = write_prompt(project, author)
    assert web.post(f"/messages/{message.pk}/react", {"emoji": "+1"}).status_code == 403
