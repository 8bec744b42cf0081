"""Moderators' pages for suggested edits: the pending list, one suggestion with a word
diff against the current text, and accept/decline (post/redirect/get)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.page_permissions import role_page
from backend.common.errors import ArborError
from backend.common.page_errors import shown_errors
from backend.moderation.models import EditSuggestion, EditSuggestionState
from backend.moderation.suggestions import edit_suggestion_accept, edit_suggestion_decline
from backend.moderation.textdiff import word_diff

moderator_page = role_page("moderator")
LIST_SIZE = 200


@require_GET
@moderator_page
def suggestion_list(request: HttpRequest) -> HttpResponse:
    pending = (
        EditSuggestion.objects.filter(state=EditSuggestionState.PENDING)
        .select_related("message", "author", "message__tree__project")
        .order_by("created_at", "pk")[:LIST_SIZE]
    )
    return render(request, "moderation/suggestions.html", {"suggestions": list(pending)})


@require_GET
@moderator_page
def suggestion_page(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = (
        EditSuggestion.objects.select_related("message", "author", "message__tree__project")
        .filter(pk=suggestion_id)
        .first()
    )
    if suggestion is None:
        raise Http404(_("No such suggestion."))
    context = {
        "suggestion": suggestion,
        "diff": word_diff(suggestion.message.text, suggestion.text),
        "is_pending": suggestion.state == EditSuggestionState.PENDING,
    }
    return render(request, "moderation/suggestion.html", context)


@require_POST
@moderator_page
def suggestion_decide(request: HttpRequest, suggestion_id: int, decision: str) -> HttpResponse:
    suggestion = EditSuggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None or decision not in ("accept", "decline"):
        raise Http404(_("No such suggestion."))
    decide = edit_suggestion_accept if decision == "accept" else edit_suggestion_decline
    try:
        decide(
            message_id=suggestion.message_id,
            suggestion_id=suggestion.pk,
            moderator_id=int(request.user.pk),  # type: ignore[arg-type]
            note=request.POST.get("note", "")[:2000],
        )
    except ArborError as error:
        messages.error(request, shown_errors(error).general or error.detail)
        return HttpResponseRedirect(reverse("moderation:suggestion", args=[suggestion.pk]))
    if decision == "accept":
        messages.success(request, _("The suggested text is applied, credited to its author."))
    else:
        messages.success(request, _("The suggestion is declined; the text stays as it was."))
    return HttpResponseRedirect(reverse("moderation:suggestions"))
