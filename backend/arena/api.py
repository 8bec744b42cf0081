"""REST endpoints of models in the loop (researchers and admins; volunteers get 403).

- ``GET/POST /api/v1/models/``: the registered models with health and last error; add one
- ``GET/PATCH /api/v1/models/{name}``: one model; turn it on/off, change parameters,
  close its breaker
- ``GET/PATCH /api/v1/projects/{slug}/arena``: a project's arena settings
- ``GET /api/v1/projects/{slug}/model-leaderboard?lang=&sources=``: Bradley–Terry
  scores with 95 % bootstrap intervals (any signed-in person)
- ``GET /api/v1/projects/{slug}/arena-battles.jsonl?lang=``: the voted battles in
  Chatbot Arena's field names (researchers)
- ``POST /api/v1/arena/battles/{id}/decision``: release or discard a battle held for a
  moderator (moderators and admins)
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.arena import exporting, holds, leaderboard, selectors, services
from backend.arena.models import Battle, ModelEndpoint, PromptSource
from backend.common.api import actor_id
from backend.common.errors import NotFound, ValidationFailed
from backend.common.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
)
from backend.common.permissions import IsModerator, IsNotBanned, has_role
from backend.projects.models import Project


class IsResearcher(BasePermission):
    message = "Only researchers and admins manage models."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, "researcher")


PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcher]


class NumberField(StrictFloatField):
    """A JSON number, never a boolean (a temperature of ``false`` is a mistake)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class ModelParamsInput(serializers.Serializer):
    temperature = NumberField(required=False, min_value=0, max_value=2)
    max_tokens = StrictIntegerField(required=False, min_value=1, max_value=32768)
    system_prompt = StrictCharField(
        required=False, allow_blank=True, max_length=10000, trim_whitespace=False
    )
    max_concurrency = StrictIntegerField(required=False, min_value=1, max_value=1000)
    requests_per_minute = StrictIntegerField(required=False, min_value=1, max_value=100000)
    timeout_seconds = NumberField(required=False, min_value=0.1, max_value=600)


class ModelInput(serializers.Serializer):
    name = StrictCharField(max_length=64)
    base_url = StrictCharField(max_length=500)
    model = StrictCharField(max_length=200)
    api_key = StrictCharField(
        required=False, allow_blank=True, max_length=500, help_text="stored encrypted"
    )
    api_key_env = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="or: the environment variable that holds the key",
    )
    params = ModelParamsInput(required=False)
    enabled = StrictBooleanField(required=False, default=True)


class ModelPatchInput(serializers.Serializer):
    enabled = StrictBooleanField(required=False)
    params = ModelParamsInput(required=False)
    reset_breaker = StrictBooleanField(required=False, default=False)


class ModelOutput(serializers.Serializer):
    name = serializers.CharField()
    base_url = serializers.CharField()
    model = serializers.CharField()
    has_api_key = serializers.BooleanField()
    api_key_env = serializers.CharField()
    params = serializers.DictField()
    enabled = serializers.BooleanField()
    health = serializers.CharField(help_text="ok, new, failing, trying, paused or off")
    breaker = serializers.CharField(help_text="closed, open or half_open")
    breaker_reason = serializers.CharField()
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    calls_succeeded = serializers.IntegerField()
    calls_failed = serializers.IntegerField()


def render_model(endpoint: ModelEndpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "has_api_key": bool(endpoint.api_key_encrypted),
        "api_key_env": endpoint.api_key_env,
        "params": {
            "temperature": endpoint.temperature,
            "max_tokens": endpoint.max_tokens,
            "system_prompt": endpoint.system_prompt,
            "max_concurrency": endpoint.max_concurrency,
            "requests_per_minute": endpoint.requests_per_minute,
            "timeout_seconds": endpoint.timeout_seconds,
        },
        "enabled": endpoint.is_enabled,
        "health": selectors.model_health(endpoint),
        "breaker": endpoint.breaker_state,
        "breaker_reason": endpoint.breaker_reason,
        "last_error": endpoint.last_error,
        "last_error_at": endpoint.last_error_at,
        "last_success_at": endpoint.last_success_at,
        "calls_succeeded": endpoint.calls_succeeded,
        "calls_failed": endpoint.calls_failed,
    }


class ModelsView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ModelOutput(many=True), summary="Registered models")
    def get(self, request: Request) -> Response:
        return Response([render_model(endpoint) for endpoint in selectors.models_list()])

    @extend_schema(request=ModelInput, responses={201: ModelOutput}, summary="Register a model")
    def post(self, request: Request) -> Response:
        data = ModelInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = services.model_endpoint_create(
            name=values["name"],
            base_url=values["base_url"],
            model=values["model"],
            api_key=values.get("api_key", ""),
            api_key_env=values.get("api_key_env", ""),
            params=dict(values.get("params") or {}),
            enabled=values["enabled"],
            actor_id=request.user.pk,
        )
        return Response(render_model(endpoint), status=201)


def _model(name: str) -> ModelEndpoint:
    endpoint = ModelEndpoint.objects.filter(name=name).first()
    if endpoint is None:
        raise NotFound("model_not_found", "No such model.")
    return endpoint


class ModelDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ModelOutput, summary="One model")
    def get(self, request: Request, name: str) -> Response:
        return Response(render_model(_model(name)))

    @extend_schema(request=ModelPatchInput, responses=ModelOutput, summary="Change a model")
    def patch(self, request: Request, name: str) -> Response:
        data = ModelPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = services.model_endpoint_update(
            name=name,
            actor_id=request.user.pk,
            enabled=values.get("enabled"),
            params=dict(values.get("params") or {}),
            reset_breaker=values["reset_breaker"],
        )
        return Response(render_model(endpoint))


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


class ArenaSettingsInput(serializers.Serializer):
    arena_models = serializers.ListField(child=StrictCharField(max_length=64), required=False)
    arena_pool_size = StrictIntegerField(required=False, min_value=0, max_value=100)
    arena_prompt_source = serializers.ChoiceField(
        choices=PromptSource.choices,
        required=False,
        help_text="where battles take their prompts: accepted prompts, prompts "
        "volunteers write for the arena (task kind write_arena_prompt), or both",
    )
    model_reply_models = serializers.ListField(child=StrictCharField(max_length=64), required=False)
    model_replies_per_parent = StrictIntegerField(required=False, min_value=0, max_value=10)
    leaderboard_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=list(services.LEADERBOARD_SOURCES)), required=False
    )


class ArenaSettingsOutput(ArenaSettingsInput):
    project = serializers.SlugField()
    pools = serializers.DictField(help_text="battles per language and state")


def render_arena_settings(project: Project) -> dict[str, Any]:
    row = services.arena_settings_of(project)
    return {
        "project": project.slug,
        "arena_models": list(row.arena_models),
        "arena_pool_size": row.arena_pool_size,
        "arena_prompt_source": row.arena_prompt_source,
        "model_reply_models": list(row.model_reply_models),
        "model_replies_per_parent": row.model_replies_per_parent,
        "leaderboard_sources": list(row.leaderboard_sources or services.LEADERBOARD_SOURCES),
        "pools": selectors.battle_pool_counts(project_id=project.pk),
    }


class ArenaSettingsView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ArenaSettingsOutput, summary="A project's arena settings")
    def get(self, request: Request, slug: str) -> Response:
        return Response(render_arena_settings(_project(slug)))

    @extend_schema(request=ArenaSettingsInput, responses=ArenaSettingsOutput, summary="Change them")
    def patch(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        data = ArenaSettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.arena_settings_update(
            project=project, changes=dict(data.validated_data), actor_id=request.user.pk
        )
        return Response(render_arena_settings(project))


class ModelLeaderboardRow(serializers.Serializer):
    model = serializers.CharField()
    score = serializers.FloatField()
    ci_low = serializers.FloatField()
    ci_high = serializers.FloatField()
    rank = serializers.IntegerField()
    battles = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField()


def sources_param(request: Request, project: Project) -> tuple[str, ...]:
    raw = request.query_params.get("sources")
    if raw is None:
        configured = services.arena_settings_of(project).leaderboard_sources
        return tuple(configured or services.LEADERBOARD_SOURCES)
    sources = tuple(part for part in raw.split(",") if part)
    if not sources or not set(sources) <= set(services.LEADERBOARD_SOURCES):
        raise ValidationFailed("sources", "invalid", 'A comma list of "arena" and "rankings".')
    return sources


def lang_param(request: Request, project: Project) -> str | None:
    lang = request.query_params.get("lang") or None
    if lang is not None and lang not in project.languages:
        raise ValidationFailed("lang", "invalid_language", f"{project.slug} does not collect it.")
    return lang


class ModelLeaderboardView(APIView):
    permission_classes = [IsAuthenticated, IsNotBanned]

    @extend_schema(
        parameters=[
            OpenApiParameter("lang", OpenApiTypes.STR, required=False),
            OpenApiParameter(
                "sources", OpenApiTypes.STR, required=False, description="arena,rankings"
            ),
        ],
        responses=ModelLeaderboardRow(many=True),
        summary="Models ranked by Bradley–Terry with 95 % bootstrap intervals",
    )
    def get(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        board = leaderboard.model_leaderboard(
            project=project,
            lang=lang_param(request, project),
            sources=sources_param(request, project),
        )
        return Response(board.rows)


class ArenaBattlesExportView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        parameters=[OpenApiParameter("lang", OpenApiTypes.STR, required=False)],
        responses={(200, "application/jsonl"): OpenApiTypes.STR},
        summary="The voted battles as JSON lines (Chatbot Arena's fields)",
        operation_id="v1_projects_arena_battles_export",
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        project = _project(slug)
        lines = exporting.arena_battle_lines(project=project, lang=lang_param(request, project))
        response = StreamingHttpResponse(lines, content_type="application/jsonl")
        response["Content-Disposition"] = (
            f'attachment; filename="{project.slug}-arena-battles.jsonl"'
        )
        return response


class BattleDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=list(holds.DECISIONS),
        help_text="release: offer the battle to volunteers; discard: drop it for good",
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class BattleStateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField(help_text="generating, ready, voted, failed, held or discarded")
    flags = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='the quality flags of each reply: {"a": [...], "b": [...]}',
    )


def render_battle_state(battle: Battle) -> dict[str, Any]:
    return {"id": battle.pk, "state": battle.state, "flags": dict(battle.flags or {})}


class BattleDecisionView(APIView):
    permission_classes = [IsAuthenticated, IsModerator, IsNotBanned]

    @extend_schema(
        request=BattleDecisionInput,
        responses=BattleStateOutput,
        summary="Release or discard a battle held for a moderator",
    )
    def post(self, request: Request, battle_id: int) -> Response:
        data = BattleDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        battle = holds.battle_decide(
            battle_id=battle_id,
            decision=data.validated_data["decision"],
            moderator_id=actor_id(request),
            note=data.validated_data["note"],
        )
        return Response(render_battle_state(battle))
