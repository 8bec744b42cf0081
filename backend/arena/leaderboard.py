"""The model leaderboard of a project: battles read from arena votes and from the
rankings of trees that hold model replies, scored by ``bradley_terry``."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.cache import cache

from backend.arena import bradley_terry
from backend.arena.models import Battle, BattleState, Preference
from backend.projects.models import Project
from backend.trees.models import Message

OUTCOMES = {Preference.A: 1.0, Preference.B: 0.0, Preference.TIE: 0.5, Preference.BOTH_BAD: 0.5}


@dataclass
class Board:
    models: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    win_rates: list[list[float | None]] = field(default_factory=list)
    battle_counts: list[list[int]] = field(default_factory=list)


def arena_pairs(*, project: Project, lang: str | None) -> Iterable[tuple[str, str, float]]:
    battles = Battle.objects.filter(project=project, state=BattleState.VOTED)
    if lang:
        battles = battles.filter(lang=lang)
    for name_a, name_b, preference in battles.values_list(
        "model_a__name", "model_b__name", "preference"
    ).order_by("pk"):
        yield name_a, name_b, OUTCOMES[Preference(preference)]


def ranking_pairs(*, project: Project, lang: str | None) -> Iterable[tuple[str, str, float]]:
    """Every two model replies (of different models) ranked under one parent: the one
    ranked higher won; equal ranks tie."""
    replies = Message.objects.filter(
        tree__project=project,
        synthetic=True,
        is_deleted=False,
        rank__isnull=False,
        parent__isnull=False,
    ).exclude(model_name="")
    if lang:
        replies = replies.filter(lang=lang)
    groups: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for parent_id, model_name, rank in replies.values_list(
        "parent_id", "model_name", "rank"
    ).order_by("parent_id", "rank", "pk"):
        groups[parent_id].append((model_name, rank or 0))
    for group in groups.values():
        for position, (name_a, rank_a) in enumerate(group):
            for name_b, rank_b in group[position + 1 :]:
                if name_a != name_b:
                    yield name_a, name_b, 1.0 if rank_a < rank_b else 0.5


def model_leaderboard(
    *, project: Project, lang: str | None, sources: Iterable[str], rounds: int = 200
) -> Board:
    pairs: list[tuple[str, str, float]] = []
    if "arena" in sources:
        pairs.extend(arena_pairs(project=project, lang=lang))
    if "rankings" in sources:
        pairs.extend(ranking_pairs(project=project, lang=lang))
    # The bootstrap costs CPU: the same battles give the same board, so it is kept
    # until a vote or a ranking changes them.
    key = "arena-board:" + hashlib.sha256(repr((rounds, pairs)).encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cast(Board, cached)
    board = _board(pairs, rounds=rounds)
    cache.set(key, board, timeout=3600)
    return board


def _board(pairs: list[tuple[str, str, float]], *, rounds: int) -> Board:
    names = sorted({name for a, b, _ in pairs for name in (a, b)})
    index = {name: position for position, name in enumerate(names)}
    battles = [(index[a], index[b], outcome) for a, b, outcome in pairs]
    scores = bradley_terry.leaderboard(len(names), battles, rounds=rounds)
    rates, counts = bradley_terry.pair_matrices(len(names), battles)
    rows = [
        {
            "model": names[score.index],
            "score": round(score.score, 1),
            "ci_low": round(score.ci_low, 1),
            "ci_high": round(score.ci_high, 1),
            "rank": score.rank,
            "battles": score.battles,
            "wins": score.wins,
            "losses": score.losses,
            "ties": score.ties,
        }
        for score in scores
    ]
    return Board(models=names, rows=rows, win_rates=rates, battle_counts=counts)
