"""The arena's pages: the model leaderboard (the table, a win-rate matrix and a
battle-count matrix), the models page and a project's arena settings (researchers and
admins), and the decision on a held battle that the moderation item page's buttons post
to (moderators and admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.page_permissions import role_page
from backend.arena import holds, leaderboard, selectors, services
from backend.arena.models import BattleState, PromptSource
from backend.common.errors import ArborError, ValidationFailed
from backend.common.redirects import redirect_back
from backend.projects.models import Project


@login_required
def model_leaderboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404("No such project.")
    lang = request.GET.get("lang") or None
    if lang is not None and lang not in project.languages:
        lang = None
    configured = services.arena_settings_of(project).leaderboard_sources
    source = request.GET.get("sources", "")
    sources = tuple(
        part for part in source.split(",") if part in services.LEADERBOARD_SOURCES
    ) or tuple(configured or services.LEADERBOARD_SOURCES)
    board = leaderboard.model_leaderboard(project=project, lang=lang, sources=sources)
    matrix = [
        {
            "model": name,
            "cells": [
                {
                    "rate": board.win_rates[row][column],
                    "percent": None
                    if board.win_rates[row][column] is None
                    else round(100 * (board.win_rates[row][column] or 0)),
                    "count": board.battle_counts[row][column],
                }
                for column in range(len(board.models))
            ],
        }
        for row, name in enumerate(board.models)
    ]
    return render(
        request,
        "arena/leaderboard.html",
        {
            "project": project,
            "lang": lang or "",
            "sources": ",".join(sources),
            "rows": board.rows,
            "models": board.models,
            "matrix": matrix,
        },
    )


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def models_page(request: HttpRequest) -> HttpResponse:
    """Every registered model with its health, breaker and last error; a form to add
    one (an OpenAI-compatible endpoint), and switches. Post/redirect/get; the changes go
    through the same services as the API, so each is audited."""
    here = reverse("arena:models")
    if request.method == "POST":
        action = request.POST.get("action", "add")
        try:
            if action == "add":
                params: dict[str, Any] = {}
                for field, cast in (("temperature", float), ("max_tokens", int)):
                    raw = request.POST.get(field, "").strip()
                    if raw:
                        try:
                            params[field] = cast(raw)
                        except ValueError:
                            raise ValidationFailed(
                                f"params.{field}", "invalid", _("Not a number.")
                            ) from None
                system_prompt = request.POST.get("system_prompt", "")
                if system_prompt:
                    params["system_prompt"] = system_prompt
                endpoint = services.model_endpoint_create(
                    name=request.POST.get("name", "").strip(),
                    base_url=request.POST.get("base_url", "").strip(),
                    model=request.POST.get("model", "").strip(),
                    api_key=request.POST.get("api_key", ""),
                    api_key_env=request.POST.get("api_key_env", "").strip(),
                    params=params,
                    actor_id=request.user.pk,
                )
                messages.success(request, _("Model %(name)s added.") % {"name": endpoint.name})
            elif action in ("enable", "disable", "reset"):
                services.model_endpoint_update(
                    name=request.POST.get("name", ""),
                    actor_id=request.user.pk,
                    enabled={"enable": True, "disable": False}.get(action),
                    reset_breaker=action == "reset",
                )
                messages.success(request, _("Saved."))
        except ArborError as error:
            messages.error(request, " ".join(error.details()))
        return HttpResponseRedirect(here)
    models = [
        {"endpoint": endpoint, "health": selectors.model_health(endpoint)}
        for endpoint in selectors.models_list()
    ]
    return render(request, "arena/models.html", {"models": models})


def _whole_number(request: HttpRequest, field: str) -> int:
    raw = request.POST.get(field, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(field, "invalid", _("A whole number.")) from None


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def project_arena_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's arena and model-reply settings as a form (the same service as
    ``PATCH /api/v1/projects/{slug}/arena``, so a change is checked as a whole and
    audited). Post/redirect/get."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404("No such project.")
    here = reverse("arena:project-arena", args=[project.slug])
    if request.method == "POST":
        try:
            changes = {
                "arena_models": request.POST.getlist("arena_models"),
                "arena_pool_size": _whole_number(request, "arena_pool_size"),
                "arena_prompt_source": request.POST.get("arena_prompt_source", ""),
                "model_reply_models": request.POST.getlist("model_reply_models"),
                "model_replies_per_parent": _whole_number(request, "model_replies_per_parent"),
                "leaderboard_sources": request.POST.getlist("leaderboard_sources"),
            }
            services.arena_settings_update(
                project=project, changes=changes, actor_id=request.user.pk
            )
            messages.success(request, _("Saved."))
        except ArborError as error:
            messages.error(request, " ".join(error.details()))
        return HttpResponseRedirect(here)
    arena = services.arena_settings_of(project)
    return render(
        request,
        "arena/project_arena.html",
        {
            "project": project,
            "arena": arena,
            "models": selectors.models_list(),
            "prompt_sources": PromptSource.choices,
            "leaderboard_sources": list(arena.leaderboard_sources or services.LEADERBOARD_SOURCES),
            "pools": [
                (lang, [(BattleState(state).label, count) for state, count in states.items()])
                for lang, states in selectors.battle_pool_counts(project_id=project.pk).items()
            ],
        },
    )


@require_POST
@role_page("moderator")
def battle_decide_page(request: HttpRequest, battle_id: int) -> HttpResponse:
    """Release or discard a held battle (the buttons of the moderation item page), then
    back to the page the buttons were on."""
    back = redirect_back(request, reverse("moderation:queue"))
    decision = request.POST.get("decision", "")
    try:
        battle = holds.battle_decide(
            battle_id=battle_id,
            decision=decision,
            moderator_id=request.user.pk,
            note=request.POST.get("note", "")[:2000],
        )
    except ArborError as error:
        if error.code == "battle_not_found":
            raise Http404(_("No such battle.")) from error
        messages.error(request, " ".join(error.details()))
        return back
    if decision == "release":
        messages.success(
            request, _("Battle #%(battle)s is released to volunteers.") % {"battle": battle.pk}
        )
    else:
        messages.success(request, _("Battle #%(battle)s is discarded.") % {"battle": battle.pk})
    return back
