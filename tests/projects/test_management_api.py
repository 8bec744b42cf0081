"""Projects managed in the product: create and change through the API, a validated label
schema, per-language guidelines, audited changes, roles."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.projects.models import Project, default_label_schema
from backend.projects.selectors import project_guidelines, project_kind_instruction
from tests.factories import GOOD_LABELS, people, review, small_project, write_prompt
from tests.helpers import claim as api_claim

pytestmark = pytest.mark.django_db

SCHEMA = [
    {"name": "spam", "kind": "flag", "mandatory": True},
    {
        "name": "on_topic",
        "kind": "flag",
        "mandatory": True,
        "question": "About cooking?",
        "description": "The conversation is about food or cooking.",
    },
    {"name": "tastiness", "kind": "likert", "low": "Bland", "high": "Delicious"},
]


def _create(client, **body):
    payload = {"slug": "kitchen", "name": "Kitchen talk", **body}
    return client.post("/api/v1/projects/", payload, format="json")


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("volunteer", 403), ("moderator", 403), ("researcher", 201), ("admin", 201)],
)
def test_researchers_and_admins_create_projects(make_user, client_for, role, status):
    answer = _create(client_for(make_user(role) if role else None), label_schema=SCHEMA)
    assert answer.status_code == status, answer.content
    assert Project.objects.filter(slug="kitchen").exists() == (status == 201)


def test_a_created_project_has_its_schema_settings_guidelines_and_an_audit_event(
    make_user, client_for
):
    researcher = make_user("researcher")
    answer = _create(
        client_for(researcher),
        languages=["en", "de"],
        guidelines="Talk about food.",
        guidelines_translations={"de": "Sprich über Essen."},
        kind_instructions={"initial_prompt": {"": "Ask a cooking question.", "de": "Frag was."}},
        settings={"max_children": 2, "labelling_mode": "simple"},
        label_schema=SCHEMA,
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["label_schema"] == [
        {"name": "spam", "kind": "flag", "mandatory": True},
        {
            "name": "on_topic",
            "kind": "flag",
            "mandatory": True,
            "question": "About cooking?",
            "description": "The conversation is about food or cooking.",
        },
        {
            "name": "tastiness",
            "kind": "likert",
            "mandatory": False,
            "low": "Bland",
            "high": "Delicious",
        },
    ]
    assert (body["settings"]["max_children"], body["settings"]["labelling_mode"]) == (2, "simple")
    assert body["languages"] == ["en", "de"]
    project = Project.objects.get(slug="kitchen")
    assert project_guidelines(project, "de") == "Sprich über Essen."
    assert project_guidelines(project, "en") == "Talk about food."
    assert project_kind_instruction(project, "initial_prompt", "de-at") == "Frag was."
    assert project_kind_instruction(project, "initial_prompt", "en") == "Ask a cooking question."
    assert project_kind_instruction(project, "assistant_reply", "en") is None
    event = AuditEvent.objects.get(action="project.created")
    assert (event.actor_id, event.project_id) == (researcher.pk, project.pk)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"label_schema": [{"nme": "oops"}]}, "label_schema.0.nme", "unknown_key"),
        ({"label_schema": [{"nme": "oops"}]}, "label_schema.0.name", "invalid"),
        (
            {"label_schema": [{"name": "spam", "kind": "flag"}, {"name": "spam", "kind": "flag"}]},
            "label_schema.1.name",
            "duplicate",
        ),
        (
            {"label_schema": [{"name": "spam", "kind": "flag"}, {"name": "x", "kind": "stars"}]},
            "label_schema.1.kind",
            "invalid_choice",
        ),
        (
            {"label_schema": [{"name": "quality", "kind": "likert"}]},
            "label_schema",
            "spam_required",
        ),
        (
            {"label_schema": [{"name": "spam", "kind": "likert"}]},
            "label_schema.0.name",
            "spam_required",
        ),
        (
            {"label_schema": [{"name": "spam", "kind": "flag", "retired": True}]},
            "label_schema.0.name",
            "spam_required",
        ),
        (
            {"label_schema": [{"name": "spam", "kind": "flag", "low": "no"}]},
            "label_schema.0.low",
            "not_a_scale",
        ),
        ({"label_schema": []}, "label_schema", "invalid"),
        ({"settings": {"acceptance_threshold": 2}}, "settings.acceptance_threshold", "invalid"),
        ({"settings": {"max_children": 0}}, "settings.max_children", "invalid"),
        ({"settings": {"colour": "blue"}}, "settings", "unknown_setting"),
        (
            {"settings": {"assignment_weights": {"initial_prompt": -1}}},
            "settings.assignment_weights.initial_prompt",
            "invalid",
        ),
        ({"languages": []}, "languages", "invalid"),
        (
            {"guidelines_translations": {"xx": "?"}},
            "guidelines_translations.xx",
            "unknown_language",
        ),
        ({"kind_instructions": {"dance": {"": "?"}}}, "kind_instructions.dance", "unknown_kind"),
        ({"slug": "not a slug"}, "slug", "invalid"),
    ],
)
def test_bad_projects_get_field_errors_and_nothing_is_stored(
    make_user, client_for, body, field, code
):
    answer = _create(client_for(make_user("researcher")), **body)
    assert answer.status_code == 400, answer.content
    assert code in [problem["code"] for problem in answer.json()["fields"][field]]
    assert not Project.objects.exists()


def test_a_taken_slug_is_refused(make_user, client_for):
    client = client_for(make_user("researcher"))
    assert _create(client).status_code == 201
    again = _create(client)
    assert again.status_code == 400 and again.json()["fields"]["slug"][0]["code"] == "unique"


def test_a_change_is_audited_with_what_changed_before_and_after(make_user, client_for):
    researcher = make_user("researcher")
    client = client_for(researcher)
    _create(client, settings={"max_children": 3})
    answer = client.patch(
        "/api/v1/projects/kitchen",
        {"name": "Kitchen", "settings": {"max_children": 4, "max_depth": 5}},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert (answer.json()["name"], answer.json()["settings"]["max_children"]) == ("Kitchen", 4)
    event = AuditEvent.objects.get(action="project.updated")
    assert event.actor_id == researcher.pk
    # max_depth was already 5: not a change.
    assert event.before == {"name": "Kitchen talk", "settings": {"max_children": 3}}
    assert event.after == {"name": "Kitchen", "settings": {"max_children": 4}}
    # Nothing changed: no event.
    client.patch("/api/v1/projects/kitchen", {"name": "Kitchen"}, format="json")
    assert AuditEvent.objects.filter(action="project.updated").count() == 1


def test_a_bad_change_changes_nothing(make_user, client_for):
    client = client_for(make_user("researcher"))
    _create(client)
    answer = client.patch(
        "/api/v1/projects/kitchen",
        {"name": "Renamed", "settings": {"acceptance_threshold": -1}},
        format="json",
    )
    assert answer.status_code == 400
    assert Project.objects.get(slug="kitchen").name == "Kitchen talk"
    assert not AuditEvent.objects.filter(action="project.updated").exists()


@pytest.mark.parametrize("role", [None, "volunteer", "moderator"])
def test_others_cannot_change_a_project(make_user, client_for, role):
    _create(client_for(make_user("researcher")))
    answer = client_for(make_user(role) if role else None).patch(
        "/api/v1/projects/kitchen", {"name": "Mine"}, format="json"
    )
    assert answer.status_code in (401, 403)
    assert Project.objects.get(slug="kitchen").name == "Kitchen talk"


def test_a_label_with_votes_can_be_retired_but_not_removed(make_user, client_for):
    project = small_project()
    author, *reviewers = people(4)
    prompt = write_prompt(project, author)
    review(prompt, reviewers[:1], [GOOD_LABELS])  # votes on spam and lang_mismatch
    client = client_for(make_user("researcher"))
    without = [spec for spec in default_label_schema() if spec["name"] != "lang_mismatch"]

    removed = client.patch(
        f"/api/v1/projects/{project.slug}", {"label_schema": without}, format="json"
    )
    assert removed.status_code == 400
    assert removed.json()["fields"]["label_schema"][0]["code"] == "label_in_use"

    as_scale = [
        {**spec, "kind": "likert"} if spec["name"] == "lang_mismatch" else spec
        for spec in default_label_schema()
    ]
    changed = client.patch(
        f"/api/v1/projects/{project.slug}", {"label_schema": as_scale}, format="json"
    )
    assert changed.status_code == 400
    [(field, problems)] = changed.json()["fields"].items()
    assert field.endswith(".kind") and problems[0]["code"] == "label_in_use"

    retired = [
        {**spec, "retired": True} if spec["name"] == "lang_mismatch" else spec
        for spec in default_label_schema()
    ]
    assert (
        client.patch(
            f"/api/v1/projects/{project.slug}", {"label_schema": retired}, format="json"
        ).status_code
        == 200
    )
    # A label nobody voted on may go.
    no_humor = [spec for spec in retired if spec["name"] != "humor"]
    assert (
        client.patch(
            f"/api/v1/projects/{project.slug}", {"label_schema": no_humor}, format="json"
        ).status_code
        == 200
    )

    # A retired label is no longer asked.
    write_prompt(project, author)
    claimed = api_claim(client_for(reviewers[1]), project.slug, "label_initial_prompt")
    assert claimed.status_code == 201, claimed.content
    asked = {spec["name"] for spec in claimed.json()["labels"]}
    assert "lang_mismatch" not in asked and "humor" not in asked and "spam" in asked


def test_admins_grant_and_revoke_roles_audited(make_user, client_for):
    admin = make_user("admin")
    person = make_user("volunteer")
    client = client_for(admin)
    granted = client.post(
        f"/api/v1/users/{person.username}/roles",
        {"role": "researcher", "grant": True},
        format="json",
    )
    assert granted.json() == {"username": person.username, "roles": ["researcher", "volunteer"]}
    revoked = client.post(
        f"/api/v1/users/{person.username}/roles",
        {"role": "researcher", "grant": False},
        format="json",
    )
    assert revoked.json()["roles"] == ["volunteer"]
    events = AuditEvent.objects.filter(target_type="user", target_id=str(person.pk))
    assert [
        (e.action, e.before, e.after) for e in events.filter(action__startswith="user.role")
    ] == [
        ("user.role_granted", {"roles": ["volunteer"]}, {"roles": ["researcher", "volunteer"]}),
        ("user.role_revoked", {"roles": ["researcher", "volunteer"]}, {"roles": ["volunteer"]}),
    ]
    own = client.post(
        f"/api/v1/users/{admin.username}/roles", {"role": "admin", "grant": False}, format="json"
    )
    assert own.status_code == 409 and own.json()["code"] == "cannot_revoke_own_admin"
    assert User.objects.get(pk=admin.pk).is_staff


@pytest.mark.parametrize("role", ["volunteer", "moderator", "researcher"])
def test_only_admins_change_roles(make_user, client_for, role):
    person = make_user("volunteer")
    answer = client_for(make_user(role)).post(
        f"/api/v1/users/{person.username}/roles",
        {"role": "moderator", "grant": True},
        format="json",
    )
    assert answer.status_code == 403
    assert not person.groups.filter(name="moderator").exists()
