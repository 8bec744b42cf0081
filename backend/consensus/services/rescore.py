"""Re-scoring a whole project from its stored votes.

The rescore reads every ballot and label vote of the project once (one query each),
computes everything in NumPy — ranked pairs and Plackett–Luce per sibling group,
Dawid–Skene per flag, annotator quality, label aggregates, agreement — and writes
only what changed, in one transaction. It is a function of the stored votes, their
timestamps and the gold answers: running it twice changes nothing the second time,
and the order the votes arrived in does not matter (``backend.consensus.loading``).

Message ranks of trees that are ready for export follow the new orders, as
``tree_score`` would set them. Acceptance decisions already taken
(``Message.review_result``) are lifecycle events and stay: the rescore stores what the
rule says now on ``MessageLabels`` and counts the messages where the two differ, for
moderators to look at.

Concurrency: votes that arrive while a rescore computes are scored by their own
Celery task; just before writing, the rescore re-counts each group's and message's
votes and leaves alone those whose votes changed since it read them, so it never
overwrites a fresher result with a stale one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from backend.assignments.models import RANK_KINDS, LabelVote, RankingVote, WorkItem
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict
from backend.consensus import versions
from backend.consensus.loading import (
    LabelVotes,
    label_kinds,
    load_gold,
    load_gold_results,
    load_label_votes,
    load_ranking_votes,
)
from backend.consensus.models import (
    AnnotatorQuality,
    LabelModel,
    MessageLabels,
    RankingResult,
    RescoreRun,
    RescoreState,
)
from backend.consensus.scoring.agreement import AgreementRow, label_agreement, ranking_agreement
from backend.consensus.scoring.labels import FlagFit, aggregate_messages, fit_flag
from backend.consensus.scoring.quality import AnnotatorStats, annotator_stats, merge_gold_results
from backend.consensus.scoring.rankings import ScoredRankings, score_groups
from backend.consensus.services import bulk
from backend.consensus.services.agreement import agreement_snapshots_store
from backend.consensus.services.labels import (
    annotator_weights,
    labels_digest,
    message_labels_values,
)
from backend.consensus.services.ranking import ranking_result_values
from backend.projects.models import Project, VoteWeighting
from backend.trees.models import Message, TreeState

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# A run still "running" after this long died without finishing; a new one may start.
STALE_RUN_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class _Fingerprint:
    """How many votes of each kind a project has and the newest vote id: votes are
    only ever added (or removed with their message), so equal fingerprints mean the
    votes read are still exactly the stored ones."""

    ranking: tuple[int, int | None]
    label: tuple[int, int | None]

    @staticmethod
    def of(project: Project) -> _Fingerprint:
        ranking = RankingVote.objects.filter(parent__tree__project=project).aggregate(
            count=Count("pk"), newest=Max("pk")
        )
        label = LabelVote.objects.filter(message__tree__project=project).aggregate(
            count=Count("pk"), newest=Max("pk")
        )
        return _Fingerprint(
            (ranking["count"], ranking["newest"]), (label["count"], label["newest"])
        )


@dataclass
class _Computed:
    fingerprint: _Fingerprint
    groups: ScoredRankings
    votes: LabelVotes
    kinds: dict[str, str]
    gold: dict[tuple[int, str], float]
    fits: list[FlagFit]
    people: dict[int, AnnotatorStats]
    aggregates: list[Any]
    agreement: list[AgreementRow]


def project_rescore(
    *,
    project_id: int,
    progress: Progress | None = None,
    requested_by_id: int | None = None,
) -> RescoreRun:
    """Re-score every sibling group, message and annotator of a project.

    One rescore of a project runs at a time (a partial unique index on running
    runs); a second one is refused with ``rescore_running``. Progress is reported as
    ``progress(stage, done, total)`` and stored on the run.
    """
    project = Project.objects.get(pk=project_id)
    run = _start_run(project, requested_by_id)
    report = progress or (lambda stage, done, total: None)
    try:
        computed = _compute(project, run, report)
        _set_stage(run, "write", 0.9)
        with transaction.atomic():
            counts = _write(project, computed, report)
            run.state = RescoreState.SUCCEEDED
            run.finished_at = timezone.now()
            run.stage = "done"
            run.progress = 1.0
            run.counts = counts
            run.save(update_fields=["state", "finished_at", "stage", "progress", "counts"])
            audit_record(
                action=AuditAction.CONSENSUS_RESCORED,
                target_type="project",
                target_id=project.pk,
                actor_id=requested_by_id,
                project_id=project.pk,
                after={"run": run.pk, "algorithms": run.algorithms, "counts": counts},
            )
        report("write", 5, 5)  # committed
        return run
    except Exception as error:
        logger.exception("rescore of project %s failed", project_id)
        RescoreRun.objects.filter(pk=run.pk).update(
            state=RescoreState.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}",
        )
        raise


def _start_run(project: Project, requested_by_id: int | None) -> RescoreRun:
    now = timezone.now()
    RescoreRun.objects.filter(
        project=project, state=RescoreState.RUNNING, started_at__lt=now - STALE_RUN_AFTER
    ).update(state=RescoreState.FAILED, finished_at=now, error="abandoned (no progress)")
    try:
        with transaction.atomic():
            return RescoreRun.objects.create(
                project=project,
                started_at=now,
                stage="load",
                algorithms=versions.as_dict(),
                requested_by_id=requested_by_id,
            )
    except IntegrityError as error:
        raise Conflict(
            "rescore_running", f"Project {project.slug} is being re-scored already."
        ) from error


def _set_stage(run: RescoreRun, stage: str, fraction: float) -> None:
    run.stage, run.progress = stage, fraction
    RescoreRun.objects.filter(pk=run.pk).update(stage=stage, progress=fraction)


# --- Computing ------------------------------------------------------------------------


def _compute(project: Project, run: RescoreRun, report: Progress) -> _Computed:
    # Taken before reading, so a vote stored while reading shows up as a change.
    fingerprint = _Fingerprint.of(project)
    report("rankings", 0, 1)
    _set_stage(run, "rankings", 0.0)
    ranking_votes = load_ranking_votes(project_id=project.pk)
    report("rankings", 0, len(ranking_votes))
    groups = score_groups(ranking_votes)
    report("rankings", len(groups), len(ranking_votes))

    _set_stage(run, "labels", 0.3)
    votes = load_label_votes(project_id=project.pk)
    gold = load_gold(project_id=project.pk)
    kinds = label_kinds(project, votes.label_names, votes)
    flags = [name for name in votes.label_names if kinds[name] == "flag"]
    report("labels", 0, len(votes))
    fits = []
    for done, name in enumerate(flags):
        code = votes.label_names.index(name)
        mask = votes.label == code
        fits.append(
            fit_flag(
                label=name,
                messages=votes.message[mask],
                users=votes.user[mask],
                values=votes.value[mask],
                gold={message: value for (message, label), value in gold.items() if label == name},
            )
        )
        report(f"dawid-skene {name}", done + 1, len(flags))

    _set_stage(run, "quality", 0.6)
    people = annotator_stats(votes=votes, fits=fits, gold=gold, groups=groups)
    merge_gold_results(people, load_gold_results(project_id=project.pk))
    report("annotators", len(people), len(people))

    weights = None
    if project.vote_weighting == VoteWeighting.RELIABILITY:
        weights = {user: annotator_weights(row.weight, row.labels) for user, row in people.items()}
    aggregates = aggregate_messages(
        votes,
        kinds=kinds,
        posteriors={fit.label: (fit.messages, fit.posteriors, fit.method) for fit in fits},
        gold=gold,
        weights=weights,
        rule=project.acceptance_rule,
        threshold=project.acceptance_threshold,
    )
    report("labels", len(votes), len(votes))

    _set_stage(run, "agreement", 0.8)
    agreement = label_agreement(votes, kinds) + ranking_agreement(groups)
    report("agreement", len(agreement), len(agreement))
    return _Computed(fingerprint, groups, votes, kinds, gold, fits, people, aggregates, agreement)


# --- Writing --------------------------------------------------------------------------


def _write(project: Project, computed: _Computed, report: Progress) -> dict[str, int]:
    now = timezone.now()
    counts: dict[str, int] = {}
    fingerprint = _Fingerprint.of(project)
    if fingerprint.ranking == computed.fingerprint.ranking:
        fresh_groups = list(range(len(computed.groups)))
        counts["ranking_groups_changed_meanwhile"] = 0
    else:
        fresh_groups = _unchanged_since_read(project, computed.groups, counts)
    labels_unchanged = fingerprint.label == computed.fingerprint.label
    steps = 5
    report("write", 0, steps)
    counts.update(_write_rankings(project, computed.groups, fresh_groups, now))
    report("write", 1, steps)
    counts.update(_write_ranks(project, computed.groups))
    report("write", 2, steps)
    counts.update(_write_label_models(project, computed.fits, now))
    counts.update(_write_annotators(project, computed.people, now))
    report("write", 3, steps)
    counts.update(_write_labels(project, computed, now, votes_unchanged=labels_unchanged))
    report("write", 4, steps)
    agreement_snapshots_store(project=project, taken_at=now, rows=computed.agreement)
    counts["agreement_rows"] = len(computed.agreement)
    counts["ranking_groups"] = len(computed.groups)
    counts["ranking_votes"] = len(computed.groups.votes.user)
    counts["label_votes"] = len(computed.votes)
    counts["messages_labelled"] = len(computed.aggregates)
    counts["annotators"] = len(computed.people)
    return counts


def _unchanged_since_read(
    project: Project, scored: ScoredRankings, counts: dict[str, int]
) -> list[int]:
    """The groups whose ballots are still exactly those read (count and latest time)."""
    current = {
        (row["parent_id"], row["work_item_id"]): (row["count"], row["last"])
        for row in RankingVote.objects.filter(parent__tree__project=project)
        .order_by()
        .values("parent_id", "work_item_id")
        .annotate(count=Count("pk"), last=Max("created_at"))
    }
    voters = scored.votes.ballots.group_count.tolist()
    fresh = [
        group
        for group in range(len(scored))
        if current.get(scored.votes.key(group)) == (voters[group], scored.last_vote_at(group))
    ]
    counts["ranking_groups_changed_meanwhile"] = len(scored) - len(fresh)
    return fresh


def _write_rankings(
    project: Project, scored: ScoredRankings, groups: Sequence[int], now: Any
) -> dict[str, int]:
    stored: dict[tuple[int, int | None], tuple[int, str, int, int]] = {
        (parent, item): (pk, digest, version, score_version)
        for pk, parent, item, digest, version, score_version in bulk.fetch_rows(
            RankingResult.objects.filter(project=project).values_list(
                "pk",
                "parent_id",
                "work_item_id",
                "votes_digest",
                "algorithm_version",
                "score_algorithm_version",
            )
        )
    }
    current_versions = (versions.RANKED_PAIRS[1], versions.PLACKETT_LUCE[1])
    replaced: list[int] = []
    changed: list[int] = []
    for group in groups:
        existing = stored.get(scored.votes.key(group))
        if existing is not None:
            if (existing[1], existing[2:]) == (scored.digests[group], current_versions):
                continue
            replaced.append(existing[0])
        changed.append(group)
    new_rows = []
    if changed:
        values = scored.stored_values()
        new_rows = [
            ranking_result_values(
                scored, group, project_id=project.pk, now=now, stored=values[group]
            )
            for group in changed
        ]
    bulk.delete_by_pk(RankingResult, replaced)
    bulk.insert(RankingResult, new_rows)
    return {"ranking_results_written": len(new_rows)}


def _write_ranks(project: Project, scored: ScoredRankings) -> dict[str, int]:
    """Message ranks of ready trees, as ``tree_score`` sets them: each sibling group
    as it is now takes the order of the newest ranking item offering exactly that
    group; messages in no such group are unranked.

    Only trees ranked in Arbor (with at least one ranking work item) are touched:
    ``tree_score`` never ran on the others — imported trees, whose ranks came with the
    import — and their ranks stay as they are."""
    newest_item: dict[int, tuple[int, list[int]]] = {}
    ranked_trees: set[int] = set()
    for item, tree_id, target, candidate_ids in bulk.fetch_rows(
        WorkItem.objects.filter(
            tree__project=project, tree__state=TreeState.READY_FOR_EXPORT, kind__in=RANK_KINDS
        )
        .order_by("pk")
        .values_list("pk", "tree_id", "target_id", "candidate_ids"),
        json_columns=[3],
    ):
        newest_item[target] = (item, candidate_ids)
        ranked_trees.add(tree_id)
    if not ranked_trees:
        return {"ranks_changed": 0}
    messages = [
        (pk, parent, review_result, is_deleted, rank)
        for pk, tree_id, parent, review_result, is_deleted, rank in bulk.fetch_rows(
            Message.objects.filter(
                tree__project=project, tree__state=TreeState.READY_FOR_EXPORT
            ).values_list("pk", "tree_id", "parent_id", "review_result", "is_deleted", "rank")
        )
        if tree_id in ranked_trees
    ]
    children: dict[int, list[int]] = defaultdict(list)
    for pk, parent, review_result, is_deleted, _ in messages:
        if parent is not None and review_result is True and not is_deleted:
            children[parent].append(pk)
    group_of = {scored.votes.key(group): group for group in range(len(scored))}
    sizes = scored.result.size.tolist()
    orders = scored.result.order.tolist()
    ranks: dict[int, int | None] = {}
    ranked_ids: set[int] = set()
    for parent, siblings in children.items():
        found = newest_item.get(parent)
        if len(siblings) < 2 or found is None or sorted(found[1]) != sorted(siblings):
            continue
        item, candidate_ids = found
        ranked_ids.update(candidate_ids)
        group = group_of.get((parent, item))
        if group is None:
            continue  # no ballots: left as it is, as ``tree_score`` does
        position = {message: index for index, message in enumerate(orders[group][: sizes[group]])}
        for candidate in candidate_ids:
            ranks[candidate] = position.get(candidate)
    changes = []
    for pk, _, _, _, rank in messages:
        wanted = ranks.get(pk, rank if pk in ranked_ids else None)
        if wanted != rank:
            changes.append((pk, wanted))
    bulk.update_integer_column(Message, "rank", changes)
    return {"ranks_changed": len(changes)}


def _write_label_models(project: Project, fits: Sequence[FlagFit], now: Any) -> dict[str, int]:
    LabelModel.objects.filter(project=project).exclude(
        label__in=[fit.label for fit in fits]
    ).delete()
    LabelModel.objects.bulk_create(
        [
            LabelModel(
                project=project,
                label=fit.label,
                method=fit.method,
                prevalence=fit.prevalence,
                typical_sensitivity=fit.typical_sensitivity,
                typical_specificity=fit.typical_specificity,
                item_count=fit.item_count,
                vote_count=fit.vote_count,
                overlap=fit.overlap,
                iterations=fit.iterations,
                converged=fit.converged,
                log_likelihood=fit.log_likelihood,
                algorithm=versions.DAWID_SKENE[0],
                algorithm_version=versions.DAWID_SKENE[1],
                fitted_at=now,
            )
            for fit in fits
        ],
        update_conflicts=True,
        unique_fields=["project", "label"],
        update_fields=[
            "method",
            "prevalence",
            "typical_sensitivity",
            "typical_specificity",
            "item_count",
            "vote_count",
            "overlap",
            "iterations",
            "converged",
            "log_likelihood",
            "algorithm",
            "algorithm_version",
            "fitted_at",
        ],
    )
    return {"label_models": len(fits)}


_QUALITY_FIELDS = [
    "label_vote_count",
    "ds_accuracy",
    "labels",
    "gold_vote_count",
    "gold_accuracy",
    "ranking_count",
    "tau_mean",
    "tau_shrunk",
    "first_pick_rate",
    "last_pick_rate",
    "position_bias_p_value",
    "is_position_biased",
    "random_p_value",
    "is_random",
    "weight",
]


def _write_annotators(
    project: Project, people: Mapping[int, AnnotatorStats], now: Any
) -> dict[str, int]:
    stored = {
        row[0]: tuple(row[1:])
        for row in AnnotatorQuality.objects.filter(project=project).values_list(
            "user_id", *_QUALITY_FIELDS, "algorithm_version"
        )
    }
    changed = []
    for user, person in people.items():
        row = person.as_row()
        values = (*(row[name] for name in _QUALITY_FIELDS), versions.ANNOTATOR_QUALITY[1])
        if stored.get(user) == values:
            continue
        changed.append(
            {
                "project_id": project.pk,
                "user_id": user,
                "algorithm": versions.ANNOTATOR_QUALITY[0],
                "algorithm_version": versions.ANNOTATOR_QUALITY[1],
                "computed_at": now,
                **{name: row[name] for name in _QUALITY_FIELDS},
            }
        )
    replaced = [row["user_id"] for row in changed if row["user_id"] in stored]
    gone = [user for user in stored if user not in people]
    for batch in bulk.chunks([*replaced, *gone]):
        AnnotatorQuality.objects.filter(project=project, user_id__in=batch).delete()
    bulk.insert(AnnotatorQuality, changed)
    return {"annotators_changed": len(changed)}


def _write_labels(
    project: Project, computed: _Computed, now: Any, *, votes_unchanged: bool
) -> dict[str, int]:
    current_counts: dict[int, int] | None = None
    if not votes_unchanged:
        current_counts = dict(
            LabelVote.objects.filter(message__tree__project=project)
            .order_by()
            .values("message_id")
            .annotate(count=Count("pk"))
            .values_list("message_id", "count")
        )
    stored = dict(
        bulk.fetch_rows(
            MessageLabels.objects.filter(project=project).values_list("message_id", "digest")
        )
    )
    changed = []
    changed_meanwhile = 0
    for aggregate in computed.aggregates:
        if current_counts is not None and (
            current_counts.get(aggregate.message_id) != aggregate.vote_count
        ):
            changed_meanwhile += 1
            continue
        digest = labels_digest(aggregate, rule=project.acceptance_rule)
        if stored.get(aggregate.message_id) == digest:
            continue
        changed.append(message_labels_values(aggregate, project=project, now=now, digest=digest))
    bulk.delete_by_pk(
        MessageLabels, [row["message_id"] for row in changed if row["message_id"] in stored]
    )
    bulk.insert(MessageLabels, changed)
    disagreements = (
        MessageLabels.objects.filter(project=project, message__review_result__isnull=False)
        .exclude(message__review_result=F("is_accepted"))
        .count()
    )
    return {
        "message_labels_written": len(changed),
        "messages_changed_meanwhile": changed_meanwhile,
        "acceptance_disagreements": disagreements,
    }
