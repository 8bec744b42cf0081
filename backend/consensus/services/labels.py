"""Scoring one message's labels: means, intervals, posteriors and acceptance."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from django.utils import timezone

from backend.consensus import versions
from backend.consensus.loading import label_kinds, load_gold, load_label_votes
from backend.consensus.models import AnnotatorQuality, LabelModel, MessageLabels
from backend.consensus.scoring.labels import (
    ALL_LABELS,
    FlagModel,
    MessageAggregate,
    aggregate_messages,
    message_acceptance,
    posterior_from_model,
)
from backend.projects.models import Project, VoteWeighting
from backend.trees.models import Message


def labels_digest(aggregate: MessageAggregate, *, rule: str) -> str:
    """What identifies a stored result: its content and the rule and version."""
    content = [
        aggregate.labels,
        rule,
        aggregate.acceptance_score,
        aggregate.is_accepted,
        aggregate.vote_count,
        versions.LABEL_AGGREGATE,
    ]
    return hashlib.sha1(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def message_labels_values(
    aggregate: MessageAggregate, *, project: Project, now: datetime, digest: str | None = None
) -> dict[str, Any]:
    """The stored row of one message's aggregates, as ``{attribute: value}``."""
    return {
        "message_id": aggregate.message_id,
        "project_id": project.pk,
        "algorithm": versions.LABEL_AGGREGATE[0],
        "algorithm_version": versions.LABEL_AGGREGATE[1],
        "labels": aggregate.labels,
        "acceptance_rule": project.acceptance_rule,
        "acceptance_score": aggregate.acceptance_score,
        "is_accepted": aggregate.is_accepted,
        "vote_count": aggregate.vote_count,
        "digest": digest or labels_digest(aggregate, rule=project.acceptance_rule),
        "computed_at": now,
    }


def flag_models(
    *, project_id: int, labels: Iterable[str], user_ids: Iterable[int]
) -> dict[str, FlagModel]:
    """The stored Dawid–Skene fits of these flags, with these annotators' parameters."""
    users = list(user_ids)
    annotators: dict[str, dict[int, tuple[float, float]]] = {}
    for user, per_label in AnnotatorQuality.objects.filter(
        project_id=project_id, user_id__in=users
    ).values_list("user_id", "labels"):
        for label, parameters in (per_label or {}).items():
            annotators.setdefault(label, {})[user] = (
                float(parameters["sensitivity"]),
                float(parameters["specificity"]),
            )
    return {
        model.label: FlagModel(
            method=model.method,
            prevalence=model.prevalence,
            typical_sensitivity=model.typical_sensitivity,
            typical_specificity=model.typical_specificity,
            annotators=annotators.get(model.label, {}),
        )
        for model in LabelModel.objects.filter(project_id=project_id, label__in=list(labels))
    }


def vote_weights(
    *, project: Project, user_ids: Iterable[int] | None = None
) -> dict[int, dict[str, float]] | None:
    """Each annotator's vote weights (per flag, and overall for the other labels)
    where the project weights votes by reliability; None where it does not."""
    if project.vote_weighting != VoteWeighting.RELIABILITY:
        return None
    rows = AnnotatorQuality.objects.filter(project=project)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    return {
        user: annotator_weights(weight, per_label)
        for user, weight, per_label in rows.values_list("user_id", "weight", "labels")
    }


def annotator_weights(weight: float, per_label: dict[str, Any] | None) -> dict[str, float]:
    return {
        ALL_LABELS: weight,
        **{
            label: float(info["weight"])
            for label, info in (per_label or {}).items()
            if "weight" in info
        },
    }


def message_labels_score(*, message_id: int) -> MessageLabels:
    """Aggregate a message's label votes and apply its project's acceptance rule.

    Called when the last review of a message comes in (in that transaction, with the
    tree locked, because the lifecycle acts on the decision at once) and whenever a
    message's votes or gold answers change. Flags get Dawid–Skene posteriors from the
    project's last fit (``LabelModel``): for the messages of that fit this equals the
    fit's own posterior, so the result does not depend on when it is computed as long
    as the fit is the same; a rescore refits and rescores everything.
    """
    message = Message.objects.select_related("tree__project").get(pk=message_id)
    project = message.tree.project
    votes = load_label_votes(message_ids=[message_id])
    gold = load_gold(message_ids=[message_id])
    kinds = label_kinds(project, votes.label_names, votes)
    flags = [name for name in votes.label_names if kinds[name] == "flag"]
    models = flag_models(project_id=project.pk, labels=flags, user_ids=set(votes.user.tolist()))
    posteriors = {}
    for name in flags:
        code = votes.label_names.index(name)
        mask = votes.label == code
        label_votes = list(zip(votes.user[mask].tolist(), votes.value[mask].tolist(), strict=True))
        posterior, method = posterior_from_model(models.get(name), label_votes)
        posteriors[name] = (np.asarray([message_id]), np.asarray([posterior]), method)
    aggregates = aggregate_messages(
        votes,
        kinds=kinds,
        posteriors=posteriors,
        gold=gold,
        weights=vote_weights(project=project, user_ids=set(votes.user.tolist())),
        rule=project.acceptance_rule,
        threshold=project.acceptance_threshold,
    )
    aggregate = aggregates[0] if aggregates else _no_votes(message_id, project, gold)
    row = MessageLabels(**message_labels_values(aggregate, project=project, now=timezone.now()))
    labels_upsert([row])
    return row


UPSERT_FIELDS = [
    "project",
    "algorithm",
    "algorithm_version",
    "labels",
    "acceptance_rule",
    "acceptance_score",
    "is_accepted",
    "vote_count",
    "digest",
    "computed_at",
]


def labels_upsert(rows: list[MessageLabels]) -> None:
    """Insert or overwrite in one statement per batch (INSERT … ON CONFLICT DO
    UPDATE), so concurrent scorers of one message cannot collide."""
    MessageLabels.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["message"],
        update_fields=UPSERT_FIELDS,
    )


def _no_votes(
    message_id: int, project: Project, gold: dict[tuple[int, str], float]
) -> MessageAggregate:
    return message_acceptance(
        message_id, {}, {}, 0, gold, project.acceptance_rule, project.acceptance_threshold
    )
