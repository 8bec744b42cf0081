"""The ``arena-battles`` format: one JSON line per voted battle, in the field names of
the public Chatbot Arena release so its analysis notebooks run unchanged::

    {"model_a", "model_b", "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)",
     "conversation_a": [{"role": "user", "content"}, {"role": "assistant", "content"}],
     "conversation_b": […], "language", "judge": "arena_user_<hash>", "tstamp",
     "question_id"}

``judge`` is a keyed hash of the voter (the same person gets the same name within an
export, never their account); ``tstamp`` is Unix seconds of the vote.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import orjson
from django.conf import settings

from backend.arena.kind import WINNERS
from backend.arena.models import Battle, BattleState, Preference
from backend.projects.models import Project

# Chatbot Arena's language names for the codes projects use most; other codes as given.
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
}


def judge_name(user_id: int | None) -> str:
    if user_id is None:
        return "arena_user_unknown"
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"arena judge {user_id}".encode(), hashlib.sha256
    )
    return "arena_user_" + digest.hexdigest()[:16]


def battle_record(battle: Battle, replies: dict[str, str]) -> dict[str, Any]:
    prompt = {"role": "user", "content": battle.prompt.text}
    return {
        "question_id": f"{battle.project.slug}-{battle.pk}",
        "model_a": battle.model_a.name,
        "model_b": battle.model_b.name,
        "winner": WINNERS[Preference(battle.preference)],
        "conversation_a": [prompt, {"role": "assistant", "content": replies.get("a", "")}],
        "conversation_b": [prompt, {"role": "assistant", "content": replies.get("b", "")}],
        "turn": 1,
        "language": LANGUAGE_NAMES.get(battle.lang, battle.lang),
        "judge": judge_name(battle.voter_id),
        "anony": True,
        "tstamp": battle.voted_at.timestamp() if battle.voted_at else None,
    }


def arena_battle_records(*, project: Project, lang: str | None) -> Iterator[dict[str, Any]]:
    battles = (
        Battle.objects.filter(project=project, state=BattleState.VOTED)
        .select_related("project", "prompt", "model_a", "model_b")
        .prefetch_related("replies")
        .order_by("voted_at", "pk")
    )
    if lang:
        battles = battles.filter(lang=lang)
    for battle in battles.iterator(chunk_size=500):
        yield battle_record(battle, {reply.side: reply.text for reply in battle.replies.all()})


def arena_battle_lines(*, project: Project, lang: str | None) -> Iterator[bytes]:
    for record in arena_battle_records(project=project, lang=lang):
        yield orjson.dumps(record) + b"\n"


def arena_battle_records_of(
    project_id: int, languages: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    """The ``arena-battles`` export format's records (``exports.formats.registry``)."""
    project = Project.objects.get(pk=project_id)
    if not languages:
        yield from arena_battle_records(project=project, lang=None)
        return
    for lang in languages:
        yield from arena_battle_records(project=project, lang=lang)
