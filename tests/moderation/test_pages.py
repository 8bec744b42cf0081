"""The moderators' web pages through Django's test client: who may open them, working
through the queue (next, resolve and go on, skip), the refusals shown on the page, the
message, tree and user tools, the trollboard and the audit log with its CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.moderation.models import QueueItem, UserNote
from backend.trees.models import Message, MessageRevision, Tree
from tests.moderation.builders import flat_tree, with_role
from tests.moderation.mixed_queue import mixed_queue

pytestmark = pytest.mark.django_db


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def trollboard_cells(page: str, username: str) -> tuple[list[str], str]:
    """The numbers in a person's trollboard row, and the row's HTML."""
    row = page[page.index(f'data-troll="{username}"') :]
    row = row[: row.index("</tr>")]
    return re.findall(r'<td class="num">([^<]*)</td>', row), row


def item_states() -> list[tuple[int, str, str, Any]]:
    return list(
        QueueItem.objects.order_by("pk").values_list("pk", "state", "resolution", "claimed_by_id")
    )


# --- Who may open them --------------------------------------------------------------------

PAGES = ["/moderation/", "/moderation/trollboard/", "/moderation/audit/", "/moderation/audit.csv"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [("volunteer", 403), ("researcher", 403), ("moderator", 200), ("admin", 200)],
)
def test_every_page_is_for_moderators_and_admins(role, expected):
    arrivals = mixed_queue(1)
    item = arrivals[0].item
    target = with_role("volunteer")
    client = browser(with_role(role))
    pages = [
        *PAGES,
        f"/moderation/items/{item.pk}/",
        f"/moderation/messages/{arrivals[0].message.pk}/",
        f"/moderation/users/{target.pk}/",
    ]
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, expected)


def test_anonymous_visitors_are_sent_to_log_in_and_nothing_changes():
    arrivals = mixed_queue(1)
    item, message = arrivals[0].item, arrivals[0].message
    target = with_role("volunteer")
    before = item_states()
    client = browser(None)
    gets = [*PAGES, f"/moderation/items/{item.pk}/", f"/moderation/users/{target.pk}/"]
    posts = [
        "/moderation/next",
        f"/moderation/items/{item.pk}/claim",
        f"/moderation/items/{item.pk}/resolve",
        f"/moderation/messages/{message.pk}/delete",
        f"/moderation/trees/{item.tree_id}/halt",
        f"/moderation/users/{target.pk}/ban",
    ]
    for url in gets:
        response = client.get(url)
        assert (response.status_code, response["Location"].split("?")[0]) == (
            302,
            "/accounts/login/",
        ), url
    for url in posts:
        response = client.post(url, {"action": "delete_message"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    assert item_states() == before
    assert not Message.objects.get(pk=message.pk).is_deleted
    assert not User.objects.get(pk=target.pk).is_banned


@pytest.mark.parametrize("role", ["volunteer", "researcher"])
def test_other_roles_cannot_act_through_the_pages(role):
    arrivals = mixed_queue(1)
    item, message = arrivals[0].item, arrivals[0].message
    target = with_role("volunteer")
    before = item_states()
    client = browser(with_role(role))
    posts = {
        "/moderation/next": {},
        f"/moderation/items/{item.pk}/claim": {},
        f"/moderation/items/{item.pk}/resolve": {"action": "delete_message"},
        f"/moderation/items/{item.pk}/release": {},
        f"/moderation/messages/{message.pk}/delete": {},
        f"/moderation/messages/{message.pk}/edit": {"text": "changed"},
        f"/moderation/trees/{item.tree_id}/halt": {},
        f"/moderation/users/{target.pk}/ban": {},
        f"/moderation/users/{target.pk}/note": {"text": "hello"},
    }
    assert {
        url: client.post(url, body).status_code for url, body in posts.items()
    } == dict.fromkeys(posts, 403)
    assert item_states() == before
    assert Message.objects.get(pk=message.pk).text == message.text
    assert not Message.objects.get(pk=message.pk).is_deleted
    assert Tree.objects.get(pk=item.tree_id).state == "growing"
    assert not User.objects.get(pk=target.pk).is_banned
    assert not UserNote.objects.exists()


def test_the_menu_links_to_moderation_for_moderators_only():
    moderator_home = browser(with_role("moderator")).get("/dashboard/").content.decode()
    volunteer_home = browser(with_role("volunteer")).get("/dashboard/").content.decode()
    assert 'href="/moderation/"' in moderator_home
    assert 'href="/moderation/"' not in volunteer_home


# --- The queue page -----------------------------------------------------------------------


def test_the_queue_lists_live_items_oldest_first_with_counts_and_filters(moderator):
    arrivals = mixed_queue(6)  # R F P R S F
    client = browser(moderator)

    page = client.get("/moderation/").content.decode()
    rows = [arrival.item.pk for arrival in arrivals]
    positions = [page.index(f'data-queue-item="{pk}"') for pk in rows]
    assert positions == sorted(positions)
    assert "All reasons (6)" in page
    assert "Reported by a volunteer (2)" in page
    assert "Red flags (2)" in page
    assert "Prompt rejected in review (1)" in page
    assert "Many skipped replies (1)" in page

    flagged = client.get("/moderation/", {"reason": "red_flag"}).content.decode()
    assert [pk for pk in rows if f'data-queue-item="{pk}"' in flagged] == [
        arrivals[1].item.pk,
        arrivals[5].item.pk,
    ]
    nothing = client.get("/moderation/", {"lang": "de"}).content.decode()
    assert "data-queue-item=" not in nothing
    assert "Nothing to moderate." in nothing


def test_the_live_list_is_the_list_alone(moderator):
    arrivals = mixed_queue(2)
    response = browser(moderator).get(
        "/moderation/", {"partial": "list", "reason": "report"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="queue-list"')
    assert "<html" not in body
    assert f'data-queue-item="{arrivals[0].item.pk}"' in body
    assert f'data-queue-item="{arrivals[1].item.pk}"' not in body


# --- Working through the queue ------------------------------------------------------------


def test_next_claims_the_oldest_item_and_resolving_opens_the_one_after(moderator):
    arrivals = mixed_queue(3)  # report, red flag, rejected prompt
    first, second, third = (arrival.item.pk for arrival in arrivals)
    client = browser(moderator)

    opened = client.post("/moderation/next")
    assert opened["Location"] == f"/moderation/items/{first}/"
    page = client.get(opened["Location"]).content.decode()
    assert "Claimed by you" in page
    assert arrivals[0].message.text in page
    assert "an ad" in page  # the report's text

    resolved = client.post(
        f"/moderation/items/{first}/resolve", {"action": "delete_message", "note": "advert"}
    )
    assert resolved["Location"] == f"/moderation/items/{second}/"
    assert Message.objects.get(pk=arrivals[0].message.pk).is_deleted
    assert item_states()[:2] == [
        (first, "resolved", "delete_message", moderator.pk),
        (second, "claimed", "", moderator.pk),
    ]
    assert list(
        AuditEvent.objects.filter(action="queue.resolved").values_list(
            "target_id", "actor_id", "reason", "after"
        )
    ) == [
        (
            str(first),
            moderator.pk,
            "advert",
            {"state": "resolved", "resolution": "delete_message"},
        )
    ]

    assert client.post(f"/moderation/items/{second}/resolve", {"action": "dismiss"})[
        "Location"
    ] == (f"/moderation/items/{third}/")
    done = client.post(f"/moderation/items/{third}/resolve", {"action": "abort_tree"})
    assert done["Location"] == "/moderation/"
    assert Tree.objects.get(pk=arrivals[2].tree.pk).state == "aborted_low_grade"
    assert "The queue is clear." in client.get("/moderation/").content.decode()
    assert [state for _pk, state, _r, _c in item_states()] == ["resolved"] * 3


def test_the_filters_carry_through_next_and_resolve(moderator):
    arrivals = mixed_queue(6)  # R F P R S F
    flags = [arrivals[1].item.pk, arrivals[5].item.pk]
    client = browser(moderator)

    opened = client.post("/moderation/next", {"reason": "red_flag"})
    assert opened["Location"] == f"/moderation/items/{flags[0]}/?reason=red_flag"
    following = client.post(
        f"/moderation/items/{flags[0]}/resolve", {"action": "dismiss", "reason": "red_flag"}
    )
    assert following["Location"] == f"/moderation/items/{flags[1]}/?reason=red_flag"
    last = client.post(
        f"/moderation/items/{flags[1]}/resolve", {"action": "dismiss", "reason": "red_flag"}
    )
    assert last["Location"] == "/moderation/?reason=red_flag"
    assert QueueItem.objects.filter(state="open").count() == 4


def test_skipping_gives_the_item_back_and_moves_on(moderator):
    arrivals = mixed_queue(2)
    first, second = (arrival.item.pk for arrival in arrivals)
    client = browser(moderator)
    client.post("/moderation/next")

    skipped = client.post(f"/moderation/items/{first}/release")
    assert skipped["Location"] == f"/moderation/items/{second}/"
    assert item_states() == [(first, "open", "", None), (second, "claimed", "", moderator.pk)]
    assert AuditEvent.objects.filter(
        action="queue.released", target_id=str(first), actor=moderator
    ).exists()

    # Skipping the last one too: nothing else waits, the skipped ones are listed again.
    back = client.post(f"/moderation/items/{second}/release")
    assert back["Location"] == "/moderation/"
    assert (
        "the items you skipped are back in the list" in client.get("/moderation/").content.decode()
    )


def test_an_item_another_moderator_holds_cannot_be_taken_or_resolved(moderator):
    arrivals = mixed_queue(2)
    first, second = (arrival.item.pk for arrival in arrivals)
    other = with_role("moderator", username="mod-omar")
    browser(other).post(f"/moderation/items/{first}/claim")
    client = browser(moderator)

    assert client.post("/moderation/next")["Location"] == f"/moderation/items/{second}/"
    page = client.get(f"/moderation/items/{first}/").content.decode()
    assert "mod-omar is working on this item." in page
    assert "data-resolve-form" not in page

    refused = client.post(f"/moderation/items/{first}/resolve", {"action": "dismiss", "note": "x"})
    assert refused.status_code == 409
    assert "Another moderator is working on this item." in refused.content.decode()
    claim = client.post(f"/moderation/items/{first}/claim")
    assert claim["Location"] == "/moderation/"
    assert (
        "Another moderator is working on this item." in client.get("/moderation/").content.decode()
    )
    assert item_states()[0] == (first, "claimed", "", other.pk)


def test_a_resolution_without_an_action_keeps_the_note_and_says_what_is_missing(moderator):
    arrivals = mixed_queue(1)
    pk = arrivals[0].item.pk
    client = browser(moderator)
    client.post("/moderation/next")

    refused = client.post(f"/moderation/items/{pk}/resolve", {"note": "half a thought"})
    body = refused.content.decode()
    assert refused.status_code == 422
    assert "Choose what to do with this item." in body
    assert "half a thought</textarea>" in body
    assert item_states() == [(pk, "claimed", "", moderator.pk)]


def test_actions_that_cannot_apply_are_offered_disabled_with_the_reason(moderator):
    arrivals = mixed_queue(5)  # R F P R S
    skips = arrivals[4]
    client = browser(moderator)
    client.post(f"/moderation/items/{skips.item.pk}/claim")
    page = client.get(f"/moderation/items/{skips.item.pk}/").content.decode()
    assert 'value="delete_message" data-action-key="2" disabled' in page
    assert "This item is about a tree, not a message." in page
    assert 'value="ban_author" data-action-key="5" disabled' in page

    refused = client.post(f"/moderation/items/{skips.item.pk}/resolve", {"action": "ban_author"})
    assert refused.status_code == 422
    assert "This item has no author to ban." in refused.content.decode()


def test_a_ban_from_the_queue_can_hide_the_authors_messages(moderator):
    arrivals = mixed_queue(1)
    item, reply = arrivals[0].item, arrivals[0].message
    client = browser(moderator)
    client.post(f"/moderation/items/{item.pk}/claim")
    client.post(
        f"/moderation/items/{item.pk}/resolve",
        {"action": "ban_author", "hide_messages": "on", "note": "spammer"},
    )
    author = User.objects.get(pk=reply.author_id)
    assert author.is_banned
    assert Message.objects.filter(author=author, is_deleted=False).count() == 0
    assert AuditEvent.objects.get(action="user.banned").after == {
        "is_banned": True,
        "hide_messages": True,
        "aborted_trees": [],
        "cancelled_assignments": 0,
        "hidden_messages": 1,
    }


# --- Messages, trees and users ------------------------------------------------------------


def test_editing_keeps_every_revision_and_can_go_back(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    original = reply.text
    client = browser(moderator)
    url = f"/moderation/messages/{reply.pk}/"

    saved = client.post(f"{url}edit", {"text": "A cleaner text.", "reason": "typo"})
    assert saved["Location"] == url
    assert Message.objects.get(pk=reply.pk).text == "A cleaner text."
    page = client.get(url).content.decode()
    assert "The new text is saved" in page
    oldest = MessageRevision.objects.filter(message=reply).order_by("pk").first()
    assert oldest is not None and oldest.text == original

    client.post(f"{url}revert", {"revision": oldest.pk, "reason": "was fine"})
    assert Message.objects.get(pk=reply.pk).text == original
    assert [event.action for event in AuditEvent.objects.filter(target_type="message")][-2:] == [
        "message.edited",
        "message.edited",
    ]


def test_a_blank_edit_is_refused_next_to_the_field_and_the_reason_stays(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    refused = browser(moderator).post(
        f"/moderation/messages/{reply.pk}/edit", {"text": "   ", "reason": "keep me"}
    )
    body = refused.content.decode()
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in body
    assert "Write something first." in body
    assert 'value="keep me"' in body
    assert Message.objects.get(pk=reply.pk).text == reply.text


def test_delete_and_undelete_from_the_message_page(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    client = browser(moderator)
    url = f"/moderation/messages/{reply.pk}/"

    client.post(f"{url}delete", {"reason": "off topic", "next": url})
    assert Message.objects.get(pk=reply.pk).is_deleted
    again = client.post(f"{url}delete", {"next": url})
    assert again["Location"] == url
    assert "already deleted" in client.get(url).content.decode().lower()
    client.post(f"{url}undelete", {"next": url})
    assert not Message.objects.get(pk=reply.pk).is_deleted


def test_halt_and_resume_a_tree_return_it_where_it_was(moderator):
    built = flat_tree("one_reply")
    client = browser(moderator)
    back = f"/moderation/messages/{built.replies['a'].pk}/"

    halted = client.post(f"/moderation/trees/{built.tree.pk}/halt", {"next": back})
    assert halted["Location"] == back
    assert Tree.objects.get(pk=built.tree.pk).state == "halted"
    client.post(f"/moderation/trees/{built.tree.pk}/resume", {"next": back})
    assert Tree.objects.get(pk=built.tree.pk).state == "growing"
    offsite = client.post(
        f"/moderation/trees/{built.tree.pk}/halt", {"next": "https://evil.example/"}
    )
    assert offsite["Location"] == f"/trees/{built.tree.pk}/"


def test_ban_note_and_unban_from_the_user_page(moderator):
    built = flat_tree("one_reply")
    writer = built.writers[0]
    client = browser(moderator)
    url = f"/moderation/users/{writer.pk}/"

    client.post(f"{url}note", {"text": "Watch their replies."})
    client.post(f"{url}ban", {"reason": "spam", "hide_messages": "on"})
    page = client.get(url).content.decode()
    assert "Watch their replies." in page
    assert "data-banned" in page
    assert Message.objects.get(pk=built.replies["a"].pk).is_deleted

    client.post(f"{url}unban", {"reason": "appeal"})
    assert not User.objects.get(pk=writer.pk).is_banned
    assert not Message.objects.get(pk=built.replies["a"].pk).is_deleted
    assert list(UserNote.objects.values_list("user_id", "author_id", "text")) == [
        (writer.pk, moderator.pk, "Watch their replies.")
    ]


def test_an_admin_cannot_be_banned_and_the_page_says_so(moderator):
    admin = with_role("admin", username="root-ada")
    client = browser(moderator)
    assert (
        "Admins cannot be banned." in client.get(f"/moderation/users/{admin.pk}/").content.decode()
    )
    client.post(f"/moderation/users/{admin.pk}/ban", {"reason": "x"})
    assert not User.objects.get(pk=admin.pk).is_banned


def test_unknown_things_answer_404(moderator):
    client = browser(moderator)
    assert client.get("/moderation/items/999999/").status_code == 404
    assert client.get("/moderation/messages/999999/").status_code == 404
    assert client.get("/moderation/users/999999/").status_code == 404
    assert client.post("/moderation/users/999999/ban").status_code == 404
    assert client.post("/moderation/trees/999999/halt").status_code == 404
    assert client.post("/moderation/messages/999999/delete").status_code == 404
    built = flat_tree("one_reply")
    assert client.post(f"/moderation/trees/{built.tree.pk}/explode").status_code == 404
    assert client.post(f"/moderation/messages/{built.root.pk}/explode").status_code == 404


# --- Trollboard and audit log ---------------------------------------------------------------


def test_the_trollboard_page_shows_who_draws_red_flags(moderator):
    arrivals = mixed_queue(2)  # a report, then a red-flagged reply (two flags)
    author = User.objects.get(pk=arrivals[1].message.author_id)
    page = browser(moderator).get("/moderation/trollboard/", {"window": "day"}).content.decode()
    cells, row = trollboard_cells(page, author.username)
    assert cells == [
        "2",
        "0",
        "0",
        "0",
        "0",
        "0",
        "—",
        "—",
    ]
    assert "data-quality-flag" not in row


def test_the_trollboard_page_shows_agreement_accuracy_and_vote_patterns(moderator):
    """The figures the last rescore stored for a person (``AnnotatorQuality``, written
    by the rescore; stored directly here to show how the page presents them)."""
    from django.utils import timezone

    from backend.consensus.models import AnnotatorQuality

    built = flat_tree("one_reply")
    voter = with_role("volunteer", username="random-ray")
    AnnotatorQuality.objects.create(
        project=built.project,
        user=voter,
        ranking_count=40,
        tau_mean=0.05,
        tau_shrunk=0.0421,
        is_random=True,
        random_p_value=0.8,
        label_vote_count=30,
        ds_accuracy=0.905,
        algorithm="annotator-quality",
        algorithm_version=1,
        computed_at=timezone.now(),
    )
    page = browser(moderator).get("/moderation/trollboard/").content.decode()
    cells, row = trollboard_cells(page, "random-ray")
    assert cells == [
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0.04",
        "0.91",
    ]
    assert 'data-quality-flag="random"' in row
    assert 'data-quality-flag="position"' not in row


def test_the_audit_page_filters_pages_and_downloads(moderator, settings):
    arrivals = mixed_queue(3)
    client = browser(moderator)
    client.post("/moderation/next")
    client.post(f"/moderation/items/{arrivals[0].item.pk}/resolve", {"action": "dismiss"})

    page = client.get("/moderation/audit/", {"action": "queue."}).content.decode()
    assert page.count('data-event-action="queue.claimed"') == 2
    assert page.count('data-event-action="queue.resolved"') == 1
    assert 'data-event-action="message.reported"' not in page

    response = client.get("/moderation/audit.csv", {"action": "queue.resolved"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0][:4] == ["id", "created_at", "actor", "action"]
    assert [(row[2], row[3], row[4], row[5]) for row in rows[1:]] == [
        (moderator.username, "queue.resolved", "queue_item", str(arrivals[0].item.pk))
    ]

    everything = AuditEvent.objects.count()
    settings_page = client.get("/moderation/audit/").content.decode()
    assert settings_page.count("data-event-action=") == min(everything, 100)
    assert client.get("/moderation/audit/", {"since": "not a date"}).status_code == 200


def test_the_audit_page_goes_back_in_pages_of_a_hundred(moderator):
    from backend.audit.models import AuditAction
    from backend.audit.services import audit_record

    for number in range(150):
        audit_record(
            action=AuditAction.USER_NOTED, target_type="tree", target_id=number, actor_id=None
        )
    client = browser(moderator)
    first = client.get("/moderation/audit/", {"action": "user.noted"}).content.decode()
    assert first.count('data-event-action="user.noted"') == 100
    newest_ids = list(
        AuditEvent.objects.filter(action="user.noted").order_by("-pk").values_list("pk", flat=True)
    )
    assert f'before={newest_ids[99]}" rel="next"' in first
    second = client.get(
        "/moderation/audit/", {"action": "user.noted", "before": newest_ids[99]}
    ).content.decode()
    assert second.count('data-event-action="user.noted"') == 50
    assert 'rel="next"' not in second
