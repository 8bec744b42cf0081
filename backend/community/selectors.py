"""Reads of the materialised community data. Nothing here computes points: the
beat task (``services.community_refresh``) does, the API only reads its result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from backend.accounts.models import User
from backend.community.formula import FORMULA, STREAK_GRACE
from backend.community.models import (
    LEADERBOARDS_CHECKPOINT,
    CommunityCheckpoint,
    LeaderboardEntry,
    UserStats,
    Window,
)
from backend.projects.models import Project

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _current_streak(stats: UserStats | None, now: datetime) -> int:
    """The stored streak, or 0 once the last activity is over 36 h old (the beat task
    zeroes it too, but a reader between two passes must not show a dead streak)."""
    if stats is None or stats.last_active_at is None:
        return 0
    if now - stats.last_active_at > STREAK_GRACE:
        return 0
    return stats.streak_days


def user_community_summary(*, user_id: int, now: datetime | None = None) -> dict[str, int]:
    """``{points, level, streak_days}`` over every project and all time."""
    now = now or timezone.now()
    stats = UserStats.objects.filter(user_id=user_id).first()
    return {
        "points": stats.points if stats else 0,
        "level": stats.level if stats else 1,
        "streak_days": _current_streak(stats, now),
    }


def _stats_of(user: User) -> UserStats | None:
    # A missing one-to-one row raises RelatedObjectDoesNotExist, an AttributeError.
    return getattr(user, "community_stats", None)


def _render_row(entry: LeaderboardEntry | None, user: User, now: datetime) -> dict[str, Any]:
    stats = _stats_of(user)
    return {
        "rank": entry.rank if entry else None,
        "user_id": user.pk,
        "display_name": user.display_name or user.username,
        "points": entry.points if entry else 0,
        "level": stats.level if stats else 1,
        "streak_days": _current_streak(stats, now),
        "contributions": {
            "prompts": entry.prompts if entry else 0,
            "replies": entry.replies if entry else 0,
            "reviews": entry.reviews if entry else 0,
            "rankings": entry.rankings if entry else 0,
        },
    }


def leaderboard_page(
    *,
    window: str,
    project: Project | None,
    viewer: User,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of a leaderboard plus the viewer's own row (``me``), wherever it is.

    People who opted out (or were banned since the last rebuild) are left out at
    once; their ranks close up at the next rebuild. ``me`` is always the viewer's row,
    shown or not, with ``rank`` null when they have no rank.
    """
    now = now or timezone.now()
    assert window in Window.values
    board = LeaderboardEntry.objects.filter(window=window)
    board = (
        board.filter(project=project) if project is not None else board.filter(project__isnull=True)
    )
    shown = board.filter(
        rank__isnull=False, user__show_on_leaderboard=True, user__is_banned=False
    ).select_related("user", "user__community_stats")
    rows = [
        _render_row(entry, entry.user, now)
        for entry in shown.order_by("rank", "user_id")[offset : offset + limit]
    ]
    mine = board.filter(user=viewer).select_related("user", "user__community_stats").first()
    me = _render_row(mine, mine.user if mine else viewer, now)
    if mine is not None and (not viewer.show_on_leaderboard or viewer.is_banned):
        me["rank"] = None
    computed_at = (
        CommunityCheckpoint.objects.filter(name=LEADERBOARDS_CHECKPOINT)
        .values_list("processed_until", flat=True)
        .first()
    )
    return {
        "window": window,
        "project": project.slug if project else None,
        "computed_at": computed_at,
        "count": shown.count(),
        "limit": limit,
        "offset": offset,
        "results": rows,
        "me": me,
    }


def points_formula() -> dict[str, Any]:
    return FORMULA
