"""A project's progress in numbers: what the stats API and page show."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentState, LabelVote, RankingVote
from backend.assignments.selectors import work_available_counts
from backend.consensus.selectors import agreement_history, agreement_latest
from backend.projects.models import Project
from backend.quality.models import MessageQuality
from backend.trees.models import Message, Role, Tree
from backend.trees.selectors import tree_state_counts

# How long one computed set of figures is served (the page and the API read the same
# snapshot): the dashboard is live to within this many seconds.
STATS_CACHE_SECONDS = 30
HOURS = 48  # hourly buckets, the newest is the current hour
DAYS = 30  # daily buckets (UTC days), the newest is today
MEDIAN_WINDOW = timedelta(days=7)  # submissions whose duration counts toward the medians
AGREEMENT_POINTS = 30  # newest agreement snapshots in the series

# Figures that apps above this one add to the stats (name -> function of the project),
# registered at start-up: ``backend.web`` adds the moderation backlog, which this app
# may not read itself (moderation is a sibling layer).
STATS_EXTRAS: dict[str, Callable[[Project], Any]] = {}


def register_stats_extra(name: str, figure: Callable[[Project], Any]) -> None:
    STATS_EXTRAS[name] = figure


def _cache_key(project: Project) -> str:
    # The creation time keeps a recreated project with a reused id from old figures.
    return f"project-stats:{project.pk}:{project.created_at.timestamp()}"


def dashboard_figures_cached(*, project: Project) -> dict[str, Any]:
    """``dashboard_figures``, computed at most once per ``STATS_CACHE_SECONDS`` per project."""
    key = _cache_key(project)
    figures = cache.get(key)
    if figures is None:
        figures = dashboard_figures(project=project)
        cache.set(key, figures, STATS_CACHE_SECONDS)
    return figures


def dashboard_figures_forget(*, project: Project) -> None:
    cache.delete(_cache_key(project))


def project_stats(*, project: Project) -> dict[str, Any]:
    """The project's figures: counts read live on each request (trees, messages, open
    work, the newest agreement, quality flags), and the dashboard's figures over time,
    a snapshot at most ``STATS_CACHE_SECONDS`` old (``generated_at`` says when)."""
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
        **dashboard_figures_cached(project=project),
    }


def dashboard_figures(*, project: Project, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard's figures at ``now``: trees per language, acceptance rates, activity
    per hour and day, active volunteers, median time per task kind, agreement over time
    and what other apps registered (``STATS_EXTRAS``)."""
    now = now or timezone.now()
    return {
        "generated_at": now,
        "trees_by_language": trees_by_language(project=project),
        "acceptance": acceptance_rates(project=project),
        "activity": activity_series(project=project, now=now),
        "active_volunteers": active_volunteers(project=project, now=now),
        "median_seconds_per_kind": median_task_seconds(project=project, now=now),
        "agreement_over_time": agreement_series(project=project),
        **{name: figure(project) for name, figure in STATS_EXTRAS.items()},
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


def trees_by_language(*, project: Project) -> dict[str, dict[str, int]]:
    """Trees per language and state (the (project, lang, state) index answers it)."""
    rows = (
        Tree.objects.filter(project=project)
        .order_by()
        .values_list("lang", "state")
        .annotate(count=Count("pk"))
    )
    result: dict[str, dict[str, int]] = {}
    for lang, state, count in rows:
        result.setdefault(lang, {})[state] = count
    return {lang: result[lang] for lang in sorted(result)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def acceptance_rates(*, project: Project) -> dict[str, dict[str, Any]]:
    """Per role (prompts, replies): accepted, decided (accepted or rejected), their rate."""
    rows = (
        Message.objects.filter(tree__project=project, review_result__isnull=False)
        .order_by()
        .values_list("role", "review_result")
        .annotate(count=Count("pk"))
    )
    counts = {(role, result): count for role, result, count in rows}
    result = {}
    for name, role in (("prompts", Role.PROMPTER), ("replies", Role.ASSISTANT)):
        accepted = counts.get((role.value, True), 0)
        decided = accepted + counts.get((role.value, False), 0)
        result[name] = {"accepted": accepted, "decided": decided, "rate": _rate(accepted, decided)}
    return result


def _buckets(start: datetime, step: timedelta, count: int) -> list[datetime]:
    return [start + step * i for i in range(count)]


def _series(rows: Any, buckets: list[datetime]) -> list[int]:
    found = {bucket.astimezone(UTC): count for bucket, count in rows}
    return [found.get(bucket, 0) for bucket in buckets]


def activity_series(*, project: Project, now: datetime) -> dict[str, Any]:
    """Messages written, labels given and rankings submitted per hour (the last ``HOURS``
    hours) and per UTC day (the last ``DAYS`` days), the newest bucket being the current
    one. Each is one grouped query over a time window."""
    now = now.astimezone(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    windows = {
        "hourly": (
            TruncHour,
            _buckets(hour - timedelta(hours=HOURS - 1), timedelta(hours=1), HOURS),
        ),
        "daily": (TruncDay, _buckets(day - timedelta(days=DAYS - 1), timedelta(days=1), DAYS)),
    }
    sources = {
        "messages": Message.objects.filter(tree__project=project),
        "labels": LabelVote.objects.filter(message__tree__project=project),
        "rankings": RankingVote.objects.filter(parent__tree__project=project),
    }
    result: dict[str, Any] = {}
    for window, (trunc, buckets) in windows.items():
        series: dict[str, Any] = {
            "start": buckets[0],
            "step_seconds": int((buckets[1] - buckets[0]).total_seconds()),
        }
        for name, rows in sources.items():
            grouped = (
                rows.filter(created_at__gte=buckets[0])
                .order_by()
                .annotate(bucket=trunc("created_at", tzinfo=UTC))
                .values_list("bucket")
                .annotate(count=Count("pk"))
                .values_list("bucket", "count")
            )
            series[name] = _series(grouped, buckets)
        result[window] = series
    return result


def active_volunteers(*, project: Project, now: datetime) -> dict[str, int]:
    """Distinct people who submitted a task of the project in the last day / week."""
    submitted = Assignment.objects.filter(project=project, state=AssignmentState.SUBMITTED)
    counts = submitted.filter(finished_at__gte=now - timedelta(days=7)).aggregate(
        last_7_days=Count("user", distinct=True),
        last_24_hours=Count(
            "user", distinct=True, filter=Q(finished_at__gte=now - timedelta(hours=24))
        ),
    )
    return {"last_24_hours": counts["last_24_hours"], "last_7_days": counts["last_7_days"]}


def median_task_seconds(*, project: Project, now: datetime) -> dict[str, float]:
    """Per task kind, the median seconds from claiming a task to submitting it, over the
    submissions of the last ``MEDIAN_WINDOW``."""
    rows = Assignment.objects.filter(
        project=project,
        state=AssignmentState.SUBMITTED,
        finished_at__gte=now - MEDIAN_WINDOW,
    ).values_list("kind", "created_at", "finished_at")
    durations: dict[str, list[float]] = {}
    for kind, claimed, submitted in rows:
        assert submitted is not None  # submitted assignments have finished
        durations.setdefault(kind, []).append((submitted - claimed).total_seconds())
    return {kind: round(statistics.median(durations[kind]), 1) for kind in sorted(durations)}


def agreement_series(*, project: Project) -> list[dict[str, Any]]:
    """Alpha over all task kinds at each of the newest rescores, oldest first: per
    label, for rankings, and Kendall's W."""
    series = []
    for snapshot in agreement_history(project=project, limit=AGREEMENT_POINTS):
        rankings = snapshot["rankings"].get("all") or {}
        series.append(
            {
                "taken_at": snapshot["taken_at"],
                "labels": {
                    name: (scopes.get("all") or {}).get("alpha")
                    for name, scopes in sorted(snapshot["labels"].items())
                },
                "ranking_alpha": rankings.get("alpha"),
                "kendalls_w": rankings.get("kendalls_w"),
            }
        )
    return series


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
