"""Reads of consensus results for the API, exports and other apps.

    from backend.consensus.selectors import message_consensus_extras
    extras = message_consensus_extras(message_ids)   # {message_id: {...}}

Every id asked for gets an entry (with Nones where nothing is known), in the shape
documented on :func:`message_consensus_extras`; three queries per call whatever the
number of ids. Exports read a whole batch of trees at once instead:
``ranking_results_of_trees`` and ``message_labels_of_trees`` (one query each) feed the
pure ``consensus_extras_build``, which returns the same shape for the messages that
have a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from backend.consensus.models import (
    AgreementSnapshot,
    AnnotatorQuality,
    MessageLabels,
    RankingResult,
    RescoreRun,
)
from backend.projects.models import Project
from backend.trees.models import Message

RESULT_COLUMNS = (
    "pk",
    "parent_id",
    "work_item_id",
    "order",
    "scores",
    "min_locked_margin",
    "voter_count",
    "tie_resolved",
    "kendalls_w",
    "algorithm",
    "algorithm_version",
    "score_algorithm",
    "score_algorithm_version",
    "computed_at",
)
LABEL_COLUMNS = (
    "message_id",
    "labels",
    "acceptance_rule",
    "acceptance_score",
    "is_accepted",
    "algorithm",
    "algorithm_version",
)


def _current_results_of(rows: Iterable[Sequence[Any]]) -> dict[int, dict[str, Any]]:
    """The result that speaks for each parent's replies now: that of its newest
    ranking work item (ballots on an older item were superseded when the group
    changed); item-less (imported) ballots only where no item has a result.

    ``rows`` are ``RESULT_COLUMNS`` tuples in any order."""
    current: dict[int, dict[str, Any]] = {}
    for values in rows:
        row = dict(zip(RESULT_COLUMNS, values, strict=True))
        held = current.get(row["parent_id"])
        if (
            held is None
            or held["work_item_id"] is None
            or (row["work_item_id"] is not None and row["work_item_id"] > held["work_item_id"])
        ):
            current[row["parent_id"]] = row
    return current


def _current_results(parent_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return _current_results_of(
        RankingResult.objects.filter(parent_id__in=list(parent_ids)).values_list(*RESULT_COLUMNS)
    )


def _confidence(row: dict[str, Any]) -> float | None:
    if row["min_locked_margin"] is None or not row["voter_count"]:
        return None
    return float(row["min_locked_margin"]) / float(row["voter_count"])


def ranking_group_view(row: dict[str, Any]) -> dict[str, Any]:
    """A sibling group's consensus as the API and exports show it."""
    return {
        "parent_id": row["parent_id"],
        "order": row["order"],
        "scores": row["scores"],
        "confidence": _confidence(row),
        "min_locked_margin": row["min_locked_margin"],
        "voter_count": row["voter_count"],
        "tie_resolved": row["tie_resolved"],
        "kendalls_w": row["kendalls_w"],
        "algorithm": f"{row['algorithm']}/{row['algorithm_version']}",
        "score_algorithm": f"{row['score_algorithm']}/{row['score_algorithm_version']}",
        "computed_at": row["computed_at"],
    }


def ranking_results_of_trees(trees: QuerySet[Any]) -> QuerySet[RankingResult]:
    """Every ranking result of the given trees (a queryset of tree ids or trees) as
    ``RESULT_COLUMNS`` tuples, for ``consensus_extras_build``."""
    return (
        RankingResult.objects.filter(tree__in=trees).order_by().values_list(*RESULT_COLUMNS)  # type: ignore[return-value]
    )


def message_labels_of_trees(trees: QuerySet[Any]) -> QuerySet[MessageLabels]:
    """Every label result of the messages of the given trees as ``LABEL_COLUMNS``
    tuples, for ``consensus_extras_build``."""
    return (
        MessageLabels.objects.filter(message__tree__in=trees)  # type: ignore[return-value]
        .order_by()
        .values_list(*LABEL_COLUMNS)
    )


def _no_ranking() -> dict[str, Any]:
    return {
        "score": None,
        "rank": None,
        "rank_confidence": None,
        "ranking_voters": None,
        "min_locked_margin": None,
        "tie_resolved": None,
        "kendalls_w": None,
        "ranking_algorithm": None,
        "score_algorithm": None,
    }


def consensus_extras_build(
    *,
    message_ids: Iterable[int] | None,
    ranking_rows: Iterable[Sequence[Any]],
    label_rows: Iterable[Sequence[Any]],
) -> dict[int, dict[str, Any]]:
    """Pure: the per-message consensus from ranking result rows (``RESULT_COLUMNS``)
    and label result rows (``LABEL_COLUMNS``).

    With ``message_ids``: every one of them gets an entry, in the full shape of
    ``message_consensus_extras`` (Nones where nothing is known). With None: the compact
    shape exports write — only the messages that have a result, and in each only the
    fields that are known (no nulls, no empty ``labels``), in the same order.
    """
    compact = message_ids is None
    ranked: dict[int, dict[str, Any]] = {}
    for result in _current_results_of(ranking_rows).values():
        group = {
            "rank_confidence": _confidence(result),
            "ranking_voters": result["voter_count"],
            "min_locked_margin": result["min_locked_margin"],
            "tie_resolved": result["tie_resolved"],
            "kendalls_w": result["kendalls_w"],
            "ranking_algorithm": f"{result['algorithm']}/{result['algorithm_version']}",
            "score_algorithm": (f"{result['score_algorithm']}/{result['score_algorithm_version']}"),
        }
        if compact:
            group = {name: value for name, value in group.items() if value is not None}
        scores = result["scores"]
        for position, message_id in enumerate(result["order"]):
            ranked[message_id] = {"score": scores[position], "rank": position, **group}
    labels = {row[0]: row[1:] for row in label_rows}
    ids = list(dict.fromkeys(message_ids)) if message_ids is not None else [*ranked, *labels]
    extras: dict[int, dict[str, Any]] = {}
    for message_id in ids:
        if message_id in extras:
            continue
        extra = ranked.get(message_id)
        if extra is None:
            extra = {} if compact else _no_ranking()
        label_row = labels.get(message_id)
        if label_row is not None:
            aggregates, rule, score, is_accepted, algorithm, version = label_row
            if aggregates or not compact:
                extra["labels"] = aggregates
            extra["acceptance"] = {"rule": rule, "score": score, "is_accepted": is_accepted}
            extra["label_algorithm"] = f"{algorithm}/{version}"
        elif not compact:
            extra["labels"] = {}
            extra["acceptance"] = None
            extra["label_algorithm"] = None
        extras[message_id] = extra
    return extras


def message_consensus_extras(message_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per message: its consensus next to Open-Assistant's fields.

    ``{message_id: {"score", "rank", "rank_confidence", "ranking_voters",
    "min_locked_margin", "tie_resolved", "kendalls_w", "ranking_algorithm",
    "score_algorithm", "labels", "acceptance", "label_algorithm"}}`` where

    * ``score``: Plackett–Luce log-strength among its siblings (zero-centred per
      group; exp(s_a − s_b) estimates the odds that a beats b), None when unranked;
      ``rank`` its position in the group's ranked pairs order (0 = best);
    * ``rank_confidence``: the group's smallest locked ranked-pairs margin as a share
      of its voters (0 … 1), None when unranked; ``ranking_voters`` their number,
      ``min_locked_margin`` the margin itself, ``tie_resolved`` whether the
      tie-breaking ballot decided anything, ``kendalls_w`` the group's Kendall's W;
    * ``ranking_algorithm`` / ``score_algorithm``: ``name/version`` of the rules;
    * ``labels``: ``{label: {"kind", "count", "mean", "ci_low", "ci_high"}}`` with
      95 % intervals, flags also ``"posterior"`` and ``"posterior_method"``
      (``labels_ci`` in the issue's words); ``{}`` without label votes;
    * ``acceptance``: ``{"rule", "score", "is_accepted"}`` on the current votes, or
      None without label votes; ``label_algorithm`` the aggregate rule's
      ``name/version``.
    """
    ids = list(dict.fromkeys(message_ids))
    parents = dict(Message.objects.filter(pk__in=ids).values_list("pk", "parent_id"))
    parent_ids = sorted({parent for parent in parents.values() if parent is not None})
    results = RankingResult.objects.filter(parent_id__in=parent_ids).values_list(*RESULT_COLUMNS)
    labels = MessageLabels.objects.filter(message_id__in=ids).values_list(*LABEL_COLUMNS)
    return consensus_extras_build(message_ids=ids, ranking_rows=results, label_rows=labels)


def message_scores(message_ids: Iterable[int]) -> dict[int, float | None]:
    return {
        message_id: extra["score"]
        for message_id, extra in message_consensus_extras(message_ids).items()
    }


def tree_ranking_groups(*, tree_id: int) -> list[dict[str, Any]]:
    """The current consensus of every ranked sibling group of a tree, by parent id."""
    parent_ids = (
        RankingResult.objects.filter(tree_id=tree_id).values_list("parent_id", flat=True).distinct()
    )
    current = _current_results(parent_ids)
    return [ranking_group_view(current[parent]) for parent in sorted(current)]


def agreement_latest(*, project: Project) -> dict[str, Any] | None:
    """The newest agreement snapshot of a project: ``{"taken_at", "labels":
    {label: {task_kind or "all": metrics}}, "rankings": {task_kind or "all": metrics}}``."""
    taken_at = (
        AgreementSnapshot.objects.filter(project=project)
        .order_by("-taken_at")
        .values_list("taken_at", flat=True)
        .first()
    )
    if taken_at is None:
        return None
    return {
        "taken_at": taken_at,
        **_agreement_tables(AgreementSnapshot.objects.filter(project=project, taken_at=taken_at)),
    }


def agreement_history(
    *, project: Project, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Snapshots over time, oldest first (the newest ``limit`` of them)."""
    snapshots = AgreementSnapshot.objects.filter(project=project)
    if since is not None:
        snapshots = snapshots.filter(taken_at__gte=since)
    moments = list(
        snapshots.order_by("-taken_at").values_list("taken_at", flat=True).distinct()[:limit]
    )
    rows = snapshots.filter(taken_at__in=moments)
    by_moment: dict[datetime, list[AgreementSnapshot]] = {}
    for row in rows.order_by("taken_at", "pk"):
        by_moment.setdefault(row.taken_at, []).append(row)
    return [
        {"taken_at": moment, **_agreement_tables(by_moment[moment])} for moment in sorted(by_moment)
    ]


def _agreement_tables(
    rows: Iterable[AgreementSnapshot] | QuerySet[AgreementSnapshot],
) -> dict[str, Any]:
    labels: dict[str, dict[str, Any]] = {}
    rankings: dict[str, Any] = {}
    for row in rows:
        metrics = {
            "alpha": row.alpha,
            "level": row.level,
            "pairwise_agreement": row.pairwise_agreement,
            "kendalls_w": row.kendalls_w,  # rankings only; None for labels
            "units": row.unit_count,
            "judgements": row.judgement_count,
        }
        scope = row.task_kind or "all"
        if row.label:
            labels.setdefault(row.label, {})[scope] = metrics
        else:
            rankings[scope] = metrics
    return {"labels": labels, "rankings": rankings}


def annotator_quality_of(*, project: Project) -> QuerySet[AnnotatorQuality]:
    """Everyone's measured quality in a project (the trollboard reads this)."""
    return AnnotatorQuality.objects.filter(project=project).select_related("user")


def rescore_latest(*, project: Project) -> RescoreRun | None:
    return RescoreRun.objects.filter(project=project).order_by("-started_at").first()
