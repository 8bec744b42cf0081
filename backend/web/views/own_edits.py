"""The author's "Edit" page for their own message: edit it while that is allowed,
otherwise suggest the edit to the moderators (post/redirect/get either way)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.page_permissions import volunteer_page
from backend.common.errors import ArborError
from backend.common.page_errors import shown_errors, web_status
from backend.moderation.models import EditSuggestion, EditSuggestionState
from backend.moderation.suggestions import (
    edit_suggestion_create,
    message_edit_own,
    message_is_editable_by_author,
    own_edit_deadline,
)
from backend.trees.models import Message


def _own_edit_messages() -> dict[str, str]:
    return {
        "unchanged": _("The text is the same as now."),
        "suggestion_pending": _(
            "You have a suggestion for this message waiting for a moderator already."
        ),
        "message_deleted": _("This message is deleted."),
    }


def _page(
    request: HttpRequest, message: Message, *, status: int = 200, **extra: Any
) -> HttpResponse:
    editable = message_is_editable_by_author(message)
    pending = EditSuggestion.objects.filter(
        message=message, author_id=request.user.pk, state=EditSuggestionState.PENDING
    ).first()
    context = {
        "message": message,
        "is_editable": editable,
        "deadline": own_edit_deadline(message),
        "is_window_open": timezone.now() < own_edit_deadline(message),
        "pending": pending,
        "text": message.text,
        "reason": "",
        "errors": {},
        "max_length": message.tree.project.max_message_length,
        **extra,
    }
    return render(request, "web/message_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@volunteer_page
def message_edit(request: HttpRequest, message_id: int) -> HttpResponse:
    message = Message.objects.select_related("tree__project").filter(pk=message_id).first()
    if message is None:
        raise Http404(_("This message does not exist any more."))
    if message.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author of a message may edit it."))
    if request.method == "GET":
        return _page(request, message)
    author_id = int(request.user.pk)  # type: ignore[arg-type]
    text = request.POST.get("text", "")
    reason = request.POST.get("reason", "")[:2000]
    wants_suggestion = request.POST.get("action") == "suggest"
    try:
        if wants_suggestion:
            edit_suggestion_create(
                message_id=message.pk, user_id=author_id, text=text, reason=reason
            )
            messages.success(request, _("Your suggestion is sent to the moderators."))
            return redirect("web:message-edit", message_id=message.pk)
        changed = message_edit_own(message_id=message.pk, user_id=author_id, text=text)[1]
    except ArborError as error:
        if error.code == "edit_window_closed":
            messages.error(
                request,
                _(
                    "This message has been reviewed and the time to edit it has passed: "
                    "suggest your edit to the moderators below."
                ),
            )
        message.refresh_from_db()
        shown = shown_errors(error, too_long=(message.tree.project.max_message_length, len(text)))
        own = _own_edit_messages()
        field_codes = {name: problems[0]["code"] for name, problems in error.fields.items()}
        errors = {
            name: own.get(field_codes.get(name, ""), shown.fields.get(name, ""))
            for name in ("text", "reason")
        }
        if not any(errors.values()) and error.code != "edit_window_closed":
            errors["text"] = own.get(error.code, shown.general)
        return _page(
            request, message, status=web_status(error), text=text, reason=reason, errors=errors
        )
    if changed:
        messages.success(request, _("Your edit is saved; the earlier text is kept as a revision."))
    return redirect(reverse("web:tree", args=[message.tree_id]) + f"#m{message.pk}")
