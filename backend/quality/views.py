"""The researchers' eval-set page of a project: upload a JSONL file of prompts, see
the sets and the re-check jobs, delete a set (server-rendered; the same services as
``/api/v1/projects/{slug}/eval-sets``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.page_permissions import role_page
from backend.common.errors import ArborError
from backend.projects.models import Project
from backend.quality.models import QualityJob
from backend.quality.selectors import eval_sets_of_project
from backend.quality.services import (
    EVAL_SET_MAX_BYTES,
    eval_prompts_parse,
    eval_set_create,
    eval_set_delete,
)

PAGE_JOBS = 20


def _refusal(error: ArborError) -> str:
    codes = {problem["code"] for problems in error.fields.values() for problem in problems}
    shown = {
        "empty": _("The file holds no prompts."),
        "invalid_line": _("A line of the file is not a JSON object."),
        "invalid_prompt": _('Every line needs a non-blank "prompt" string.'),
        "prompt_too_long": _("A prompt of the file is too long."),
        "too_large": _("The file is too large."),
        "too_many_prompts": _("The file holds too many prompts."),
        "not_utf8": _("The file is not UTF-8 text."),
        "duplicate_name": _("The project has an eval set of this name already."),
        "too_long": _("The name is too long."),
    }
    for code in sorted(codes):
        if code in shown:
            return f"{shown[code]} ({error.detail})"
    return error.detail


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(_("No such project."))
    return project


@role_page("researcher")
def eval_sets_page(request: HttpRequest, slug: str) -> HttpResponse:
    project = _project(slug)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a JSONL file to upload."))
        elif upload.size is not None and upload.size > EVAL_SET_MAX_BYTES:
            messages.error(request, _("The file is too large."))
        else:
            try:
                eval_set, _job = eval_set_create(
                    project=project,
                    name=request.POST.get("name", "") or (upload.name or "").rsplit(".", 1)[0],
                    prompts=eval_prompts_parse(upload.read()),
                    actor_id=request.user.pk,
                )
            except ArborError as error:
                messages.error(request, _refusal(error))
            else:
                messages.success(
                    request,
                    _("Added %(name)s; the project's messages are being checked against it.")
                    % {"name": eval_set.name},
                )
        return HttpResponseRedirect(reverse("quality:eval-sets", args=[project.slug]))
    context = {
        "project": project,
        "eval_sets": eval_sets_of_project(project_id=project.pk),
        "jobs": QualityJob.objects.filter(project=project).select_related("eval_set")[:PAGE_JOBS],
    }
    return render(request, "quality/eval_sets.html", context)


@require_POST
@role_page("researcher")
def eval_set_delete_page(request: HttpRequest, slug: str, eval_set_id: int) -> HttpResponse:
    project = _project(slug)
    try:
        eval_set_delete(project=project, eval_set_id=eval_set_id, actor_id=request.user.pk)
    except ArborError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, _("The eval set was deleted."))
    return HttpResponseRedirect(reverse("quality:eval-sets", args=[project.slug]))
