"""The moderation queue: what puts items in it, its filters, claiming, resolving with
each action, moderator notes on users and the trollboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.moderation.models import QueueItem
from backend.trees.models import Message, Tree
from tests.factories import SPAM_LABELS, people, review, small_project, write_prompt
from tests.moderation.builders import everything, flat_tree, get, needs, post, with_role

pytestmark = pytest.mark.django_db


def report(user, message: Message, reason: str = "spam", text: str = ""):  # type: ignore[no-untyped-def]
    return post(user, f"/api/v1/messages/{message.pk}/reports", {"reason": reason, "text": text})


def queue(moderator, **params):  # type: ignore[no-untyped-def]
    response = get(moderator, "/api/v1/moderation/queue", **params)
    assert response.status_code == 200, response.content
    return response.json()


# --- What arrives in the queue ----------------------------------------------------------


def test_reports_of_one_message_make_one_item_counting_them(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    first, second = people(2)

    assert report(first, reply, "pii", "has my email").status_code == 201
    assert report(second, reply, "hate").status_code == 201
    again = report(first, reply, "spam")

    assert (again.status_code, again.json()["code"]) == (409, "already_reported")
    [item] = queue(moderator)
    assert {
        key: item[key] for key in ("reason", "reason_label", "state", "occurrences", "details")
    } == {
        "reason": "report",
        "reason_label": "Reported by a volunteer",
        "state": "open",
        "occurrences": 2,
        "details": {"reports": 2, "last_reason": "hate"},
    }
    assert (item["project"], item["lang"], item["tree_id"], item["tree_state"]) == (
        built.project.slug,
        "en",
        built.tree.pk,
        "growing",
    )
    assert (item["message"]["id"], item["message"]["author_id"], item["claimed_by"]) == (
        reply.pk,
        built.writers[0].pk,
        None,
    )
    events = AuditEvent.objects.filter(action="message.reported").order_by("pk")
    assert [(e.actor_id, e.target_id, e.after, e.reason) for e in events] == [
        (first.pk, str(reply.pk), {"reason": "pii"}, "has my email"),
        (second.pk, str(reply.pk), {"reason": "hate"}, ""),
    ]


def test_a_report_with_an_unknown_reason_or_message_is_refused():
    built = flat_tree("one_reply")
    reporter = people(1)[0]
    before = everything()

    bad_reason = report(reporter, built.replies["a"], "boring")
    missing = post(reporter, "/api/v1/messages/999999/reports", {"reason": "spam"})

    assert (bad_reason.status_code, bad_reason.json()["code"]) == (400, "invalid_choice")
    assert (missing.status_code, missing.json()["code"]) == (404, "message_not_found")
    assert everything() == before


def test_a_prompt_rejected_in_review_is_queued(moderator):
    built = flat_tree("prompt_review")

    review(built.root, [built.reviewer], [SPAM_LABELS])

    [item] = queue(moderator, reason="rejected_prompt")
    assert (item["reason"], item["tree_id"], item["tree_state"], item["message"]["id"]) == (
        "rejected_prompt",
        built.tree.pk,
        "aborted_low_grade",
        built.root.pk,
    )


def test_a_resolved_item_does_not_swallow_a_new_report(moderator):
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    first, second = people(2)
    report(first, reply)
    [item] = queue(moderator)
    post(moderator, f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "dismiss"})

    report(second, reply, "pii")

    [fresh] = queue(moderator)
    assert fresh["id"] != item["id"]
    assert (fresh["occurrences"], fresh["details"]) == (1, {"reports": 2, "last_reason": "pii"})
    assert QueueItem.objects.filter(state="resolved").count() == 1


# --- Filters ------------------------------------------------------------------------------


def test_the_queue_filters_by_project_language_reason_and_state(moderator):
    german_project = small_project(languages=["de"])
    german_author, german_reviewer = people(2)
    german_root = write_prompt(german_project, german_author, lang="de")
    review(german_root, [german_reviewer], [SPAM_LABELS])  # rejected → queued first
    english, other = flat_tree("one_reply"), flat_tree("one_reply")
    reporter = people(1)[0]
    report(reporter, english.replies["a"])
    report(reporter, other.replies["a"], "pii")
    post(moderator, f"/api/v1/trees/{english.tree.pk}/halt")

    everything_open = queue(moderator)
    by_project = queue(moderator, project=english.project.slug)
    by_lang = queue(moderator, lang="de")
    by_reason = queue(moderator, reason="report")
    first = by_project[0]["id"]
    post(moderator, f"/api/v1/moderation/queue/{first}/claim")
    claimed = queue(moderator, state="claimed")
    still_open = queue(moderator, state="open")

    assert [(i["project"], i["lang"], i["reason"]) for i in everything_open] == [
        (german_project.slug, "de", "rejected_prompt"),
        (english.project.slug, "en", "report"),
        (other.project.slug, "en", "report"),
    ]
    assert [i["message"]["id"] for i in by_project] == [english.replies["a"].pk]
    assert [i["message"]["id"] for i in by_lang] == [german_root.pk]
    assert [i["project"] for i in by_reason] == [english.project.slug, other.project.slug]
    assert [i["id"] for i in claimed] == [first]
    assert [(i["project"], i["reason"]) for i in still_open] == [
        (german_project.slug, "rejected_prompt"),
        (other.project.slug, "report"),
    ]
    # An item shows its tree's state as it is now.
    assert everything_open[1]["tree_state"] == "halted"

    bad = get(moderator, "/api/v1/moderation/queue", reason="bored")
    bad_state = get(moderator, "/api/v1/moderation/queue", state="lost")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_choice")
    assert (bad_state.status_code, bad_state.json()["code"]) == (400, "invalid_choice")


# --- Claiming ----------------------------------------------------------------------------


def test_a_claimed_item_is_refused_to_other_moderators_until_the_claim_lapses(moderator):
    built = flat_tree("one_reply")
    report(people(1)[0], built.replies["a"])
    item = QueueItem.objects.get()
    other = with_role("moderator", username="mod-otto")

    claimed = post(moderator, f"/api/v1/moderation/queue/{item.pk}/claim")

    assert claimed.status_code == 200
    body = claimed.json()
    assert (body["state"], body["claimed_by"]) == ("claimed", moderator.username)
    item.refresh_from_db()
    assert timedelta(minutes=14) < item.claim_expires_at - timezone.now() <= timedelta(minutes=15)
    assert AuditEvent.objects.filter(
        action="queue.claimed", target_id=str(item.pk)
    ).get().actor_id == (moderator.pk)

    before = everything()
    taken = post(other, f"/api/v1/moderation/queue/{item.pk}/claim")
    resolve = post(
        other, f"/api/v1/moderation/queue/{item.pk}/resolve", {"action": "delete_message"}
    )
    assert (taken.status_code, taken.json()) == (
        409,
        {
            "code": "already_claimed",
            "detail": "Another moderator is working on this item.",
            "claimed_by": moderator.pk,
        },
    )
    assert (resolve.status_code, resolve.json()["code"]) == (409, "already_claimed")
    assert everything() == before

    # Claiming again extends one's own claim.
    assert post(moderator, f"/api/v1/moderation/queue/{item.pk}/claim").status_code == 200
    # A lapsed claim may be taken over.
    QueueItem.objects.filter(pk=item.pk).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    taken_over = post(other, f"/api/v1/moderation/queue/{item.pk}/claim")
    assert (taken_over.status_code, taken_over.json()["claimed_by"]) == (200, "mod-otto")


def test_claiming_a_resolved_or_unknown_item_is_refused(moderator):
    built = flat_tree("one_reply")
    report(people(1)[0], built.replies["a"])
    item = QueueItem.objects.get()
    post(moderator, f"/api/v1/moderation/queue/{item.pk}/resolve", {"action": "dismiss"})
    before = everything()

    resolved = post(moderator, f"/api/v1/moderation/queue/{item.pk}/claim")
    again = post(moderator, f"/api/v1/moderation/queue/{item.pk}/resolve", {"action": "dismiss"})
    missing = post(moderator, "/api/v1/moderation/queue/999999/claim")
    missing_resolve = post(
        moderator, "/api/v1/moderation/queue/999999/resolve", {"action": "dismiss"}
    )

    assert [
        (r.status_code, r.json()["code"]) for r in (resolved, again, missing, missing_resolve)
    ] == [
        (409, "already_resolved"),
        (409, "already_resolved"),
        (404, "queue_item_not_found"),
        (404, "queue_item_not_found"),
    ]
    assert everything() == before


# --- Resolving -------------------------------------------------------------------------------


def reported_item(built) -> QueueItem:  # type: ignore[no-untyped-def]
    assert report(people(1)[0], built.replies["a"]).status_code == 201
    return QueueItem.objects.get()


def resolve(moderator, item: QueueItem, action: str, **extra):  # type: ignore[no-untyped-def]
    return post(
        moderator,
        f"/api/v1/moderation/queue/{item.pk}/resolve",
        {"action": action, "note": "handled", **extra},
    )


def test_dismissing_resolves_the_item_and_changes_nothing_else(moderator):
    built = flat_tree("one_reply")
    item = reported_item(built)
    post(moderator, f"/api/v1/moderation/queue/{item.pk}/claim")
    needs_before = needs(built.tree)

    response = resolve(moderator, item, "dismiss")

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["resolution"], body["note"]) == ("resolved", "dismiss", "handled")
    item.refresh_from_db()
    assert (item.resolved_by_id, item.resolved_at is not None) == (moderator.pk, True)
    assert needs(built.tree) == needs_before
    assert not Message.objects.filter(is_deleted=True).exists()
    event = AuditEvent.objects.get(action="queue.resolved")
    assert (event.actor_id, event.target_id, event.before, event.after, event.reason) == (
        moderator.pk,
        str(item.pk),
        {"state": "claimed"},
        {"state": "resolved", "resolution": "dismiss"},
        "handled",
    )
    assert queue(moderator) == []
    assert [i["id"] for i in queue(moderator, state="resolved")] == [item.pk]


def test_resolving_by_deleting_the_message(moderator):
    built = flat_tree("one_reply")
    item = reported_item(built)

    response = resolve(moderator, item, "delete_message")

    assert response.status_code == 200
    assert response.json()["message"]["deleted"] is True
    deleted = AuditEvent.objects.get(action="message.deleted")
    assert (deleted.actor_id, deleted.reason, deleted.target_id) == (
        moderator.pk,
        "handled",
        str(built.replies["a"].pk),
    )
    assert needs(built.tree) == [("assistant_reply", built.root.pk, 3, 1, 2)]


@pytest.mark.parametrize(
    ("action", "state"), [("halt_tree", "halted"), ("abort_tree", "aborted_low_grade")]
)
def test_resolving_by_halting_or_aborting_the_tree(moderator, action, state):
    built = flat_tree("one_reply")
    item = reported_item(built)

    response = resolve(moderator, item, action)

    assert response.status_code == 200
    assert response.json()["tree_state"] == state
    tree = Tree.objects.get(pk=built.tree.pk)
    assert (tree.state, tree.halted_from_state) == (state, "growing")


@pytest.mark.parametrize("hide", [False, True])
def test_resolving_by_banning_the_author(moderator, hide):
    built = flat_tree("one_reply")
    item = reported_item(built)
    author = built.writers[0]

    response = resolve(moderator, item, "ban_author", hide_messages=hide)

    assert response.status_code == 200
    author.refresh_from_db()
    assert author.is_banned
    assert AuditEvent.objects.get(action="user.banned").after["hide_messages"] is hide
    assert Message.objects.get(pk=built.replies["a"].pk).is_deleted is hide


def test_refused_resolutions_change_nothing(moderator):
    built = flat_tree("growing", queue_reply_skips=1)
    skipper = people(1)[0]
    from tests.factories import committed

    with committed():
        # A reply is asked for explicitly: "any" may draw a new prompt, whose skip is
        # not a reply skip.
        claimed = post(
            skipper,
            "/api/v1/assignments/",
            {"project": built.project.slug, "lang": "en", "kind": "assistant_reply"},
        )
        assert claimed.status_code == 201, claimed.content
        post(skipper, f"/api/v1/assignments/{claimed.json()['id']}/skip")
    tree_item = QueueItem.objects.get(reason="many_skips")
    before = everything()

    no_message = resolve(moderator, tree_item, "delete_message")
    no_author = resolve(moderator, tree_item, "ban_author")
    unknown = resolve(moderator, tree_item, "shrug")

    assert [(r.status_code, r.json()["code"]) for r in (no_message, no_author, unknown)] == [
        (400, "no_message"),
        (400, "no_author"),
        (400, "invalid_choice"),
    ]
    assert everything() == before


# --- Moderator notes on users ------------------------------------------------------------------


def test_moderators_keep_notes_on_a_user(moderator):
    volunteer = people(1)[0]
    other = with_role("moderator", username="mod-otto")

    first = post(
        moderator, f"/api/v1/users/{volunteer.pk}/notes", {"text": "  Warned about spam.  "}
    )
    second = post(other, f"/api/v1/users/{volunteer.pk}/notes", {"text": "Second warning."})
    listed = get(moderator, f"/api/v1/users/{volunteer.pk}/notes")

    assert (first.status_code, second.status_code, listed.status_code) == (201, 201, 200)
    assert [(n["author_id"], n["text"]) for n in listed.json()] == [
        (moderator.pk, "Warned about spam."),
        (other.pk, "Second warning."),
    ]
    assert list(
        AuditEvent.objects.filter(action="user.noted")
        .order_by("pk")
        .values_list("actor_id", "target_id")
    ) == [(moderator.pk, str(volunteer.pk)), (other.pk, str(volunteer.pk))]

    before = everything()
    blank = post(moderator, f"/api/v1/users/{volunteer.pk}/notes", {"text": "   "})
    missing = post(moderator, "/api/v1/users/999999/notes", {"text": "Who?"})
    missing_list = get(moderator, "/api/v1/users/999999/notes")
    assert [(r.status_code, r.json()["code"]) for r in (blank, missing, missing_list)] == [
        (400, "blank"),
        (404, "user_not_found"),
        (404, "user_not_found"),
    ]
    assert everything() == before


# --- Trollboard ---------------------------------------------------------------------------------


def test_the_trollboard_puts_the_strongest_negative_signals_first(moderator):
    built = flat_tree("one_reply")
    reply_author, prompt_author = built.writers[0], built.author
    flaggers = people(3)
    for flagger in flaggers[:2]:
        post(flagger, f"/api/v1/messages/{built.replies['a'].pk}/reactions", {"emoji": "red_flag"})
    post(flaggers[2], f"/api/v1/messages/{built.root.pk}/reactions", {"emoji": "-1"})
    post(flaggers[2], f"/api/v1/messages/{built.replies['a'].pk}/reactions", {"emoji": "+1"})
    # A second prompt of the prompt author's is rejected as spam: an aborted prompt and
    # a spam label.
    rejected = write_prompt(built.project, prompt_author)
    review(rejected, [built.reviewer], [SPAM_LABELS])

    response = get(moderator, "/api/v1/moderation/trollboard", window="week")

    assert response.status_code == 200
    assert response.json() == [
        {
            "user_id": prompt_author.pk,
            "username": prompt_author.username,
            "red_flags": 0,
            "up": 0,
            "down": 1,
            "flag_labels": 1,
            "spam_labels": 1,
            "aborted_prompts": 1,
            "is_banned": False,
            "agreement": None,
            "quality": None,
        },
        {
            "user_id": reply_author.pk,
            "username": reply_author.username,
            "red_flags": 2,
            "up": 1,
            "down": 0,
            "flag_labels": 0,
            "spam_labels": 0,
            "aborted_prompts": 0,
            "is_banned": False,
            "agreement": None,
            "quality": None,
        },
    ]
    other_project = get(
        moderator, "/api/v1/moderation/trollboard", window="all", project="elsewhere"
    )
    bad_window = get(moderator, "/api/v1/moderation/trollboard", window="year")
    assert other_project.json() == []
    assert (bad_window.status_code, bad_window.json()["code"]) == (400, "invalid_choice")


# --- Next and release over the API ------------------------------------------------------


def test_next_hands_out_the_held_item_first_then_the_oldest_open_one(moderator):
    from tests.moderation.mixed_queue import mixed_queue

    arrivals = mixed_queue(3)
    first, second, third = (arrival.item.pk for arrival in arrivals)
    assert post(moderator, f"/api/v1/moderation/queue/{second}/claim").status_code == 200

    held = post(moderator, "/api/v1/moderation/queue/next")
    assert (held.status_code, held.json()["id"], held.json()["state"]) == (200, second, "claimed")
    post(moderator, f"/api/v1/moderation/queue/{second}/resolve", {"action": "dismiss"})
    assert post(moderator, "/api/v1/moderation/queue/next").json()["id"] == first

    filtered = post(moderator, "/api/v1/moderation/queue/next", {"reason": "rejected_prompt"})
    assert filtered.json()["id"] == third
    bad = post(moderator, "/api/v1/moderation/queue/next", {"reason": "boredom"})
    assert (bad.status_code, bad.json()["fields"]["reason"][0]["code"]) == (400, "invalid_choice")


def test_release_gives_an_item_back_only_to_the_one_holding_it(moderator):
    from tests.moderation.mixed_queue import mixed_queue

    [arrival] = mixed_queue(1)
    pk = arrival.item.pk
    other = with_role("moderator", username="mod-otto")
    assert post(moderator, f"/api/v1/moderation/queue/{pk}/claim").status_code == 200

    refused = post(other, f"/api/v1/moderation/queue/{pk}/release")
    assert (refused.status_code, refused.json()["code"]) == (409, "not_claimed")
    released = post(moderator, f"/api/v1/moderation/queue/{pk}/release")
    assert (released.status_code, released.json()["state"], released.json()["claimed_by"]) == (
        200,
        "open",
        None,
    )
    assert post(other, f"/api/v1/moderation/queue/{pk}/claim").status_code == 200
    missing = post(moderator, "/api/v1/moderation/queue/999999/release")
    assert (missing.status_code, missing.json()["code"]) == (404, "queue_item_not_found")


def test_next_answers_204_when_nothing_is_left(moderator):
    assert post(moderator, "/api/v1/moderation/queue/next").status_code == 204
