"""The researchers' exports page (server-rendered; a few lines of JS poll the API)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.exports.formats.build import PiiPolicy
from backend.exports.models import ExportFormat, ImportFormat
from backend.exports.permissions import PERMISSION_DETAIL, is_researcher_or_admin
from backend.exports.quality import eval_set_names_all
from backend.exports.selectors import export_jobs_of, import_jobs_of
from backend.exports.services.imports import IMPORT_STATES
from backend.projects.models import Project
from backend.trees.models import TreeState

PAGE_JOBS = 50


@login_required
def exports_page(request: HttpRequest) -> HttpResponse:
    if not is_researcher_or_admin(request.user):
        raise PermissionDenied(PERMISSION_DETAIL)
    projects = list(Project.objects.filter(is_active=True).order_by("slug"))
    context = {
        "projects": projects,
        "eval_sets": eval_set_names_all([project.pk for project in projects]),
        "formats": ExportFormat.choices,
        "states": TreeState.values,
        "pii_choices": PiiPolicy.CHOICES,
        "import_formats": ImportFormat.choices,
        "import_states": IMPORT_STATES,
        "jobs": export_jobs_of(user=request.user)[:PAGE_JOBS],  # type: ignore[arg-type]
        "imports": import_jobs_of(user=request.user)[:PAGE_JOBS],  # type: ignore[arg-type]
    }
    return render(request, "exports/index.html", context)
