"""Who may ban whom: nobody bans themselves, only admins ban moderators, nobody bans
an admin. A refused ban changes nothing; the same rules hold from the queue."""

from __future__ import annotations

import pytest

from tests.moderation.builders import everything, flat_tree, post, with_role

pytestmark = pytest.mark.django_db


def test_a_moderator_cannot_ban_itself(moderator):
    before = everything()

    response = post(moderator, f"/api/v1/users/{moderator.pk}/ban", {"reason": "oops"})

    assert (response.status_code, response.json()["code"]) == (403, "cannot_ban_self")
    assert everything() == before
    moderator.refresh_from_db()
    assert moderator.is_banned is False


def test_a_moderator_cannot_ban_another_moderator(moderator):
    other = with_role("moderator", username="mod-max")
    before = everything()

    response = post(moderator, f"/api/v1/users/{other.pk}/ban", {"hide_messages": True})

    assert (response.status_code, response.json()["code"]) == (403, "cannot_ban_moderator")
    assert everything() == before


def test_an_admin_cannot_ban_itself_and_no_one_bans_an_admin(moderator):
    admin = with_role("admin", username="root-ria")
    other_admin = with_role("admin", username="root-rob")
    before = everything()

    itself = post(admin, f"/api/v1/users/{admin.pk}/ban")
    another = post(admin, f"/api/v1/users/{other_admin.pk}/ban")
    by_moderator = post(moderator, f"/api/v1/users/{admin.pk}/ban")

    assert [(r.status_code, r.json()["code"]) for r in (itself, another, by_moderator)] == [
        (403, "cannot_ban_self"),
        (409, "cannot_ban_admin"),
        (409, "cannot_ban_admin"),
    ]
    assert everything() == before


def test_an_admin_may_ban_a_moderator_and_lift_it(moderator):
    admin = with_role("admin", username="root-ria")

    banned = post(admin, f"/api/v1/users/{moderator.pk}/ban", {"reason": "abuse"})
    unbanned = post(admin, f"/api/v1/users/{moderator.pk}/unban")

    assert (banned.status_code, banned.json()["is_banned"]) == (200, True)
    assert (unbanned.status_code, unbanned.json()["is_banned"]) == (200, False)


def test_resolving_a_report_on_a_moderators_message_cannot_ban_them(moderator):
    built = flat_tree("one_reply")
    colleague = built.author
    colleague.groups.add(*with_role("moderator", username="mod-tmp").groups.all())
    report = post(built.writers[1], f"/api/v1/messages/{built.root.pk}/reports", {"reason": "spam"})
    assert report.status_code == 201, report.content
    item = post(moderator, "/api/v1/moderation/queue/next", {})
    before = everything()

    response = post(
        moderator, f"/api/v1/moderation/queue/{item.json()['id']}/resolve", {"action": "ban_author"}
    )

    assert (response.status_code, response.json()["code"]) == (403, "cannot_ban_moderator")
    assert everything() == before
