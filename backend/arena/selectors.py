"""Reads of the arena: models, battles, what the pools and the leaderboard need."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from backend.arena.models import ArenaSettings, Battle, BattleState, ModelEndpoint


def models_list() -> QuerySet[ModelEndpoint]:
    return ModelEndpoint.objects.order_by("name")


def model_health(endpoint: ModelEndpoint) -> str:
    """One word for the list: off, paused (breaker open), trying (half-open), failing
    (errors but still asked), ok, or new (never called)."""
    if not endpoint.is_enabled:
        return "off"
    if endpoint.breaker_state == "open":
        return "paused"
    if endpoint.breaker_state == "half_open":
        return "trying"
    if endpoint.consecutive_failures:
        return "failing"
    if endpoint.last_success_at is not None:
        return "ok"
    return "new"


def arena_project_languages() -> list[tuple[int, str]]:
    """(project id, language) for every active project with an arena (two models)."""
    pairs: list[tuple[int, str]] = []
    for row in ArenaSettings.objects.select_related("project").filter(project__is_active=True):
        if row.is_on:
            pairs.extend((row.project_id, lang) for lang in row.project.languages)
    return pairs


def battle_pool_counts(*, project_id: int) -> dict[str, Any]:
    """Battles per language and state: ``{"en": {"ready": 3, "voted": 120}}``."""
    counts: dict[str, Any] = {}
    rows = (
        Battle.objects.filter(project_id=project_id)
        .values_list("lang", "state")
        .annotate(count=Count("pk"))
        .order_by("lang", "state")
    )
    for lang, state, count in rows:
        counts.setdefault(lang, {})[state] = count
    return counts


def held_prompt_ids(*, project_id: int, lang: str) -> set[int]:
    """Prompts with a battle held for a moderator: no new battle is put to them until
    the moderator decides (a model that keeps failing the signals on a prompt would
    otherwise be asked again and again)."""
    return set(
        Battle.objects.filter(project_id=project_id, lang=lang, state=BattleState.HELD).values_list(
            "prompt_id", flat=True
        )
    )
