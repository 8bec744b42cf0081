"""Re-scoring a whole project: idempotent, independent of the order votes were
processed in, consistent with scoring one group at a time, auditable."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.assignments.models import Assignment, LabelVote, RankingVote
from backend.audit.models import AuditEvent
from backend.common.errors import Conflict
from backend.consensus import versions
from backend.consensus.algorithms.ranked_pairs import ranked_pairs
from backend.consensus.models import (
    AgreementSnapshot,
    AnnotatorQuality,
    LabelModel,
    MessageLabels,
    RankingResult,
    RescoreRun,
    RescoreState,
)
from backend.consensus.services import project_rescore, ranking_group_score
from backend.trees.models import Message
from tests.consensus.builders import (
    Ballot,
    Vote,
    moment,
    ready_tree,
    shuffled,
    store_ballots,
    store_votes,
)
from tests.factories import people, small_project

pytestmark = pytest.mark.django_db

FLAGS = ("spam", "lang_mismatch")


def world(seed: int = 7) -> dict[str, Any]:
    """Twelve ready trees with groups of 2–4 replies, five voters ranking each (some
    ballots disagree, some groups tie), and three reviewers per reply."""
    import random

    rng = random.Random(seed)
    project = small_project()
    author, *voters = people(8)
    ballots: list[Ballot] = []
    votes: list[Vote] = []
    clock = 0
    for number in range(12):
        group = ready_tree(project, author, 2 + number % 3)
        ids = [reply.pk for reply in group.replies]
        for voter in voters[:5] if number % 4 else voters[:4]:  # some groups tie
            shown = rng.sample(ids, len(ids))
            ranking = sorted(ids) if rng.random() < 0.6 else rng.sample(ids, len(ids))
            clock += rng.randrange(1, 1000)
            ballots.append(Ballot(group, voter, ranking, shown, moment(clock)))
        for reply in group.replies:
            for reviewer in voters[5:8]:
                clock += 1
                for label in FLAGS:
                    votes.append(
                        Vote(reply, reviewer, label, float(rng.random() < 0.2), moment(clock))
                    )
                votes.append(
                    Vote(reply, reviewer, "quality", rng.choice((0.25, 0.5, 1.0)), moment(clock))
                )
    return {"project": project, "ballots": ballots, "votes": votes}


def results_snapshot(project_id: int) -> dict[str, Any]:
    """Every stored consensus result, keyed by what the votes are about (never by
    the ids of the votes or results themselves)."""
    return {
        "rankings": sorted(
            RankingResult.objects.filter(project_id=project_id).values_list(
                "parent_id",
                "work_item_id",
                "order",
                "margins",
                "scores",
                "min_locked_margin",
                "tie_resolved",
                "kendalls_w",
                "voter_count",
                "votes_digest",
                "last_vote_at",
            )
        ),
        "ranks": sorted(
            Message.objects.filter(tree__project_id=project_id).values_list("pk", "rank")
        ),
        "labels": sorted(
            MessageLabels.objects.filter(project_id=project_id).values_list(
                "message_id", "labels", "acceptance_score", "is_accepted", "digest"
            )
        ),
        "models": sorted(
            LabelModel.objects.filter(project_id=project_id).values_list(
                "label", "method", "prevalence", "typical_sensitivity", "typical_specificity"
            )
        ),
        "annotators": sorted(
            AnnotatorQuality.objects.filter(project_id=project_id).values_list(
                "user_id",
                "ds_accuracy",
                "labels",
                "tau_mean",
                "tau_shrunk",
                "weight",
                "first_pick_rate",
                "position_bias_p_value",
                "random_p_value",
            )
        ),
        "agreement": sorted(
            AgreementSnapshot.objects.filter(project_id=project_id).values_list(
                "task_kind", "label", "alpha", "pairwise_agreement", "kendalls_w", "unit_count"
            )
        ),
    }


def test_rescore_stores_every_result_and_ranks_follow_the_orders():
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    project = data["project"]

    run = project_rescore(project_id=project.pk)

    assert run.state == RescoreState.SUCCEEDED
    assert run.algorithms == versions.as_dict()
    assert run.counts["ranking_groups"] == 12
    assert run.counts["ranking_results_written"] == 12
    assert run.counts["label_votes"] == len(data["votes"])
    for result in RankingResult.objects.filter(project=project):
        ballots = [
            vote.ranking
            for vote in sorted(
                RankingVote.objects.filter(work_item_id=result.work_item_id),
                key=lambda vote: (vote.created_at, vote.user_id),
            )
        ]
        assert result.order == list(ranked_pairs(ballots).order)
        ranks = dict(Message.objects.filter(parent_id=result.parent_id).values_list("pk", "rank"))
        assert ranks == {pk: position for position, pk in enumerate(result.order)}
    assert LabelModel.objects.filter(project=project).count() == 2
    assert MessageLabels.objects.filter(project=project).count() == 36
    event = AuditEvent.objects.get(action="consensus.rescored")
    assert event.after["run"] == run.pk
    assert event.after["counts"] == run.counts


def test_rescoring_again_changes_nothing():
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    project = data["project"]
    project_rescore(project_id=project.pk)
    first = results_snapshot(project.pk)
    agreement_rows = AgreementSnapshot.objects.count()

    again = project_rescore(project_id=project.pk)

    assert again.counts["ranking_results_written"] == 0
    assert again.counts["message_labels_written"] == 0
    assert again.counts["annotators_changed"] == 0
    assert again.counts["ranks_changed"] == 0
    second = results_snapshot(project.pk)
    # A rescore appends an agreement snapshot (a time series) with the same values.
    assert AgreementSnapshot.objects.count() == 2 * agreement_rows
    assert set(second.pop("agreement")) == set(first.pop("agreement"))
    assert second == first


def test_the_result_does_not_depend_on_the_order_votes_were_processed_in():
    """Same votes, same timestamps, inserted in two different orders (so their ids
    disagree with their times): identical results."""
    data = world()
    project = data["project"]
    store_ballots(shuffled(data["ballots"], seed=1))
    store_votes(shuffled(data["votes"], seed=2))
    project_rescore(project_id=project.pk)
    first = results_snapshot(project.pk)

    RankingVote.objects.all().delete()
    Assignment.objects.all().delete()
    LabelVote.objects.all().delete()
    RankingResult.objects.all().delete()
    MessageLabels.objects.all().delete()
    Message.objects.update(rank=None)
    store_ballots(shuffled(data["ballots"], seed=3))
    store_votes(shuffled(data["votes"], seed=4))
    project_rescore(project_id=project.pk)
    second = results_snapshot(project.pk)

    first.pop("agreement"), second.pop("agreement")
    assert second == first
    # And the insertion order really differed from the time order.
    ids_by_time = list(
        RankingVote.objects.order_by("created_at", "user_id").values_list("pk", flat=True)
    )
    assert ids_by_time != sorted(ids_by_time)


def test_scoring_groups_one_by_one_gives_what_the_rescore_stores():
    data = world()
    project = data["project"]
    store_ballots(shuffled(data["ballots"], seed=5))
    store_votes(data["votes"])
    for parent_id in RankingVote.objects.order_by().values_list("parent_id", flat=True).distinct():
        ranking_group_score(parent_id=parent_id)
    one_by_one = results_snapshot(project.pk)["rankings"]

    run = project_rescore(project_id=project.pk)

    assert run.counts["ranking_results_written"] == 0  # every group already current
    assert results_snapshot(project.pk)["rankings"] == one_by_one


def test_a_corrupted_rank_is_repaired_and_a_new_algorithm_version_rewrites(monkeypatch):
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    project = data["project"]
    project_rescore(project_id=project.pk)
    wrong = RankingResult.objects.filter(project=project).first()
    assert wrong is not None
    Message.objects.filter(pk=wrong.order[0]).update(rank=7)

    monkeypatch.setattr(versions, "RANKED_PAIRS", ("ranked_pairs", 2))
    run = project_rescore(project_id=project.pk)

    assert run.counts["ranks_changed"] == 1
    assert Message.objects.get(pk=wrong.order[0]).rank == 0
    assert run.counts["ranking_results_written"] == 12
    assert set(RankingResult.objects.values_list("algorithm_version", flat=True)) == {2}


def test_progress_is_reported_and_stored_on_the_run():
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    seen: list[tuple[str, int, int]] = []

    run = project_rescore(
        project_id=data["project"].pk, progress=lambda *report: seen.append(report)
    )

    stages = [stage for stage, _, _ in seen]
    assert stages[0] == "rankings" and stages[-1] == "write"
    assert ("rankings", 12, 12) in seen
    assert {"dawid-skene spam", "dawid-skene lang_mismatch", "annotators", "agreement"} <= set(
        stages
    )
    assert (run.stage, run.progress) == ("done", 1.0)


def test_a_second_rescore_of_a_project_is_refused_while_one_runs():
    project = small_project()
    from django.utils import timezone

    RescoreRun.objects.create(project=project, started_at=timezone.now())

    with pytest.raises(Conflict) as refused:
        project_rescore(project_id=project.pk)

    assert refused.value.code == "rescore_running"
    assert RescoreRun.objects.count() == 1


def test_the_rescore_command_reports_progress_and_counts():
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    out, err = StringIO(), StringIO()

    call_command("rescore", "--project", data["project"].slug, stdout=out, stderr=err)

    assert "rankings: 12/12" in err.getvalue()
    assert "write: 5/5" in err.getvalue()
    summary = out.getvalue()
    assert summary.startswith(f"rescored {data['project'].slug} in ")
    assert "ranking_groups=12" in summary
    assert f"label_votes={len(data['votes'])}" in summary

    again = StringIO()
    call_command("rescore", "--project", data["project"].slug, "--quiet", stdout=again)
    assert "ranking_results_written=0" in again.getvalue()
    assert "message_labels_written=0" in again.getvalue()


def test_the_rescore_command_refuses_an_unknown_project():
    with pytest.raises(CommandError, match="No project"):
        call_command("rescore", "--project", "nothing-here")


def test_the_celery_task_rescores_and_a_refusal_is_an_answer():
    from tasks.consensus import rescore_project

    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])

    answer = rescore_project.delay(data["project"].pk).get()

    assert answer["counts"]["ranking_groups"] == 12
    from django.utils import timezone

    RescoreRun.objects.create(project=data["project"], started_at=timezone.now())
    assert rescore_project.delay(data["project"].pk).get() == {"refused": "rescore_running"}
