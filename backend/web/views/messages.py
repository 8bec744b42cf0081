"""Reactions and reports on a message, from the task page and the tree viewer."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from backend.accounts.page_permissions import volunteer_page
from backend.common.errors import ArborError
from backend.common.page_errors import shown_errors, web_status
from backend.moderation.services import report_create
from backend.trees.services import message_react
from backend.web.forms import ReportForm
from backend.web.selectors import reaction_bars


@require_POST
@volunteer_page
def message_reaction(request: HttpRequest, message_id: int) -> HttpResponse:
    emoji = request.POST.get("emoji", "")
    try:
        message_react(message_id=message_id, user_id=request.user.pk, emoji=emoji)  # type: ignore[arg-type]
    except ArborError as error:
        if error.status_code == 404:
            raise Http404(error.detail) from error
        return HttpResponse(shown_errors(error).general or error.detail, status=web_status(error))
    bar = reaction_bars(message_ids=[message_id], user=request.user)[message_id]  # type: ignore[arg-type]
    return render(request, "web/_reactions.html", {"bar": bar})


@require_POST
@volunteer_page
def message_report(request: HttpRequest, message_id: int) -> HttpResponse:
    form = ReportForm(request.POST)
    if not form.is_valid():
        return render(
            request, "web/_report_result.html", {"ok": False, "invalid": True}, status=422
        )
    try:
        report_create(
            message_id=message_id,
            reporter_id=request.user.pk,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            text=form.cleaned_data["text"],
        )
    except ArborError as error:
        if error.status_code == 404:
            raise Http404(error.detail) from error
        context = {"ok": False, "error": shown_errors(error).general}
        return render(request, "web/_report_result.html", context, status=web_status(error))
    return render(request, "web/_report_result.html", {"ok": True})
