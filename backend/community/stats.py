"""A project's progress in numbers: what the stats API and page show."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from backend.assignments.selectors import work_available_counts
from backend.consensus.selectors import agreement_latest
from backend.projects.models import Project
from backend.quality.models import MessageQuality
from backend.trees.models import Message
from backend.trees.selectors import tree_state_counts


def project_stats(*, project: Project) -> dict[str, Any]:
    messages = Message.objects.filter(tree__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(review_result=True)),
        rejected=Count("pk", filter=Q(review_result=False)),
        under_review=Count("pk", filter=Q(review_result__isnull=True, is_deleted=False)),
        ranked=Count("pk", filter=Q(rank__isnull=False)),
        deleted=Count("pk", filter=Q(is_deleted=True)),
        contributors=Count("author", distinct=True),
    )
    return {
        "project": project.slug,
        "trees_by_state": tree_state_counts(project_id=project.pk),
        "messages": messages,
        "work_available": {
            lang: work_available_counts(project=project, lang=lang) for lang in project.languages
        },
        # The newest agreement snapshot (backend.consensus), None before the first rescore.
        "agreement": agreement_latest(project=project),
        "quality": quality_flag_rates(project=project),
    }


# The flags the quality app raises, in the order the stats show them.
QUALITY_FLAGS = (
    "lang_mismatch",
    "toxicity",
    "pii",
    "near_duplicate",
    "exact_duplicate",
    "leakage",
)


def _rates(computed: int, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "computed": computed,
        "flags": {
            flag: {
                "count": counts.get(flag, 0),
                "rate": round(counts.get(flag, 0) / computed, 4) if computed else None,
            }
            for flag in QUALITY_FLAGS
        },
    }


def quality_flag_rates(*, project: Project) -> dict[str, Any]:
    """How many messages have their quality signals computed and, per flag, how many of
    them (and which share) raised it: over the project and per message language.

    One query: quality rows grouped by (language, set of flags), a few dozen groups
    whatever the size of the project; the flags are counted from the groups.
    """
    groups = (
        MessageQuality.objects.filter(project=project)
        .order_by()
        .values("message__lang", "flags")
        .annotate(count=Count("pk"))
        .values_list("message__lang", "flags", "count")
    )
    computed: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for lang, flags, count in groups:
        computed[lang] = computed.get(lang, 0) + count
        per_lang = counts.setdefault(lang, {})
        for flag in set(flags or ()):
            per_lang[flag] = per_lang.get(flag, 0) + count
    total: dict[str, int] = {}
    for per_lang in counts.values():
        for flag, count in per_lang.items():
            total[flag] = total.get(flag, 0) + count
    return {
        **_rates(sum(computed.values()), total),
        "by_language": {lang: _rates(computed[lang], counts[lang]) for lang in sorted(computed)},
    }
