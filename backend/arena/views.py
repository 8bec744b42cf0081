"""The model leaderboard page: the table, a win-rate matrix and a battle-count matrix."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from backend.arena import leaderboard, services
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
