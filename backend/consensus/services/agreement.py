"""Agreement snapshots without a full rescore."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from backend.consensus import versions
from backend.consensus.loading import label_kinds, load_label_votes, load_ranking_votes
from backend.consensus.models import AgreementSnapshot
from backend.consensus.scoring.agreement import AgreementRow, label_agreement, ranking_agreement
from backend.consensus.scoring.rankings import score_groups
from backend.projects.models import Project


def project_agreement_snapshot(*, project_id: int) -> list[AgreementSnapshot]:
    """Measure agreement on every label and task kind now and store it (a new point
    of the time series; older snapshots stay)."""
    project = Project.objects.get(pk=project_id)
    votes = load_label_votes(project_id=project.pk)
    kinds = label_kinds(project, votes.label_names, votes)
    groups = score_groups(load_ranking_votes(project_id=project.pk))
    now = timezone.now()
    rows = label_agreement(votes, kinds) + ranking_agreement(groups)
    return agreement_snapshots_store(project=project, taken_at=now, rows=rows)


def agreement_snapshots_store(
    *, project: Project, taken_at: datetime, rows: Sequence[AgreementRow]
) -> list[AgreementSnapshot]:
    """One point of the agreement time series, stamped with the algorithm version."""
    return AgreementSnapshot.objects.bulk_create(
        [
            AgreementSnapshot(
                project=project,
                taken_at=taken_at,
                task_kind=row.task_kind,
                label=row.label,
                level=row.level,
                alpha=row.alpha,
                pairwise_agreement=row.pairwise_agreement,
                kendalls_w=row.kendalls_w,
                unit_count=row.unit_count,
                judgement_count=row.judgement_count,
                algorithm=versions.AGREEMENT[0],
                algorithm_version=versions.AGREEMENT[1],
            )
            for row in rows
        ]
    )
