"""The polish people expect: a colour and an icon per kind of work, with the kind's
name still written beside them."""

from __future__ import annotations

import re

import pytest

from backend.assignments.models import Assignment, Kind
from backend.web.labels import kind_family, kind_title

pytestmark = pytest.mark.django_db

CARD = re.compile(
    r'<button type="submit" name="kind" value="(?P<kind>[a-z_]+)" class="kind-card '
    r'(?P<class>kind-[a-z]+)[^"]*"[^>]*>\s*<span class="kind-title">'
    r'<span class="kind-icon" aria-hidden="true"></span>(?P<title>[^<]+)</span>'
)


def test_each_kind_belongs_to_one_family():
    assert {kind: kind_family(kind) for kind in ["any", *Kind.values]} == {
        "any": "any",
        "initial_prompt": "prompt",
        "prompter_reply": "user",
        "assistant_reply": "assistant",
        "label_initial_prompt": "review",
        "label_prompter_reply": "review",
        "label_assistant_reply": "review",
        "rank_prompter_replies": "ranking",
        "rank_assistant_replies": "ranking",
    }
    assert kind_family("no_such_kind") == "other"


def test_the_dashboard_cards_carry_the_family_class_an_icon_and_the_title(web, project):
    body = web.get("/dashboard/").content.decode()
    cards = {found["kind"]: found for found in CARD.finditer(body)}
    assert set(cards) == {"any", *Kind.values}
    for kind, found in cards.items():
        assert found["class"] == f"kind-{kind_family(kind)}"
        assert found["title"] == str(kind_title(kind))


def test_the_task_heading_carries_the_family_class_and_says_the_kind(web, volunteer, project):
    response = web.post(
        "/task/claim", {"project": project.slug, "lang": "en", "kind": "initial_prompt"}
    )
    assignment = Assignment.objects.get(user=volunteer)
    body = web.get(response["Location"]).content.decode()
    assert f'data-assignment="{assignment.pk}"' in body
    assert '<header class="task-head kind-prompt">' in body
    assert (
        '<h1 id="task-title"><span class="kind-icon" aria-hidden="true"></span>'
        f"{kind_title('initial_prompt')}</h1>"
    ) in body
