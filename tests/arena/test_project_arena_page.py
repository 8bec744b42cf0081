"""A project's arena settings as a page (researchers and admins): the same checks and
audit as the API, post/redirect/get."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.arena.services import arena_settings_of, model_endpoint_create
from backend.audit.models import AuditEvent
from tests.factories import small_project

pytestmark = pytest.mark.django_db

FORM = {
    "arena_models": ["model-a", "model-b"],
    "arena_pool_size": "3",
    "arena_prompt_source": "both",
    "model_reply_models": ["model-b"],
    "model_replies_per_parent": "1",
    "leaderboard_sources": ["arena"],
}


@pytest.fixture
def project():  # type: ignore[no-untyped-def]
    for name in ("model-a", "model-b"):
        model_endpoint_create(name=name, base_url="http://127.0.0.1:9/v1", model=name)
    return small_project()


def test_a_researcher_changes_the_settings(make_user, client, project) -> None:
    client.force_login(make_user(Role.RESEARCHER))
    here = f"/projects/{project.slug}/arena/"
    page = client.get(here).content.decode()
    assert 'name="arena_models" value="model-a">' in page  # nothing chosen yet
    assert 'name="arena_prompt_source" value="accepted" checked>' in page

    response = client.post(here, FORM)
    assert (response.status_code, response["Location"]) == (302, here)
    arena = arena_settings_of(type(project).objects.get(pk=project.pk))
    assert (
        arena.arena_models,
        arena.arena_pool_size,
        arena.arena_prompt_source,
        arena.model_reply_models,
        arena.model_replies_per_parent,
        arena.leaderboard_sources,
    ) == (["model-a", "model-b"], 3, "both", ["model-b"], 1, ["arena"])
    event = AuditEvent.objects.get(action="arena.settings_updated")
    assert event.after["arena_prompt_source"] == "both"
    page = client.get(here).content.decode()
    assert 'name="arena_models" value="model-a" checked>' in page
    assert 'name="arena_prompt_source" value="both" checked>' in page


def test_bad_input_saves_nothing_and_says_why(make_user, client, project) -> None:
    client.force_login(make_user(Role.RESEARCHER))
    here = f"/projects/{project.slug}/arena/"
    shown = client.post(here, {**FORM, "arena_models": ["model-a", "no-such"]}, follow=True)
    assert "No model &#x27;no-such&#x27;." in shown.content.decode()
    shown = client.post(here, {**FORM, "arena_pool_size": "many"}, follow=True)
    assert "A whole number." in shown.content.decode()
    shown = client.post(here, {**FORM, "arena_prompt_source": "mine"}, follow=True)
    assert "One of &quot;accepted&quot;, &quot;written&quot;, &quot;both&quot;." in (
        shown.content.decode()
    )
    assert not AuditEvent.objects.filter(action="arena.settings_updated").exists()
    assert arena_settings_of(project).arena_models == []


def test_volunteers_do_not_get_the_page(make_user, client, project) -> None:
    client.force_login(make_user(Role.VOLUNTEER))
    assert client.get(f"/projects/{project.slug}/arena/").status_code == 403
    assert client.post(f"/projects/{project.slug}/arena/", FORM).status_code == 403
    assert arena_settings_of(project).arena_models == []


def test_an_unknown_project_is_a_404(make_user, client) -> None:
    client.force_login(make_user(Role.RESEARCHER))
    assert client.get("/projects/no-such/arena/").status_code == 404
