"""Reactions and reports on a message, from the task page and the tree viewer.

A gold item's messages are not stored messages, but its task page must look like any
other: a reaction on one is remembered in the person's session (and shown), a report is
thanked for; neither is stored, so neither reaches moderation or the data."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from backend.accounts.page_permissions import volunteer_page
from backend.common.errors import ArborError
from backend.common.page_errors import shown_errors, web_status
from backend.moderation.services import report_create
from backend.onboarding.stream import is_gold_message_id
from backend.trees.models import Emoji
from backend.trees.services import message_react
from backend.web.forms import ReportForm
from backend.web.selectors import reaction_bars


@require_POST
@volunteer_page
def message_reaction(request: HttpRequest, message_id: int) -> HttpResponse:
    emoji = request.POST.get("emoji", "")
    if is_gold_message_id(message_id) and emoji in Emoji.values:
        return _gold_reaction(request, message_id, emoji)
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
    if is_gold_message_id(message_id):
        return render(request, "web/_report_result.html", {"ok": True})
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


# Reactions on gold items' messages remembered per session: at most this many messages.
GOLD_REACTIONS_KEPT = 50


def _gold_reaction(request: HttpRequest, message_id: int, emoji: str) -> HttpResponse:
    remembered: dict[str, list[str]] = dict(request.session.get("gold_reactions", {}))
    mine = set(remembered.pop(str(message_id), [])) | {emoji}
    remembered[str(message_id)] = sorted(mine)
    request.session["gold_reactions"] = dict(list(remembered.items())[-GOLD_REACTIONS_KEPT:])
    bar = reaction_bars(message_ids=[message_id], user=request.user)[message_id]  # type: ignore[arg-type]
    bar.counts = {name: 1 for name in mine}
    bar.mine = mine
    return render(request, "web/_reactions.html", {"bar": bar})
