from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.projects.models import Project
from backend.trees.models import ACTIVE_TREE_STATES, TreeState


def home(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.filter(is_active=True).annotate(
        ready=Count("trees", filter=Q(trees__state=TreeState.READY_FOR_EXPORT)),
        active=Count("trees", filter=Q(trees__state__in=ACTIVE_TREE_STATES)),
    )
    rows = [
        {"project": project, "ready": project.ready, "active": project.active}
        for project in projects
    ]
    return render(request, "home.html", {"projects": rows})
