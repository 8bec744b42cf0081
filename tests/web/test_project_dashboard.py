"""The live project dashboard: the figures over time in ``GET /api/v1/projects/{slug}/stats``
and on the stats page — exact hourly and daily buckets, active volunteers, median time
per task kind, acceptance rates, the moderation backlog — their query budget, and their
agreement with the tree pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.assignments.models import Assignment, AssignmentState
from backend.community.stats import dashboard_figures
from backend.moderation.models import QueueItem, QueueItemReason
from backend.trees.models import Message, Tree
from tests.consensus.builders import Ballot, Vote, ready_tree, store_ballots, store_votes
from tests.factories import people, small_project

pytestmark = pytest.mark.django_db

# 12:30 UTC: the hourly series runs from 4 Dec 13:00 (index 0) to 6 Dec 12:00 (index 47),
# the daily one from 7 Nov (index 0) to 6 Dec (index 29).
NOW = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def submitted(project, user, kind: str, finished: datetime, seconds: int) -> None:  # type: ignore[no-untyped-def]
    """A submitted assignment claimed ``seconds`` before it was submitted at ``finished``."""
    assignment = Assignment.objects.create(
        project=project,
        user=user,
        kind=kind,
        lang="en",
        state=AssignmentState.SUBMITTED,
        expires_at=finished + timedelta(hours=1),
        finished_at=finished,
    )
    Assignment.objects.filter(pk=assignment.pk).update(
        created_at=finished - timedelta(seconds=seconds)
    )


def built_project():  # type: ignore[no-untyped-def]
    project = small_project()
    a, b, c = people(3)
    group = ready_tree(project, a, 2)
    root, (good, bad) = group.parent, group.replies
    Message.objects.filter(pk=bad.pk).update(review_result=False)
    for message, when in ((root, ago(hours=25)), (good, ago(minutes=10)), (bad, ago(days=5))):
        Message.objects.filter(pk=message.pk).update(created_at=when)
    Tree.objects.create(project=project, lang="de", state="growing")
    store_votes(
        [
            Vote(good, b, "spam", 0.0, ago(minutes=30)),  # hourly 47, daily 29
            Vote(good, c, "spam", 0.0, ago(hours=47)),  # hourly 0, daily 27
            Vote(root, b, "spam", 0.0, ago(hours=48)),  # daily 27 only
        ]
    )
    ballots = store_ballots(
        [
            Ballot(group, b, [good.pk, bad.pk], [good.pk, bad.pk], ago(hours=1)),
            Ballot(group, c, [good.pk, bad.pk], [bad.pk, good.pk], ago(days=8)),
        ]
    )
    for ballot, seconds in zip(ballots, (90, 300), strict=True):
        assignment = Assignment.objects.get(pk=ballot.assignment_id)
        assert assignment.finished_at is not None
        Assignment.objects.filter(pk=assignment.pk).update(
            created_at=assignment.finished_at - timedelta(seconds=seconds)
        )
    submitted(project, a, "initial_prompt", ago(hours=2), 60)
    submitted(project, a, "initial_prompt", ago(days=3), 120)
    submitted(project, c, "initial_prompt", ago(days=6), 600)
    submitted(project, b, "label_assistant_reply", ago(minutes=30), 30)
    submitted(project, c, "label_assistant_reply", ago(days=2), 50)
    submitted(project, a, "label_assistant_reply", ago(days=10), 5)  # before the window
    Assignment.objects.create(  # claimed, not submitted: no duration
        project=project, user=c, kind="initial_prompt", lang="en", expires_at=NOW
    )
    # One live item per subject: the report is about the message, the red flags' item
    # stands for the tree here.
    for reason, state, message in (
        ("report", "open", group.parent),
        ("red_flag", "claimed", None),
        ("many_skips", "resolved", None),
    ):
        item = QueueItem.objects.create(
            project=project,
            lang="en",
            reason=reason,
            tree=group.parent.tree,
            message=message,
            state=state,
        )
        QueueItemReason.objects.create(item=item, reason=reason)
    return project


def series(count: int, **values: int) -> list[int]:
    result = [0] * count
    for index, value in values.items():
        result[int(index[1:])] = value
    return result


def test_the_dashboard_figures_of_a_built_project():
    project = built_project()

    figures = dashboard_figures(project=project, now=NOW)

    assert figures["generated_at"] == NOW
    assert figures["trees_by_language"] == {"de": {"growing": 1}, "en": {"ready_for_export": 1}}
    assert figures["acceptance"] == {
        "prompts": {"accepted": 1, "decided": 1, "rate": 1.0},
        "replies": {"accepted": 1, "decided": 2, "rate": 0.5},
    }
    hourly = figures["activity"]["hourly"]
    assert hourly["start"] == datetime(2026, 12, 4, 13, tzinfo=UTC)
    assert hourly["step_seconds"] == 3600
    assert hourly["messages"] == series(48, i22=1, i47=1)
    assert hourly["labels"] == series(48, i0=1, i47=1)
    assert hourly["rankings"] == series(48, i46=1)
    daily = figures["activity"]["daily"]
    assert daily["start"] == datetime(2026, 11, 7, tzinfo=UTC)
    assert daily["step_seconds"] == 86400
    assert daily["messages"] == series(30, i24=1, i28=1, i29=1)
    assert daily["labels"] == series(30, i27=2, i29=1)
    assert daily["rankings"] == series(30, i21=1, i29=1)
    # Submitted in the last 24 h: a (prompt) and b (ranking, label); in 7 days also c.
    assert figures["active_volunteers"] == {"last_24_hours": 2, "last_7_days": 3}
    # Claim to submit within 7 days: prompts 60, 120, 600 s; labels 30, 50 s; ranking 90 s.
    assert figures["median_seconds_per_kind"] == {
        "initial_prompt": 120.0,
        "label_assistant_reply": 40.0,
        "rank_assistant_replies": 90.0,
    }
    assert figures["agreement_over_time"] == []
    assert figures["moderation_backlog"]["open"] == 2
    assert figures["moderation_backlog"]["by_reason"]["report"] == 1
    assert figures["moderation_backlog"]["by_reason"]["red_flag"] == 1
    assert figures["moderation_backlog"]["by_reason"]["many_skips"] == 0


def test_the_api_carries_the_dashboard_figures_and_keeps_the_quality_rates(client_for):
    project = built_project()
    (viewer,) = people(1)

    body = client_for(viewer).get(f"/api/v1/projects/{project.slug}/stats").json()

    assert set(body["quality"]) == {"computed", "flags", "by_language"}
    assert body["trees_by_state"] == {"growing": 1, "ready_for_export": 1}
    assert body["trees_by_language"] == {"de": {"growing": 1}, "en": {"ready_for_export": 1}}
    assert body["moderation_backlog"]["open"] == 2
    assert len(body["activity"]["hourly"]["messages"]) == 48
    assert len(body["activity"]["daily"]["labels"]) == 30
    assert body["generated_at"].endswith("Z") or "+" in body["generated_at"]


def test_the_stats_need_a_signed_in_person(client_for, client):
    project = small_project()

    assert client_for(None).get(f"/api/v1/projects/{project.slug}/stats").status_code == 401
    page = client.get(f"/projects/{project.slug}/stats/")
    assert page.status_code == 302


def test_a_bounded_number_of_queries_and_a_cached_snapshot(client_for, client):
    project = built_project()
    (viewer,) = people(1)
    api = client_for(viewer)
    client.force_login(viewer)
    url = f"/api/v1/projects/{project.slug}/stats"

    with CaptureQueriesContext(connection) as first:
        assert api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as page:
        assert client.get(f"/projects/{project.slug}/stats/").status_code == 200

    # The figures over time: trees per language, acceptance, 2 × 3 series, volunteers,
    # medians, agreement history (none yet: 1), moderation backlog — then for 30 s from
    # the cache.
    assert len(first) - len(again) == 12
    assert len(first) <= 20, [q["sql"] for q in first.captured_queries]
    assert len(page) <= 20, [q["sql"] for q in page.captured_queries]


def test_the_counts_agree_with_the_tree_pages(web):
    project = built_project()

    stats = web.get(f"/api/v1/projects/{project.slug}/stats").json()
    tree_list = web.get(f"/trees/?project={project.slug}&lang=en").content.decode()
    page = web.get(f"/projects/{project.slug}/stats/").content.decode()

    listed = len(re.findall(r"data-nav-item", tree_list))
    assert listed == stats["trees_by_language"]["en"]["ready_for_export"] == 1
    assert stats["trees_by_state"]["ready_for_export"] == listed
    sizes = [int(n) for n in re.findall(r"(\d+) messages", tree_list)]
    assert sum(sizes) == stats["messages"]["total"] == 3
    finished = re.search(r"Finished trees</dt><dd>(\d+)</dd>", page)
    assert finished is not None and int(finished.group(1)) == listed
