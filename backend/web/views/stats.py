"""A project's progress and inter-annotator agreement, for everyone signed in (the
same figures as ``GET /api/v1/projects/{slug}/stats`` and ``…/agreement``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.accounts.page_permissions import volunteer_page
from backend.projects.models import Project
from backend.web.selectors import project_stats_page


@require_GET
@volunteer_page
def project_stats(request: HttpRequest, slug: str) -> HttpResponse:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(_("No such project."))
    context = {"project": project, **project_stats_page(project=project)}
    return render(request, "web/project_stats.html", context)
