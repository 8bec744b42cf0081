"""The task flow: claim, show, submit, skip, and the next task at once.

Thin: every change goes through the services the REST API uses
(``assignment_claim_next``, ``assignment_submit``, ``assignment_skip``); the views only
turn form fields into the same payload and draw the result. htmx requests get the
task panel alone (swapped in place, the URL pushed); other requests get whole pages,
so the flow also works without JavaScript.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.accounts.page_permissions import volunteer_page
from backend.assignments.api import render_submit
from backend.assignments.kinds import KindSpec, get_kind
from backend.assignments.models import Assignment, AssignmentState
from backend.assignments.selectors import assignment_context, assignments_open_for
from backend.assignments.services import (
    ANY_KIND,
    assignment_claim_next,
    assignment_skip,
    assignment_submit,
)
from backend.assignments.undo import UNDO_SECONDS, UNDOABLE_FIELDS, assignment_undo
from backend.common.errors import ArborError
from backend.common.page_errors import ShownErrors, shown_errors, web_status
from backend.projects.models import LabellingMode, Project
from backend.projects.selectors import project_guidelines, project_kind_instruction
from backend.trees.models import Message
from backend.web.forms import ClaimForm, SkipForm, is_valid_kind
from backend.web.labels import (
    REPORT_REASONS,
    SKIP_REASONS,
    kind_instruction,
    kind_title,
    label_widget,
)
from backend.web.selectors import reaction_bars, task_progress

SESSION_CHOICE = "arbor_work"
# What a POST that found no work had to say, shown once by the page it redirects to.
SESSION_NO_WORK = "arbor_no_work"
# The person's last review or ranking and when it was sent: the next page offers to
# undo it while the undo window lasts.
SESSION_LAST_SUBMIT = "arbor_last_submit"


def undoable_submission(request: HttpRequest) -> int | None:
    """The assignment the page may offer to undo (its window still open), if any."""
    last = request.session.get(SESSION_LAST_SUBMIT) or {}
    try:
        sent = float(last.get("at", 0))
    except (TypeError, ValueError):
        return None
    if time.time() - sent > UNDO_SECONDS:
        return None
    assignment_id = last.get("assignment")
    return int(assignment_id) if isinstance(assignment_id, int) else None


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _my_assignment(request: HttpRequest, assignment_id: int) -> Assignment:
    assignment = (
        Assignment.objects.select_related("project", "work_item__target")
        .filter(pk=assignment_id, user=_user(request))
        .first()
    )
    if assignment is None:
        raise Http404(_("No such task of yours."))
    return assignment


def _remember_choice(request: HttpRequest, *, project: Project, lang: str, kind: str) -> None:
    request.session[SESSION_CHOICE] = {"project": project.slug, "lang": lang, "kind": kind}


def _next_kind_for(request: HttpRequest, assignment: Assignment) -> str:
    """What "next" means after this task: the kind the person chose on the dashboard
    (e.g. "any") when this task came from that choice, else more of the same kind."""
    choice = request.session.get(SESSION_CHOICE) or {}
    if choice.get("project") == assignment.project.slug and choice.get("lang") == assignment.lang:
        kind = choice.get("kind", assignment.kind)
        if kind in (ANY_KIND, assignment.kind):
            return str(kind)
    return assignment.kind


# --- Drawing the task -------------------------------------------------------------


def _task_context(
    request: HttpRequest,
    assignment: Assignment,
    *,
    values: dict[str, Any] | None = None,
    errors: ShownErrors | None = None,
    notice: str = "",
) -> dict[str, Any]:
    values = values or {}
    context = assignment_context(assignment)
    conversation = context["conversation"]
    candidates = context["candidates"]
    posted_ranking = values.get("ranking")
    if posted_ranking:
        # Show the order the person had made, not the original one.
        position = {pk: index for index, pk in enumerate(posted_ranking)}
        candidates = sorted(candidates, key=lambda message: position.get(message.pk, len(position)))
    # A kind's own candidates (the arena's model replies) are not messages: no reactions.
    shown_ids = [message.pk for message in conversation] + [
        message.pk for message in candidates if isinstance(message, Message)
    ]
    errors = errors or ShownErrors()
    labels = [label_widget(spec) for spec in context["labels"]]
    for widget in labels:
        widget["value"] = (values.get("labels") or {}).get(widget["name"], "")
        widget["error"] = errors.fields.get(f"labels.{widget['name']}", "")
    project = assignment.project
    kind = assignment.kind
    return {
        "assignment": assignment,
        "project": project,
        "kind": kind,
        "kind_title": kind_title(kind),
        "kind_instruction": kind_instruction(kind),
        # The project's own instruction for this kind (markdown), if it wrote one.
        "project_instruction": project_kind_instruction(project, kind, request.LANGUAGE_CODE),
        "guidelines": project_guidelines(project, request.LANGUAGE_CODE),
        "kind_template": _spec(assignment).template,
        "reply_role": "assistant" if kind == "assistant_reply" else "prompter",
        "conversation": conversation,
        "target": conversation[-1] if conversation else None,
        "candidates": candidates,
        "labels": labels,
        # Required questions first; the optional ones below, folded away in simple mode.
        "required_labels": [widget for widget in labels if widget.get("mandatory")],
        "optional_labels": [widget for widget in labels if not widget.get("mandatory")],
        "optional_labels_folded": project.labelling_mode == LabellingMode.SIMPLE
        and not any(widget["error"] for widget in labels if not widget.get("mandatory")),
        "reactions": reaction_bars(message_ids=shown_ids, user=_user(request)),
        "values": values,
        "errors": errors,
        "notice": notice,
        "next_kind": _next_kind_for(request, assignment),
        "idempotency_key": uuid.uuid4().hex,
        "is_open": assignment.state in (AssignmentState.ACTIVE, AssignmentState.EXPIRED),
        "skip_reasons": SKIP_REASONS,
        "report_reasons": REPORT_REASONS,
        "max_length": project.max_message_length,
        "min_length": project.min_message_length,
        "progress": task_progress(user=_user(request)),
        "undo_assignment_id": undoable_submission(request),
    }


def _render_task(
    request: HttpRequest, assignment: Assignment, *, status: int = 200, **kwargs: Any
) -> HttpResponse:
    context = _task_context(request, assignment, **kwargs)
    if is_htmx(request):
        response = render(request, "web/_task_panel.html", context, status=status)
        response["HX-Push-Url"] = reverse("web:task", args=[assignment.pk])
        return response
    return render(request, "web/task.html", context, status=status)


def _render_no_work(
    request: HttpRequest,
    *,
    project: Project,
    lang: str,
    kind: str,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    query = urlencode({"project": project.slug, "lang": lang, "kind": kind})
    if not is_htmx(request) and request.method == "POST":
        # Post/redirect/get: the address bar shows the no-work page, and reloading it
        # asks again instead of sending the form twice.
        request.session[SESSION_NO_WORK] = {"notice": notice, "error": error}
        return redirect(f"{reverse('web:task-next')}?{query}")
    context = {
        "project": project,
        "lang": lang,
        "kind": kind,
        "kind_title": kind_title(kind),
        "notice": notice,
        "error": error,
        "open_assignments": list(assignments_open_for(user=_user(request))[:10]),
        "undo_assignment_id": undoable_submission(request),
    }
    if is_htmx(request):
        response = render(request, "web/_no_work.html", context)
        response["HX-Push-Url"] = f"{reverse('web:task-next')}?{query}"
        return response
    return render(request, "web/no_work.html", context)


def _next_task(
    request: HttpRequest,
    *,
    project: Project,
    lang: str,
    kind: str,
    notice: str = "",
) -> HttpResponse:
    """Resume an open task that fits the choice, else claim a new one."""
    user = _user(request)
    held = assignments_open_for(user=user).filter(project=project, lang=lang)
    if kind != ANY_KIND:
        held = held.filter(kind=kind)
    assignment = held.first()
    if assignment is None:
        try:
            assignment = assignment_claim_next(user=user, project=project, lang=lang, kind=kind)
        except ArborError as error:
            if error.code == "kind_locked" and not is_htmx(request):
                # Not this person's yet: the page that says why, and how to unlock it.
                return redirect(
                    reverse("web:qualification", args=[project.slug, kind]) + f"?lang={lang}"
                )
            return _render_no_work(
                request, project=project, lang=lang, kind=kind, notice=notice,
                error=shown_errors(error).general,
            )  # fmt: skip
    if assignment is None:
        return _render_no_work(request, project=project, lang=lang, kind=kind, notice=notice)
    if is_htmx(request):
        return _render_task(request, assignment, notice=notice)
    if notice:
        messages.success(request, notice)
    return redirect("web:task", assignment_id=assignment.pk)


# --- Views ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@volunteer_page
def task_claim(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # an old address or a bookmark: the form is elsewhere
        query = request.GET.urlencode()
        return redirect(
            f"{reverse('web:task-next')}?{query}" if query else reverse("web:dashboard")
        )
    form = ClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a project, a language and a kind of task."))
        return redirect("web:dashboard")
    project = Project.objects.filter(slug=form.cleaned_data["project"], is_active=True).first()
    if project is None:
        raise Http404(_("No such project."))
    lang, kind = form.cleaned_data["lang"], form.cleaned_data["kind"]
    if lang not in project.languages:
        messages.error(request, _("This project does not collect that language."))
        return redirect("web:dashboard")
    _remember_choice(request, project=project, lang=lang, kind=kind)
    return _next_task(request, project=project, lang=lang, kind=kind)


@require_GET
@volunteer_page
def task_next(request: HttpRequest) -> HttpResponse:
    """Where "no work right now" lives; it offers to try again (a POST) or go back."""
    project = Project.objects.filter(slug=request.GET.get("project", ""), is_active=True).first()
    if project is None:
        return redirect("web:dashboard")
    lang = request.GET.get("lang", "")
    lang = lang if lang in project.languages else project.languages[0]
    kind = request.GET.get("kind", ANY_KIND)
    kind = kind if is_valid_kind(kind) else ANY_KIND
    said = request.session.pop(SESSION_NO_WORK, None) or {}
    return _render_no_work(
        request,
        project=project,
        lang=lang,
        kind=kind,
        notice=str(said.get("notice", "")),
        error=str(said.get("error", "")),
    )


@require_GET
@volunteer_page
def task_page(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _render_task(request, _my_assignment(request, assignment_id))


def _spec(assignment: Assignment) -> KindSpec:
    spec = get_kind(assignment.kind)
    if spec is None:  # a kind no longer registered: nothing can be done with it here
        raise Http404(_("This kind of task is not offered any more."))
    return spec


def _payload_from_form(assignment: Assignment, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The submit payload the API would get, and the raw values to draw back on error."""
    return _spec(assignment).from_form(data)


@require_POST
@volunteer_page
def task_submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _my_assignment(request, assignment_id)
    values: dict[str, Any] = {}
    key = (request.POST.get("idempotency_key") or "")[:200] or None
    try:
        payload, values = _payload_from_form(assignment, request.POST)
        result = assignment_submit(
            user=_user(request),
            assignment_id=assignment.pk,
            payload=payload,
            idempotency_key=key if key and key.isprintable() else None,
            render=render_submit,
        )
    except ArborError as error:
        if error.status_code == 404:
            raise Http404(error.detail) from error
        assignment.refresh_from_db()
        text = str(values.get("text", "")).strip()
        project = assignment.project
        errors = shown_errors(
            error,
            too_long=(project.max_message_length, len(text)),
            too_short=(project.min_message_length, len(text)),
        )
        return _render_task(
            request, assignment, values=values, errors=errors, status=web_status(error)
        )
    if _spec(assignment).payload_field in UNDOABLE_FIELDS:
        request.session[SESSION_LAST_SUBMIT] = {"assignment": assignment.pk, "at": time.time()}
    kind = request.POST.get("next_kind", assignment.kind)
    return _next_task(
        request,
        project=assignment.project,
        lang=assignment.lang,
        kind=kind if is_valid_kind(kind) else assignment.kind,
        # A kind may reveal something once the answer is in (the arena: the models).
        notice=str((result.outcome or {}).get("summary") or _("Thank you! Saved.")),
    )


@require_POST
@volunteer_page
def task_undo(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Take back the last review or ranking (``assignment_undo``) and show it again."""
    try:
        assignment_undo(user=_user(request), assignment_id=assignment_id)
    except ArborError as error:
        if error.status_code == 404:
            raise Http404(error.detail) from error
        messages.error(request, shown_errors(error).general or error.detail)
        return redirect("web:dashboard")
    request.session.pop(SESSION_LAST_SUBMIT, None)
    messages.success(request, _("Taken back: answer it again."))
    return redirect("web:task", assignment_id=assignment_id)


@require_POST
@volunteer_page
def task_skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _my_assignment(request, assignment_id)
    form = SkipForm(request.POST)
    reason = form.reason_text() if form.is_valid() else "other"
    try:
        assignment_skip(user=_user(request), assignment_id=assignment.pk, reason=reason)
    except ArborError as error:
        assignment.refresh_from_db()
        return _render_task(
            request, assignment, errors=shown_errors(error), status=web_status(error)
        )
    kind = request.POST.get("next_kind", assignment.kind)
    return _next_task(
        request,
        project=assignment.project,
        lang=assignment.lang,
        kind=kind if is_valid_kind(kind) else assignment.kind,
        notice=_("Skipped. You will not get this one again."),
    )


# The longest text a preview renders (longer than any project's message limit).
PREVIEW_MAX_CHARS = 20_000


@require_POST
@volunteer_page
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The text being written, rendered by the same sanitising markdown renderer as the
    published message (the page shows it on ``p``)."""
    text = request.POST.get("text", "")[:PREVIEW_MAX_CHARS]
    return render(request, "web/_preview.html", {"text": text})
