"""The audit log: filters (actor, action exact or by prefix, target, project, time
window), paging newest first by ``before_id``, and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from backend.audit.models import AuditEvent
from tests.moderation.builders import everything, flat_tree, get, post, with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged():  # type: ignore[no-untyped-def]
    """Two moderators at work in two projects."""
    ada = with_role("moderator", username="mod-ada")
    bo = with_role("moderator", username="mod-bo")
    first, second = flat_tree("one_reply"), flat_tree("one_reply")
    assert post(ada, f"/api/v1/trees/{first.tree.pk}/halt", {"reason": "check"}).status_code == 200
    assert post(ada, f"/api/v1/trees/{first.tree.pk}/resume", {"reason": "ok"}).status_code == 200
    assert (
        post(
            ada, f"/api/v1/messages/{first.replies['a'].pk}/delete", {"reason": "spam"}
        ).status_code
        == 200
    )
    assert post(bo, f"/api/v1/trees/{second.tree.pk}/halt").status_code == 200
    assert (
        post(bo, f"/api/v1/users/{second.writers[1].pk}/ban", {"reason": "troll"}).status_code
        == 200
    )
    assert (
        post(bo, f"/api/v1/users/{second.writers[1].pk}/notes", {"text": "banned"}).status_code
        == 201
    )
    return {"ada": ada, "bo": bo, "first": first, "second": second}


def log(moderator, **params):  # type: ignore[no-untyped-def]
    response = get(moderator, "/api/v1/audit-log", **params)
    assert response.status_code == 200, response.content
    return response.json()


def actions(events: list[dict]) -> list[str]:
    return [event["action"] for event in events]


def test_filter_by_actor_name_or_id(logged):
    ada, bo = logged["ada"], logged["bo"]

    assert actions(log(ada, actor="mod-ada")) == ["message.deleted", "tree.resumed", "tree.halted"]
    assert actions(log(ada, actor=str(bo.pk))) == ["user.noted", "user.banned", "tree.halted"]
    assert log(ada, actor="nobody") == []


def test_one_event_in_full(logged):
    ada, first = logged["ada"], logged["first"]

    [event] = log(ada, actor="mod-ada", action="message.deleted")

    stored = AuditEvent.objects.get(action="message.deleted")
    assert event == {
        "id": stored.pk,
        "created_at": stored.created_at.isoformat().replace("+00:00", "Z"),
        "actor": "mod-ada",
        "action": "message.deleted",
        "target_type": "message",
        "target_id": str(first.replies["a"].pk),
        "project": first.project.slug,
        "before": {"deleted": False},
        "after": {"deleted": True, "subtree": [first.replies["a"].pk]},
        "reason": "spam",
    }


def test_filter_by_exact_action_or_prefix(logged):
    ada, first, second = logged["ada"], logged["first"], logged["second"]

    halted = log(ada, action="tree.halted")
    whole_tree = log(ada, action="tree.", project=first.project.slug)
    user_actions = log(ada, action="user.", actor="mod-bo")

    assert [(e["target_id"], e["actor"]) for e in halted] == [
        (str(second.tree.pk), "mod-bo"),
        (str(first.tree.pk), "mod-ada"),
    ]
    assert actions(whole_tree) == [
        "tree.resumed",
        "tree.halted",
        "tree.growing",
        "tree.backlog",
        "tree.created",
    ]
    assert actions(user_actions) == ["user.noted", "user.banned"]
    # Without the dot an action is matched exactly, never as a prefix.
    assert log(ada, action="tree") == []


def test_filter_by_target_and_project(logged):
    ada, first, second = logged["ada"], logged["first"], logged["second"]

    by_target = log(ada, target_type="tree", target_id=str(first.tree.pk))
    by_project = log(ada, project=second.project.slug, actor="mod-bo")

    assert actions(by_target) == [
        "tree.resumed",
        "tree.halted",
        "tree.growing",
        "tree.backlog",
        "tree.created",
    ]
    assert {e["target_id"] for e in by_target} == {str(first.tree.pk)}
    # A ban or a note concerns a user, not a project.
    assert actions(by_project) == ["tree.halted"]
    assert log(ada, project="no-such-project") == []


def test_filter_by_time_window(logged):
    ada = logged["ada"]
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    AuditEvent.objects.update(created_at=noon - timedelta(days=1))
    mine = list(AuditEvent.objects.filter(actor=ada).order_by("pk"))
    for hours, event in enumerate(mine):
        AuditEvent.objects.filter(pk=event.pk).update(created_at=noon + timedelta(hours=hours))

    window = log(ada, since="2026-03-01T12:30:00Z", until="2026-03-01T14:00:00Z")
    from_noon = log(ada, since="2026-03-01T12:00:00+00:00")
    before_noon = log(ada, until="2026-03-01T12:00:00Z")

    # ``since`` is inclusive, ``until`` exclusive.
    assert [e["id"] for e in window] == [mine[1].pk]
    assert [e["id"] for e in from_noon] == [event.pk for event in reversed(mine)]
    assert len(before_noon) == AuditEvent.objects.count() - 3


def test_paging_newest_first_by_before_id(logged):
    ada = logged["ada"]
    expected = list(
        AuditEvent.objects.filter(actor=ada).order_by("-pk").values_list("pk", flat=True)
    )

    first_page = log(ada, actor="mod-ada", limit=2)
    second_page = log(ada, actor="mod-ada", limit=2, before_id=first_page[-1]["id"])
    past_the_end = log(ada, actor="mod-ada", limit=2, before_id=second_page[-1]["id"])

    assert [e["id"] for e in first_page] == expected[:2]
    assert [e["id"] for e in second_page] == expected[2:]
    assert past_the_end == []
    assert len(log(ada)) == min(100, AuditEvent.objects.count())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45T00:00:00Z"}, "until"),
        ({"before_id": "abc"}, "before_id"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_filters_are_refused(logged, params, field):
    response = get(logged["ada"], "/api/v1/audit-log", **params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]


def test_the_csv_export_has_a_header_and_one_row_per_matching_event(logged):
    ada, first = logged["ada"], logged["first"]
    before = everything()

    response = get(ada, "/api/v1/audit-log", actor="mod-ada", format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="arbor-audit-log.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    events = list(AuditEvent.objects.filter(actor=ada).order_by("-pk"))
    assert rows == [
        [
            "id",
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "project",
            "before",
            "after",
            "reason",
        ],
        *[
            [
                str(event.pk),
                event.created_at.isoformat(),
                "mod-ada",
                event.action,
                event.target_type,
                event.target_id,
                first.project.slug,
                json.dumps(event.before, sort_keys=True),
                json.dumps(event.after, sort_keys=True),
                event.reason,
            ]
            for event in events
        ],
    ]
    assert [row[3] for row in rows[1:]] == ["message.deleted", "tree.resumed", "tree.halted"]
    assert everything() == before


def test_the_csv_export_of_automatic_actions_leaves_the_actor_empty(logged):
    first = logged["first"]
    for flagger in [*first.writers[1:], first.voter, first.reviewer, first.author]:
        post(flagger, f"/api/v1/messages/{first.root.pk}/reactions", {"emoji": "red_flag"})

    response = get(logged["bo"], "/api/v1/audit-log", action="tree.aborted", format="csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row[2], row[3], row[5], row[9]) for row in rows[1:]] == [
        ("", "tree.aborted", str(first.tree.pk), "automatic: 4 red flags")
    ]
