"""The points ledger: exact points for a scripted history, outcomes that arrive
later, idempotent passes, incremental passes agreeing with a full recompute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.community.models import LeaderboardEntry, PointsEntry, SourceType, UserStats
from backend.community.services import community_refresh, points_ledger_update
from backend.moderation.curation import message_delete, message_undelete
from backend.moderation.services import user_ban, user_unban
from backend.trees.models import Message
from tests.community.builders import raw_prompt
from tests.community.scenario import EXPECTED_POINTS, History, play_history
from tests.factories import UserFactory, small_project

pytestmark = pytest.mark.django_db


def ledger() -> list[tuple[Any, ...]]:
    return list(
        PointsEntry.objects.order_by("source_type", "source_id", "user_id", "reason").values_list(
            "user_id",
            "project_id",
            "reason",
            "source_type",
            "source_id",
            "points",
            "earned_at",
            "detail",
        )
    )


def points_of(user_id: int) -> int:
    return sum(PointsEntry.objects.filter(user_id=user_id).values_list("points", flat=True))


def reasons_of(user_id: int) -> dict[str, int]:
    return dict(PointsEntry.objects.filter(user_id=user_id).values_list("reason", "points"))


def people_of(history: History) -> dict[str, list[int]]:
    return {
        "prompter": [history.prompter.pk],
        "reviewer": [history.reviewer.pk],
        "best": [history.best.pk],
        "middle": [history.middle.pk],
        "last": [history.last.pk],
        "spammer": [history.spammer.pk],
        "agreeing": [person.pk for person in history.agreeing],
        "partly": [history.partly.pk],
    }


def test_scripted_history_earns_exactly_the_documented_points():
    history = play_history()
    assert history.tree.state == "ready_for_export"
    community_refresh()
    for name, user_ids in people_of(history).items():
        for user_id in user_ids:
            assert points_of(user_id) == EXPECTED_POINTS[name], name
            assert UserStats.objects.get(user_id=user_id).points == EXPECTED_POINTS[name]
    assert reasons_of(history.best.pk) == {
        "reply_written": 4,
        "reply_accepted": 2,
        "reply_ranked": 10,
    }
    assert reasons_of(history.spammer.pk) == {"reply_written": 4, "message_rejected": -10}
    assert reasons_of(history.partly.pk) == {"ranking_submitted": 2, "ranking_agreement": 1}
    best, middle, last = (history.replies[name].pk for name in ("best", "middle", "last"))
    assert PointsEntry.objects.get(user=history.partly, reason="ranking_agreement").detail == {
        "tau": "1/3",
        "consensus": [best, middle, last],
    }
    assert PointsEntry.objects.get(user=history.middle, reason="reply_ranked").detail == {
        "rank": 1,
        "ranked_siblings": 3,
    }
    assert (
        PointsEntry.objects.filter(project=history.project).count() == PointsEntry.objects.count()
    )


def test_each_entry_is_dated_when_it_was_earned():
    history = play_history()
    community_refresh()
    reply = history.replies["best"]
    accepted = AuditEvent.objects.get(action="message.accepted", target_id=str(reply.pk))
    scored = AuditEvent.objects.get(action="tree.ready_for_export", target_id=str(history.tree.pk))
    earned = dict(PointsEntry.objects.filter(user=history.best).values_list("reason", "earned_at"))
    assert earned == {
        "reply_written": reply.created_at,
        "reply_accepted": accepted.created_at,
        "reply_ranked": scored.created_at,
    }
    agreement = PointsEntry.objects.get(user=history.agreeing[0], reason="ranking_agreement")
    assert agreement.earned_at == scored.created_at


def test_incremental_passes_pick_up_outcomes_that_arrive_later():
    seen: dict[str, dict[str, dict[str, int]]] = {}
    holder: dict[str, Any] = {}

    def after(step: str) -> None:
        points_ledger_update()
        seen[step] = {
            reason: dict(
                PointsEntry.objects.filter(reason=reason).values_list("user__username", "points")
            )
            for reason in ("reply_written", "reply_accepted", "message_rejected", "reply_ranked")
        }
        holder[step] = len(ledger())

    history = play_history(after_step=after)
    best, spammer = history.best.username, history.spammer.username
    assert seen["replies written"]["reply_written"] == {best: 4, spammer: 4}
    assert seen["replies written"]["reply_accepted"] == {}
    assert seen["replies reviewed"]["reply_accepted"] == {best: 2}
    assert seen["replies reviewed"]["message_rejected"] == {spammer: -10}
    assert seen["tree grown"]["reply_ranked"] == {}
    assert seen["tree scored"]["reply_ranked"] == {
        best: 10,
        history.middle.username: 5,
        history.last.username: 0,
    }
    for name, user_ids in people_of(history).items():
        for user_id in user_ids:
            assert points_of(user_id) == EXPECTED_POINTS[name], name
    # A full recompute from the raw data finds nothing to change.
    incremental = ledger()
    full = points_ledger_update(full=True)
    assert (full.created, full.updated, full.deleted) == (0, 0, 0)
    assert ledger() == incremental


def test_running_the_beat_task_twice_gives_the_same_ledger():
    from tasks.community import reconcile, refresh

    play_history()
    # What submissions earn is credited as they happen; the pass adds the outcomes.
    credited_at_submission = PointsEntry.objects.count()
    assert credited_at_submission > 0
    first = refresh.delay().get()
    assert first["created"] == 24 - credited_at_submission
    assert PointsEntry.objects.count() == 24  # the entries listed in test_scripted_history…
    after_first = ledger()
    board = list(
        LeaderboardEntry.objects.order_by("pk").values_list("window", "user_id", "points", "rank")
    )
    second = refresh.delay().get()
    assert (second["created"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert ledger() == after_first
    assert (
        list(
            LeaderboardEntry.objects.order_by("pk").values_list(
                "window", "user_id", "points", "rank"
            )
        )
        == board
    )
    again = reconcile.delay().get()
    assert (again["full"], again["created"], again["updated"], again["deleted"]) == (True, 0, 0, 0)
    assert ledger() == after_first


def test_the_incremental_pass_reads_only_recent_events_and_the_full_one_everything():
    history = play_history()
    points_ledger_update()
    # Everything so far is old news; then a change that wrote no audit event (as a
    # rescore or a fix in the database would).
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(days=1))
    Message.objects.filter(pk=history.replies["spam"].pk).update(review_result=True)
    before = ledger()
    quiet = points_ledger_update()
    assert (quiet.created, quiet.updated, quiet.deleted) == (0, 0, 0)
    assert ledger() == before
    full = points_ledger_update(full=True)
    assert (full.created, full.deleted) == (1, 1)  # rejected → accepted
    assert reasons_of(history.spammer.pk) == {"reply_written": 4, "reply_accepted": 2}
    assert UserStats.objects.get(user=history.spammer).points == 6


def test_a_deleted_message_earns_nothing_until_undeleted():
    history = play_history()
    points_ledger_update()
    reply = history.replies["best"]
    moderator = UserFactory()
    message_delete(message_id=reply.pk, actor_id=moderator.pk, reason="off topic")
    update = points_ledger_update()
    assert update.deleted == 3
    assert points_of(history.best.pk) == 0
    assert UserStats.objects.get(user=history.best).points == 0
    # The reviewer keeps the point for reviewing it.
    assert PointsEntry.objects.filter(
        source_type=SourceType.REVIEW, source_id=reply.pk, user=history.reviewer
    ).exists()
    message_undelete(message_id=reply.pk, actor_id=moderator.pk)
    points_ledger_update()
    assert points_of(history.best.pk) == EXPECTED_POINTS["best"]


def test_a_ban_that_hides_messages_takes_their_points_and_the_unban_gives_them_back():
    history = play_history()
    points_ledger_update()
    moderator = UserFactory()
    user_ban(user_id=history.middle.pk, actor_id=moderator.pk, hide_messages=True)
    points_ledger_update()
    assert points_of(history.middle.pk) == 0
    user_unban(user_id=history.middle.pk, actor_id=moderator.pk)
    points_ledger_update()
    assert points_of(history.middle.pk) == EXPECTED_POINTS["middle"]


def test_entries_whose_source_is_gone_are_removed_by_the_full_pass():
    project = small_project()
    author = UserFactory()
    message = raw_prompt(project, author, timezone.now())
    points_ledger_update()
    assert points_of(author.pk) == 4
    message.tree.delete()
    points_ledger_update(full=True)
    assert points_of(author.pk) == 0
    assert UserStats.objects.get(user=author).points == 0


def test_synthetic_and_authorless_messages_earn_nothing():
    project = small_project()
    author = UserFactory()
    raw_prompt(project, author, timezone.now(), synthetic=True, model_name="some-model")
    raw_prompt(project, None, timezone.now())
    points_ledger_update()
    assert PointsEntry.objects.count() == 0


def test_points_are_kept_per_project():
    history = play_history()
    other = play_history(
        project=small_project(
            goal_tree_size=4, max_children=3, num_required_rankings=3, lonely_children_count=0
        )
    )
    community_refresh()
    for one in (history, other):
        assert (
            sum(PointsEntry.objects.filter(project=one.project).values_list("points", flat=True))
            == EXPECTED_POINTS["prompter"]
            + EXPECTED_POINTS["reviewer"]
            + EXPECTED_POINTS["best"]
            + EXPECTED_POINTS["middle"]
            + EXPECTED_POINTS["last"]
            + EXPECTED_POINTS["spammer"]
            + 2 * EXPECTED_POINTS["agreeing"]
            + EXPECTED_POINTS["partly"]
        )
