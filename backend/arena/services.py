"""State changes of the arena: model endpoints, a project's arena settings, battles
(the pool of ready ones, their generation and their vote). Each one writes its audit
event in its transaction; model calls happen only in Celery tasks (``tasks.arena``)."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import timedelta
from itertools import combinations
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from backend.arena.calls import ModelUnavailable, breaker_cooldown, model_call
from backend.arena.client import ModelCallFailed
from backend.arena.models import (
    ArenaSettings,
    Battle,
    BattleReply,
    BattleState,
    BreakerState,
    ModelEndpoint,
    PromptSource,
)
from backend.arena.secrets import secret_encrypt
from backend.arena.selectors import held_prompt_ids
from backend.assignments.growth import tree_create_from_prompt
from backend.assignments.models import WorkItemState
from backend.assignments.needs import work_item_create
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, NotFound, ValidationFailed
from backend.common.outbox import enqueue, enqueue_at
from backend.projects.models import Project
from backend.projects.selectors import project_cache_clear
from backend.trees.lifecycle import tree_lock
from backend.trees.models import Message, TreeState

COMPARE_KIND = "compare_model_replies"
GENERATE_BATTLE_TASK = "tasks.arena.generate_battle"
FILL_POOL_TASK = "tasks.arena.fill_battle_pool"
LEADERBOARD_SOURCES = ("arena", "rankings")
# Trees whose accepted prompt may be put to the models.
_PROMPT_TREE_STATES = (
    TreeState.BACKLOG,
    TreeState.GROWING,
    TreeState.RANKING,
    TreeState.SCORING,
    TreeState.READY_FOR_EXPORT,
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


# --- Model endpoints ----------------------------------------------------------------


def _number(field: str, value: Any, *, low: float, high: float, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(field, "invalid", "A number.")
    if integer and not isinstance(value, int):
        raise ValidationFailed(field, "invalid", "A whole number.")
    if not low <= value <= high:
        raise ValidationFailed(field, "out_of_range", f"Between {low:g} and {high:g}.")
    return value


def _clean_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValidationFailed("params", "invalid", "An object of parameters.")
    known = {
        "temperature",
        "max_tokens",
        "system_prompt",
        "max_concurrency",
        "requests_per_minute",
        "timeout_seconds",
    }
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationFailed(f"params.{unknown[0]}", "unknown", "Unknown parameter.")
    cleaned: dict[str, Any] = {}
    if "temperature" in params:
        cleaned["temperature"] = float(
            _number("params.temperature", params["temperature"], low=0, high=2)
        )
    if "max_tokens" in params:
        cleaned["max_tokens"] = _number(
            "params.max_tokens", params["max_tokens"], low=1, high=32768, integer=True
        )
    if "system_prompt" in params:
        if not isinstance(params["system_prompt"], str) or len(params["system_prompt"]) > 10000:
            raise ValidationFailed(
                "params.system_prompt", "invalid", "A text of at most 10000 characters."
            )
        cleaned["system_prompt"] = params["system_prompt"]
    if "max_concurrency" in params:
        cleaned["max_concurrency"] = _number(
            "params.max_concurrency", params["max_concurrency"], low=1, high=1000, integer=True
        )
    if "requests_per_minute" in params:
        cleaned["requests_per_minute"] = _number(
            "params.requests_per_minute",
            params["requests_per_minute"],
            low=1,
            high=100000,
            integer=True,
        )
    if "timeout_seconds" in params:
        cleaned["timeout_seconds"] = float(
            _number("params.timeout_seconds", params["timeout_seconds"], low=0.1, high=600)
        )
    return cleaned


def _clean_base_url(base_url: Any) -> str:
    if not isinstance(base_url, str) or len(base_url) > 500:
        raise ValidationFailed("base_url", "invalid", "An http(s) address.")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "base_url", "invalid", "An http(s) address such as https://api.openai.com/v1."
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationFailed(
            "base_url", "invalid", "No user, password, query or fragment in the address."
        )
    return base_url.strip().rstrip("/")


def model_state(endpoint: ModelEndpoint) -> dict[str, Any]:
    """What the audit log keeps of a model (never its key)."""
    return {
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "has_api_key": bool(endpoint.api_key_encrypted),
        "api_key_env": endpoint.api_key_env,
        "temperature": endpoint.temperature,
        "max_tokens": endpoint.max_tokens,
        "system_prompt": endpoint.system_prompt,
        "is_enabled": endpoint.is_enabled,
    }


def model_endpoint_create(
    *,
    name: str,
    base_url: str,
    model: str,
    api_key: str = "",
    api_key_env: str = "",
    params: dict[str, Any] | None = None,
    enabled: bool = True,
    actor_id: int | None = None,
) -> ModelEndpoint:
    """Register a model. Its API key is stored encrypted, or named as an environment
    variable (``api_key_env``), never both."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationFailed(
            "name", "invalid", "Lower-case letters, digits, '.', '-' and '_' (at most 64)."
        )
    if not isinstance(model, str) or not model.strip() or len(model) > 200:
        raise ValidationFailed("model", "invalid", "The model's name at the endpoint.")
    if api_key and api_key_env:
        raise ValidationFailed("api_key", "ambiguous", "Give the key or its variable, not both.")
    if not isinstance(api_key, str) or len(api_key) > 500:
        raise ValidationFailed("api_key", "invalid", "A text of at most 500 characters.")
    if api_key_env and (not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)):
        raise ValidationFailed("api_key_env", "invalid", "An environment variable's name.")
    endpoint = ModelEndpoint(
        name=name,
        base_url=_clean_base_url(base_url),
        model=model.strip(),
        api_key_encrypted=secret_encrypt(api_key),
        api_key_env=api_key_env,
        is_enabled=bool(enabled),
        created_by_id=actor_id,
        **_clean_params(params),
    )
    with transaction.atomic():
        if ModelEndpoint.objects.filter(name=name).exists():
            raise ValidationFailed("name", "unique", f"A model {name!r} exists already.")
        endpoint.save()
        audit_record(
            action=AuditAction.MODEL_CREATED,
            target_type="model",
            target_id=endpoint.pk,
            actor_id=actor_id,
            after=model_state(endpoint),
        )
    return endpoint


def model_endpoint_update(
    *,
    name: str,
    actor_id: int | None,
    enabled: bool | None = None,
    params: dict[str, Any] | None = None,
    reset_breaker: bool = False,
) -> ModelEndpoint:
    """Turn a model on or off, change its parameters, or close its breaker by hand."""
    cleaned = _clean_params(params)
    with transaction.atomic():
        endpoint = ModelEndpoint.objects.select_for_update().filter(name=name).first()
        if endpoint is None:
            raise NotFound("model_not_found", "No such model.")
        before = model_state(endpoint)
        for field, value in cleaned.items():
            setattr(endpoint, field, value)
        if enabled is not None:
            endpoint.is_enabled = enabled
        if reset_breaker:
            endpoint.breaker_state = BreakerState.CLOSED
            endpoint.breaker_reason = ""
            endpoint.consecutive_failures = 0
        endpoint.save()
        audit_record(
            action=AuditAction.MODEL_UPDATED,
            target_type="model",
            target_id=endpoint.pk,
            actor_id=actor_id,
            before=before,
            after={**model_state(endpoint), "reset_breaker": reset_breaker},
        )
    return endpoint


# --- A project's arena settings -------------------------------------------------------


def _clean_model_names(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValidationFailed(field, "invalid", "A list of model names.")
    names = list(dict.fromkeys(value))
    known = set(ModelEndpoint.objects.filter(name__in=names).values_list("name", flat=True))
    missing = [name for name in names if name not in known]
    if missing:
        raise ValidationFailed(field, "unknown_model", f"No model {missing[0]!r}.")
    return names


def arena_settings_of(project: Project) -> ArenaSettings:
    """The project's settings, or the defaults (everything off) when it has none. Read
    once per project object (Django keeps the row, or its absence, on it), so the
    arena's kinds ask one query between them on a page."""
    try:
        return project.arena_settings
    except ArenaSettings.DoesNotExist:
        return ArenaSettings(project=project)


def arena_settings_update(
    *, project: Project, changes: dict[str, Any], actor_id: int | None
) -> ArenaSettings:
    """Change any of ``arena_models``, ``arena_pool_size``, ``arena_prompt_source``,
    ``model_reply_models``, ``model_replies_per_parent``, ``leaderboard_sources``; all
    checked before any is saved. Turning the arena on fills its pools (Celery, after
    the commit)."""
    allowed = {
        "arena_models",
        "arena_pool_size",
        "arena_prompt_source",
        "model_reply_models",
        "model_replies_per_parent",
        "leaderboard_sources",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationFailed(unknown[0], "unknown_setting", f"Unknown setting {unknown[0]!r}.")
    cleaned: dict[str, Any] = {}
    if "arena_models" in changes:
        cleaned["arena_models"] = _clean_model_names("arena_models", changes["arena_models"])
    if "model_reply_models" in changes:
        cleaned["model_reply_models"] = _clean_model_names(
            "model_reply_models", changes["model_reply_models"]
        )
    if "arena_pool_size" in changes:
        cleaned["arena_pool_size"] = _number(
            "arena_pool_size", changes["arena_pool_size"], low=0, high=100, integer=True
        )
    if "model_replies_per_parent" in changes:
        cleaned["model_replies_per_parent"] = _number(
            "model_replies_per_parent",
            changes["model_replies_per_parent"],
            low=0,
            high=10,
            integer=True,
        )
    if "arena_prompt_source" in changes:
        source = changes["arena_prompt_source"]
        if source not in PromptSource.values:
            raise ValidationFailed(
                "arena_prompt_source", "invalid_choice", 'One of "accepted", "written", "both".'
            )
        cleaned["arena_prompt_source"] = source
    if "leaderboard_sources" in changes:
        sources = changes["leaderboard_sources"]
        if not isinstance(sources, list) or not set(sources) <= set(LEADERBOARD_SOURCES):
            raise ValidationFailed(
                "leaderboard_sources", "invalid", 'A list of "arena" and "rankings".'
            )
        cleaned["leaderboard_sources"] = list(dict.fromkeys(sources))
    with transaction.atomic():
        row, _ = ArenaSettings.objects.select_for_update().get_or_create(project=project)
        before = {name: getattr(row, name) for name in cleaned}
        for name, value in cleaned.items():
            setattr(row, name, value)
        row.save()
        project.arena_settings = row  # what this project object reads from now on
        # Shared project objects keep the settings they read: drop them, so this
        # process sees the change at once (as it does a project's own change).
        transaction.on_commit(project_cache_clear)
        audit_record(
            action=AuditAction.ARENA_SETTINGS_UPDATED,
            target_type="project",
            target_id=project.pk,
            actor_id=actor_id,
            project_id=project.pk,
            before=before,
            after=cleaned,
        )
        if row.is_on:
            # By the outbox relay, not the commit hook: the request never waits on a
            # model, even with Celery in-process (embedded mode).
            for lang in project.languages:
                enqueue_at(FILL_POOL_TASK, timezone.now(), project.pk, lang)
    return row


# --- Battles --------------------------------------------------------------------------


def _available_models(names: list[str]) -> list[ModelEndpoint]:
    """The named models that may be asked now: on, and not paused by their breaker (a
    breaker past its cool-down counts: the battle is its trial)."""
    now = timezone.now()
    return list(
        ModelEndpoint.objects.filter(name__in=names, is_enabled=True)
        .filter(
            Q(breaker_state=BreakerState.CLOSED)
            | Q(breaker_opened_at__lte=now - breaker_cooldown())
        )
        .order_by("name")
    )


def battle_pair_choose(
    models: list[ModelEndpoint], counts: Counter[frozenset[int]], rng: random.Random
) -> tuple[ModelEndpoint, ModelEndpoint]:
    """The pair of models with the fewest battles so far (ties at random), in a random
    order: which one is A is a coin toss."""
    pairs = list(combinations(models, 2))
    fewest = min(counts[frozenset((a.pk, b.pk))] for a, b in pairs)
    first, second = rng.choice(
        [(a, b) for a, b in pairs if counts[frozenset((a.pk, b.pk))] == fewest]
    )
    return (first, second) if rng.random() < 0.5 else (second, first)


def battle_pool_fill(*, project_id: int, lang: str, rng: random.Random | None = None) -> int:
    """Start battles until the project has ``arena_pool_size`` live ones (being
    generated or waiting for a vote) in ``lang``; each is generated by Celery after the
    commit. Returns how many it started."""
    rng = rng or random.Random()
    project = Project.objects.filter(pk=project_id).first()
    if project is None or lang not in project.languages:
        return 0
    arena = arena_settings_of(project)
    if arena.arena_prompt_source == PromptSource.WRITTEN:
        return 0  # every battle starts from a prompt a volunteer writes for it
    models = _available_models(list(arena.arena_models))
    if len(models) < 2:
        return 0
    with transaction.atomic():
        live = Battle.objects.filter(
            project=project, lang=lang, state__in=(BattleState.GENERATING, BattleState.READY)
        )
        missing = arena.arena_pool_size - live.count()
        if missing <= 0:
            return 0
        busy_prompts = set(live.values_list("prompt_id", flat=True))
        busy_prompts |= held_prompt_ids(project_id=project.pk, lang=lang)
        prompt_ids = list(
            Message.objects.filter(
                tree__project=project,
                tree__state__in=_PROMPT_TREE_STATES,
                parent__isnull=True,
                lang=lang,
                review_result=True,
                is_deleted=False,
            )
            .exclude(pk__in=busy_prompts)
            .values_list("pk", flat=True)[:1000]
        )
        if not prompt_ids:
            return 0
        counts = _pair_counts(project)
        asked = Counter(
            Battle.objects.filter(project=project, prompt_id__in=prompt_ids).values_list(
                "prompt_id", flat=True
            )
        )
        rng.shuffle(prompt_ids)
        prompt_ids.sort(key=lambda pk: asked[pk])  # the least asked prompts first
        started = 0
        for prompt_id in prompt_ids[:missing]:
            model_a, model_b = battle_pair_choose(models, counts, rng)
            counts[frozenset((model_a.pk, model_b.pk))] += 1
            battle = Battle.objects.create(
                project=project, lang=lang, prompt_id=prompt_id, model_a=model_a, model_b=model_b
            )
            enqueue(GENERATE_BATTLE_TASK, battle.pk)
            started += 1
    return started


def _pair_counts(project: Project) -> Counter[frozenset[int]]:
    """Battles so far per pair of models (failed ones do not count)."""
    counts: Counter[frozenset[int]] = Counter()
    for a_id, b_id in (
        Battle.objects.filter(project=project)
        .exclude(state=BattleState.FAILED)
        .values_list("model_a_id", "model_b_id")
    ):
        counts[frozenset((a_id, b_id))] += 1
    return counts


def written_prompts_open(project: Project) -> bool:
    """Does the project take prompts written for the arena (two models or more set)?"""
    arena = arena_settings_of(project)
    return arena.arena_prompt_source in (PromptSource.WRITTEN, PromptSource.BOTH) and arena.is_on


def written_prompt_room(project: Project, lang: str) -> bool:
    """May a volunteer write one more prompt for the arena now? Two models must be
    available, and the battles still being generated from written prompts in ``lang``
    fewer than the pool size (volunteers never write faster than models answer)."""
    if not written_prompts_open(project):
        return False
    arena = arena_settings_of(project)
    if len(_available_models(list(arena.arena_models))) < 2:
        return False
    waiting = Battle.objects.filter(
        project=project, lang=lang, is_written=True, state=BattleState.GENERATING
    ).values("pk")[: max(arena.arena_pool_size, 1)]
    return waiting.count() < max(arena.arena_pool_size, 1)


def written_battle_start(
    *, project: Project, author_id: int, lang: str, text: str, rng: random.Random | None = None
) -> Message:
    """A volunteer wrote a prompt for the arena: it starts a tree like any new prompt
    (reviewed like one, and it may grow), and a battle on it is generated by Celery,
    sent by the outbox relay so the submit never waits on a model. Once both replies
    are in, the battle is offered before the pool's (``battle_offer``)."""
    if not written_prompts_open(project):
        raise Conflict("arena_prompts_closed", "This project takes no prompts for the arena.")
    arena = arena_settings_of(project)
    models = _available_models(list(arena.arena_models))
    if len(models) < 2:
        raise Conflict("arena_unavailable", "Fewer than two models can answer now.")
    prompt = tree_create_from_prompt(project=project, author_id=author_id, lang=lang, text=text)
    model_a, model_b = battle_pair_choose(models, _pair_counts(project), rng or random.Random())
    battle = Battle.objects.create(
        project=project,
        lang=lang,
        prompt=prompt,
        model_a=model_a,
        model_b=model_b,
        is_written=True,
    )
    enqueue_at(GENERATE_BATTLE_TASK, timezone.now(), battle.pk)
    return prompt


def _battle_fail(battle_id: int, reason: str) -> None:
    with transaction.atomic():
        Battle.objects.filter(pk=battle_id, state=BattleState.GENERATING).update(
            state=BattleState.FAILED, failure_reason=reason[:500]
        )
        battle = Battle.objects.get(pk=battle_id)
        # Another pair takes its place (the failed model's breaker may keep it out).
        enqueue(FILL_POOL_TASK, battle.project_id, battle.lang)


def battle_generate(*, battle_id: int) -> str:
    """Ask both models of a battle for their replies (the side already stored is not
    asked again), then put them through the quality signals: offer the battle to
    volunteers, or hold it for a moderator when a reply is flagged (``holds``). Safe
    to run twice."""
    from backend.arena.holds import battle_screen

    battle = Battle.objects.select_related("prompt", "model_a", "model_b").get(pk=battle_id)
    if battle.state != BattleState.GENERATING:
        return battle.state
    have = set(BattleReply.objects.filter(battle=battle).values_list("side", flat=True))
    messages = [{"role": "user", "content": battle.prompt.text}]
    for side, endpoint in (("a", battle.model_a), ("b", battle.model_b)):
        if side in have:
            continue
        try:
            completion = model_call(endpoint_id=endpoint.pk, messages=messages)
        except ModelUnavailable as unavailable:
            if unavailable.is_busy:
                # Busy, not broken: the same battle, a little later (durable delay).
                with transaction.atomic():
                    enqueue_at(
                        GENERATE_BATTLE_TASK,
                        timezone.now() + timedelta(seconds=unavailable.retry_after),
                        battle.pk,
                    )
                return "postponed"
            _battle_fail(battle.pk, f"{endpoint.name}: {unavailable.reason}")
            return BattleState.FAILED
        except ModelCallFailed as failure:
            _battle_fail(battle.pk, f"{endpoint.name}: {failure.reason}")
            return BattleState.FAILED
        try:
            with transaction.atomic():
                BattleReply.objects.create(
                    battle=battle,
                    side=side,
                    text=completion.text,
                    latency_ms=completion.latency_ms,
                )
        except IntegrityError:
            pass  # a twin run stored this side first; keep the first reply
    return battle_screen(battle_id=battle.pk)


def battle_offer(*, battle_id: int, from_state: str = BattleState.GENERATING) -> str:
    """Both replies are in (and passed the quality signals, or a moderator released
    the held battle: ``from_state`` HELD): one work item of ``compare_model_replies``
    on the prompt."""
    battle = Battle.objects.get(pk=battle_id)
    with transaction.atomic():
        tree = tree_lock(Message.objects.values_list("tree_id", flat=True).get(pk=battle.prompt_id))
        battle = Battle.objects.select_for_update().get(pk=battle_id)
        if battle.state != from_state:
            return battle.state
        if BattleReply.objects.filter(battle=battle).count() != 2:
            return battle.state
        prompt = Message.objects.get(pk=battle.prompt_id)
        try:
            with transaction.atomic():
                # A written prompt's battle comes first: its author may be waiting.
                item = work_item_create(
                    tree=tree,
                    target=prompt,
                    kind=COMPARE_KIND,
                    required=1,
                    priority=1 if battle.is_written else 0,
                )
        except IntegrityError:
            # Another battle on this prompt is waiting for its vote; this one waits for
            # the next fill.
            Battle.objects.filter(pk=battle.pk).update(
                state=BattleState.FAILED, failure_reason="the prompt has a battle waiting"
            )
            return BattleState.FAILED
        Battle.objects.filter(pk=battle.pk).update(state=BattleState.READY, work_item=item)
    return BattleState.READY


def battles_prune(*, project_id: int, lang: str) -> int:
    """Battles offered on an item that was closed without a vote (its tree was halted
    or deleted) leave the pool."""
    return (
        Battle.objects.filter(project_id=project_id, lang=lang, state=BattleState.READY)
        .filter(Q(work_item__isnull=True) | Q(work_item__state=WorkItemState.CLOSED))
        .update(state=BattleState.FAILED, failure_reason="its work item was closed")
    )
