"""The researchers' export and import pages (server-rendered in the site's layout; a
few lines of JS start jobs and follow them through the API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from backend.exports.formats.build import PiiPolicy
from backend.exports.formats.registry import record_formats
from backend.exports.labels import (
    FORMATS,
    JOB_STATES,
    PII_POLICIES,
    TREE_STATES,
    job_state_label,
    labelled,
)
from backend.exports.models import ExportFormat, ImportFormat
from backend.exports.permissions import PERMISSION_DETAIL, is_researcher_or_admin
from backend.exports.quality import eval_set_names_all
from backend.exports.selectors import export_jobs_of, import_jobs_of
from backend.exports.services.imports import IMPORT_STATES
from backend.projects.models import Project
from backend.trees.models import TreeState

PAGE_JOBS = 50


def _script_texts() -> dict[str, Any]:
    """The words the page's script writes (translated here, read from a JSON block)."""
    return {
        "states": {state: str(label) for state, label in JOB_STATES.items()},
        "starting": _("Starting…"),
        "rows": _("rows"),
        "download": _("Download"),
        "trees": _("trees imported"),
        "skipped": _("trees were already here (skipped)"),
        "bad": _("bad lines"),
        "line": _("line"),
    }


def _researcher(request: HttpRequest) -> None:
    if not is_researcher_or_admin(request.user):
        raise PermissionDenied(PERMISSION_DETAIL)


def _with_state_labels(jobs: Any) -> list[Any]:
    rows = list(jobs[:PAGE_JOBS])
    for job in rows:
        job.state_label = job_state_label(job.state)
        job.format_label = FORMATS.get(job.format, (job.format, ""))[0]
    return rows


@login_required
def exports_page(request: HttpRequest) -> HttpResponse:
    _researcher(request)
    projects = list(Project.objects.filter(is_active=True).order_by("slug"))
    context = {
        "tab": "exports",
        "projects": projects,
        "eval_sets": eval_set_names_all([project.pk for project in projects]),
        "formats": [
            *labelled(ExportFormat.values, FORMATS),
            *((spec.name, spec.label, spec.description) for spec in record_formats()),
        ],
        "states": labelled(TreeState.values, TREE_STATES),
        "pii_choices": labelled(PiiPolicy.CHOICES, PII_POLICIES),
        "jobs": _with_state_labels(export_jobs_of(user=request.user)),  # type: ignore[arg-type]
        "script_texts": _script_texts(),
    }
    return render(request, "exports/exports.html", context)


@login_required
def imports_page(request: HttpRequest) -> HttpResponse:
    _researcher(request)
    projects = list(Project.objects.filter(is_active=True).order_by("slug"))
    context = {
        "tab": "imports",
        "projects": projects,
        "import_formats": labelled(ImportFormat.values, FORMATS),
        "import_states": labelled(list(IMPORT_STATES), TREE_STATES),
        "imports": _with_state_labels(import_jobs_of(user=request.user)),  # type: ignore[arg-type]
        "script_texts": _script_texts(),
    }
    return render(request, "exports/imports.html", context)
