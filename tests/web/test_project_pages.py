"""The project pages: a researcher creates a project with its own labels and guidelines
and changes it without Django admin; others are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.audit.models import AuditEvent
from backend.projects.models import Project
from backend.projects.selectors import project_guidelines

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**extra: str) -> dict[str, str]:
    form = {
        "slug": "kitchen",
        "name": "Kitchen talk",
        "languages": "en, de",
        "guidelines": "Talk about food.",
        "guidelines-de": "Sprich über Essen.",
        "label-count": "3",
        "label-0-name": "spam",
        "label-0-kind": "flag",
        "label-0-mandatory": "on",
        "label-1-name": "on_topic",
        "label-1-kind": "flag",
        "label-1-question": "About cooking?",
        "label-2-name": "tastiness",
        "label-2-kind": "likert",
        "label-2-low": "Bland",
        "label-2-high": "Delicious",
        "setting-max_children": "2",
        "setting-labelling_mode": "full",
        "weight-initial_prompt": "0.5",
        "instruction-initial_prompt-": "Ask a cooking question.",
    }
    form.update(extra)
    return form


@pytest.mark.parametrize("role", ["volunteer", "moderator"])
def test_other_roles_are_refused(make_user, role):
    client = _client(make_user(role))
    assert client.get("/projects/").status_code == 403
    assert client.get("/projects/new/").status_code == 403
    assert client.post("/projects/new/", _form()).status_code == 403
    assert not Project.objects.exists()


def test_a_researcher_creates_and_edits_a_project_with_its_labels(make_user):
    client = _client(make_user("researcher"))
    assert "New project" in client.get("/projects/new/").content.decode()

    created = client.post("/projects/new/", _form())
    assert created.status_code == 302 and created["Location"] == "/projects/kitchen/edit/"
    project = Project.objects.get(slug="kitchen")
    assert project.label_schema == [
        {"name": "spam", "kind": "flag", "mandatory": True},
        {"name": "on_topic", "kind": "flag", "mandatory": False, "question": "About cooking?"},
        {
            "name": "tastiness",
            "kind": "likert",
            "mandatory": False,
            "low": "Bland",
            "high": "Delicious",
        },
    ]
    assert (project.languages, project.max_children) == (["en", "de"], 2)
    assert project.assignment_weights["initial_prompt"] == 0.5
    assert project.kind_instructions == {"initial_prompt": {"": "Ask a cooking question."}}
    assert project_guidelines(project, "de") == "Sprich über Essen."

    page = client.get("/projects/kitchen/edit/").content.decode()
    assert 'value="on_topic"' in page and "Sprich über Essen." in page
    # Retire a label, rename the project; spare rows left empty are ignored.
    edited = client.post(
        "/projects/kitchen/edit/",
        _form(name="Kitchen", **{"label-1-retired": "on", "is_active": "on"}),
    )
    assert edited.status_code == 302
    project.refresh_from_db()
    assert project.name == "Kitchen" and project.label_schema[1]["retired"] is True
    assert AuditEvent.objects.filter(action="project.updated").count() == 1


def test_a_bad_schema_is_explained_and_nothing_is_saved(make_user):
    client = _client(make_user("researcher"))
    answer = client.post(
        "/projects/new/", _form(**{"label-0-name": "quality", "label-0-kind": "likert"})
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Nothing was saved" in page and "spam is always asked" in page
    assert 'value="on_topic"' in page  # what was typed is kept
    assert not Project.objects.exists()


def test_the_task_page_shows_the_projects_instruction_and_guidelines_in_the_persons_language(
    make_user, client_for
):
    from backend.projects.services import project_create
    from tests.helpers import claim

    project = project_create(
        slug="kitchen",
        guidelines="Talk about food.",
        guidelines_translations={"de": "Sprich **über** Essen."},
        kind_instructions={"initial_prompt": {"": "Ask a *cooking* question.", "de": "Frag was."}},
    )
    volunteer = make_user()
    assignment = claim(client_for(volunteer), project.slug, "initial_prompt").json()
    client = _client(volunteer)
    english = client.get(f"/task/{assignment['id']}/").content.decode()
    assert "Ask a <em>cooking</em> question." in english and "Talk about food." in english
    german = client.get(f"/task/{assignment['id']}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Frag was." in german and "Sprich <strong>über</strong> Essen." in german
