"""Dashboard, leaderboard, profile and tree viewer: what they read and show."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.assignments.models import LABEL_KINDS
from backend.audit.models import AuditEvent
from backend.community.services import community_refresh
from tests.factories import (
    committed,
    growing_tree,
    live_item,
    people,
    rank,
    reserve,
    review,
    write_prompt,
    write_reply,
)
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def test_dashboard_counts_open_work_per_kind_and_lists_my_open_tasks(web, volunteer, project):
    author, reviewer = people(2)
    write_prompt(project, author)
    growing_tree(project, author, [reviewer])
    held = reserve(volunteer, live_item(write_prompt(project, author), LABEL_KINDS))
    response = web.get("/dashboard/")
    assert response.status_code == 200
    work = {row["kind"]: row for row in response.context["work"]}
    # What this person could claim: the held review is theirs already, and one item
    # with two reply slots is one task for them.
    assert work["label_initial_prompt"]["count"] == 1
    assert work["assistant_reply"]["count"] == 1
    assert work["initial_prompt"]["available"] is True
    assert work["any"]["count"] == 2
    assert [assignment.pk for assignment in response.context["open_assignments"]] == [held.pk]
    body = response.content.decode()
    assert f'href="/task/{held.pk}/"' in body
    assert "min left" in body


def test_dashboard_offers_my_languages_first_and_swaps_its_work_list(web, volunteer, project):
    User.objects.filter(pk=volunteer.pk).update(languages=["de"])
    response = web.get("/dashboard/")
    assert response.context["lang"] == "de"
    assert [code for code, _name in response.context["languages"]] == ["de", "en"]
    partial = web.get("/dashboard/?project=web&lang=en", HTTP_HX_TARGET="work", **HTMX)
    assert partial.context["lang"] == "en"
    assert partial.content.decode().startswith('<div id="work"')


def test_leaderboard_reads_the_community_boards(web, volunteer, project):
    author, _reviewer = people(2)
    User.objects.filter(pk=author.pk).update(display_name="Author A")
    write_prompt(project, author)
    community_refresh()
    response = web.get("/leaderboard/?window=day")
    assert response.status_code == 200
    rows = response.context["page"]["results"]
    assert [(row["display_name"], row["points"]) for row in rows] == [("Author A", 4)]
    body = response.content.decode()
    assert "Author A" in body
    assert 'aria-current="page">Today<' in body
    assert web.get("/leaderboard/?window=decade").context["window"] == "week"


def test_profile_shows_my_messages_with_review_and_rank(web, volunteer, project):
    author, writer, reviewer = people(3)
    tree, root = growing_tree(project, author, [reviewer])
    mine = write_reply(root, volunteer, "My **answer**")
    theirs = write_reply(root, writer)
    review(mine, [reviewer])
    review(theirs, [reviewer])
    with committed():  # scoring runs on commit
        rank(root, reviewer, [mine, theirs])
    tree.refresh_from_db()
    assert tree.state == "ready_for_export"
    response = web.get("/me/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "My **answer**" in body
    assert "accepted" in body
    assert "#1 of 2" in body
    assert response.context["contributions"]["assistant_reply"] == 1


def test_profile_settings_are_saved_through_the_service(web, volunteer, project):
    response = web.post(
        "/me/", {"display_name": " Ada ", "languages": ["de", "en"], "show_on_leaderboard": ""}
    )
    assert response.status_code == 302
    volunteer.refresh_from_db()
    assert (volunteer.display_name, volunteer.languages, volunteer.show_on_leaderboard) == (
        "Ada",
        ["de", "en"],
        False,
    )
    event = AuditEvent.objects.get(action="user.profile_updated")
    assert event.before["show_on_leaderboard"] is True
    refused = web.post("/me/", {"display_name": "x" * 151, "languages": ["klingon"]})
    assert refused.status_code == 422
    volunteer.refresh_from_db()
    assert volunteer.display_name == "Ada"


def test_tree_viewer_orders_siblings_by_rank_and_hides_authors_from_volunteers(web, project):
    author, first_writer, second_writer, reviewer = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    first, second = (
        write_reply(root, first_writer, "first written"),
        write_reply(root, second_writer, "second written"),
    )
    review(first, [reviewer])
    review(second, [reviewer])
    with committed():
        rank(root, reviewer, [second, first])
    response = web.get(f"/trees/{tree.pk}/")
    body = response.content.decode()
    assert body.index("second written") < body.index("first written")
    assert "rank #1" in body and "rank #2" in body
    assert second_writer.username not in body
    assert "data-moderate-link" not in body
    listing = web.get("/trees/").content.decode()
    assert f'href="/trees/{tree.pk}/"' in listing
    assert web.get("/trees/999999/").status_code == 404


def test_a_moderator_sees_authors_in_the_tree_viewer(client, make_user, project):
    author, reviewer = people(2)
    tree, root = growing_tree(project, author, [reviewer])
    client.force_login(make_user("moderator"))
    body = client.get(f"/trees/{tree.pk}/").content.decode()
    assert author.username in body
    assert f'href="/moderation/messages/{root.pk}/" data-moderate-link' in body
