"""The dashboard counts only work this person can take: a card's number is what a
claim of that kind would give them (their own message excluded, what they already did
or hold, the language, a ban, the open-assignment limit), and the page stays cheap
however much work there is."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.arena.models import ArenaSettings
from backend.assignments.services import assignment_claim_next
from backend.projects.services import project_create
from tests.factories import SMALL_TREE, growing_tree, people, review, write_prompt

pytestmark = pytest.mark.django_db

CARD = re.compile(r'name="kind" value="(?P<kind>[a-z_]+)"[^>]*data-kind-count="(?P<count>\d*)"')


def cards(user, lang: str = "en") -> dict[str, int]:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    response = client.get(f"/dashboard/?lang={lang}")
    assert response.status_code == 200
    return {
        found["kind"]: int(found["count"])
        for found in CARD.finditer(response.content.decode())
        if found["count"]
    }


@pytest.fixture
def project():  # type: ignore[no-untyped-def]
    return project_create(
        slug="counts",
        settings={**SMALL_TREE, "num_reviews_initial_prompt": 3},
        languages=["en", "de"],
    )


def test_an_author_is_not_offered_replies_to_their_own_prompt(project):
    author, *others = people(1 + project.num_reviews_initial_prompt + 1)
    growing_tree(project, author, others[:-1])
    stranger = others[-1]

    mine, theirs = cards(author), cards(stranger)

    assert mine["assistant_reply"] == 0
    assert theirs["assistant_reply"] == 1
    assert (
        assignment_claim_next(user=author, project=project, lang="en", kind="assistant_reply")
        is None
    )


def test_work_already_done_stops_counting_and_the_count_matches_claims(project):
    author, first, second, third = people(4)
    prompt = write_prompt(project, author)
    assert cards(first)["label_initial_prompt"] == 1

    review(prompt, [first])

    assert cards(first)["label_initial_prompt"] == 0
    assert cards(second)["label_initial_prompt"] == 1
    # The figures are what claiming gives, kind by kind.
    for person in (first, second, author):
        shown = cards(person)
        for kind, count in shown.items():
            if kind == "any":  # also offers a new prompt, which has no count
                continue
            claimed = assignment_claim_next(user=person, project=project, lang="en", kind=kind)
            assert (claimed is not None) == (count > 0), (person.username, kind, count)
            if claimed is not None:
                claimed.delete()
    assert cards(third, lang="de")["label_initial_prompt"] == 0


def test_a_banned_person_sees_no_work(project):
    author, volunteer = people(2)
    write_prompt(project, author)
    volunteer.is_banned = True
    volunteer.save(update_fields=["is_banned"])

    assert set(cards(volunteer).values()) == {0}


def test_the_dashboard_reads_a_bounded_number_of_queries(project):
    """However many items and kinds there are, the counts cost the same few queries."""
    author, *reviewers = people(1 + project.num_reviews_initial_prompt + 1)
    viewer = reviewers.pop()
    client = Client()
    client.force_login(viewer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        return len(captured.captured_queries)

    queries()  # the first request fills this process's caches (the person's gates)
    write_prompt(project, author)
    few = queries()
    for _ in range(3):
        growing_tree(project, author, reviewers)
        write_prompt(project, author)
    many = queries()

    assert many == few
    assert many <= 16


def test_a_kind_the_project_does_not_use_gets_no_card(project):
    """The arena's kind needs models; a project without them does not list it."""
    viewer = people(1)[0]
    client = Client()
    client.force_login(viewer)

    def listed() -> set[str]:
        page = client.get("/dashboard/").content.decode()
        return {
            kind
            for kind in ("compare_model_replies", "write_arena_prompt")
            if f'value="{kind}"' in page
        }

    assert listed() == set()
    arena = ArenaSettings.objects.create(project=project, arena_models=["model-a", "model-b"])
    assert listed() == {"compare_model_replies"}
    # Prompts written for the arena only where the project takes them.
    arena.arena_prompt_source = "both"
    arena.save()
    assert listed() == {"compare_model_replies", "write_arena_prompt"}
