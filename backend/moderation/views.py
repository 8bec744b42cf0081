"""The moderators' web pages: the queue, one item at a time, messages with their
revisions, users, the trollboard and the audit log.

Thin views over the same services the REST API calls. Every change is a POST that
answers with a redirect (so a reload never repeats it); a refused change comes back as
the page with the reason next to the field (text edits) or at the top (anything else),
and what was typed stays in the form.

Working the queue: "next" claims the item the moderator holds or the oldest open one
matching their filters; resolving an item claims the next one at once, so a moderator
can go through a queue with the keyboard alone (keys in ``frontend/src/moderation.ts``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.page_permissions import role_page
from backend.assignments.halting import tree_halt, tree_resume
from backend.common.errors import ArborError
from backend.common.page_errors import shown_errors, web_status
from backend.common.query import BIGINT_MAX, page_filter
from backend.common.redirects import redirect_back
from backend.consensus.services.trees import tree_retry_scoring
from backend.moderation import curation, selectors, services
from backend.moderation.models import QueueItemState, QueueReason
from backend.moderation.panels import item_panels_for
from backend.projects.models import Project
from backend.quality.selectors import quality_panel
from backend.trees.models import ACTIVE_TREE_STATES, Message, Tree

moderator_page = role_page("moderator")

QUEUE_PAGE_SIZE = 200
AUDIT_PAGE_SIZE = 100
FILTER_NAMES = ("project", "lang", "reason")
TREE_ACTIONS = {
    "halt": tree_halt,
    "resume": tree_resume,
    "abort": curation.tree_abort,
    "reopen": curation.tree_reopen,
    "retry-scoring": tree_retry_scoring,
}
SKIPPED_KEY = "moderation_skipped"


def _actor(request: HttpRequest) -> int:
    return int(request.user.pk)  # type: ignore[arg-type]


def _filters(data: Any) -> dict[str, str]:
    """The queue filters a request carries (unknown reasons are dropped)."""
    found = {name: page_filter(data.get(name)) for name in FILTER_NAMES}
    if found["reason"] not in QueueReason.values:
        found["reason"] = ""
    return {name: value for name, value in found.items() if value}


def _queue_url(filters: dict[str, str]) -> str:
    url = reverse("moderation:queue")
    return f"{url}?{urlencode(filters)}" if filters else url


def _item_url(item_id: int, filters: dict[str, str]) -> str:
    url = reverse("moderation:item", args=[item_id])
    return f"{url}?{urlencode(filters)}" if filters else url


def _refusal(error: ArborError) -> str:
    shown = shown_errors(error)
    return shown.general or next(iter(shown.fields.values()), error.detail)


def _claim_next(request: HttpRequest, filters: dict[str, str]) -> HttpResponseRedirect:
    skipped = set(request.session.get(SKIPPED_KEY, []))
    item = services.queue_item_claim_next(
        moderator_id=_actor(request),
        project_slug=filters.get("project"),
        lang=filters.get("lang"),
        reason=filters.get("reason"),
        exclude_ids=skipped,
    )
    if item is None:
        if skipped:
            request.session[SKIPPED_KEY] = []
            messages.info(
                request, _("Nothing else is waiting; the items you skipped are back in the list.")
            )
        else:
            messages.success(request, _("The queue is clear."))
        return HttpResponseRedirect(_queue_url(filters))
    return HttpResponseRedirect(_item_url(item.pk, filters))


# --- The queue ------------------------------------------------------------------------


@require_GET
@moderator_page
def queue(request: HttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    request.session[SKIPPED_KEY] = []
    items = list(
        selectors.queue_items(
            project_slug=filters.get("project"),
            lang=filters.get("lang"),
            reason=filters.get("reason"),
        )[:QUEUE_PAGE_SIZE]
    )
    counts = selectors.queue_counts(project_slug=filters.get("project"), lang=filters.get("lang"))
    context = {
        "items": items,
        "filters": filters,
        "filter_query": urlencode(filters),
        "reasons": [(value, label, counts[value]) for value, label in QueueReason.choices],
        "total": sum(counts.values()),
        "projects": Project.objects.order_by("slug"),
        "languages": selectors.queue_languages(),
    }
    template = (
        "moderation/_queue_list.html"
        if request.headers.get("HX-Request") and request.GET.get("partial") == "list"
        else "moderation/queue.html"
    )
    return render(request, template, context)


@require_POST
@moderator_page
def queue_next(request: HttpRequest) -> HttpResponse:
    return _claim_next(request, _filters(request.POST))


@require_POST
@moderator_page
def item_claim(request: HttpRequest, item_id: int) -> HttpResponse:
    filters = _filters(request.POST)
    try:
        services.queue_item_claim(item_id=item_id, moderator_id=_actor(request))
    except ArborError as error:
        messages.error(request, _refusal(error))
        return HttpResponseRedirect(_queue_url(filters))
    return HttpResponseRedirect(_item_url(item_id, filters))


@require_GET
@moderator_page
def item(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, item_id)


def _item_page(
    request: HttpRequest,
    item_id: int,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    error: str = "",
) -> HttpResponse:
    found = selectors.queue_item_page(item_id=item_id)
    if found is None:
        raise Http404(_("No such queue item."))
    queue_item = found["item"]
    filters = _filters(request.POST if request.method == "POST" else request.GET)
    claimed_now = (
        queue_item.state == QueueItemState.CLAIMED
        and queue_item.claim_expires_at is not None
        and queue_item.claim_expires_at > timezone.now()
    )
    mine = claimed_now and queue_item.claimed_by_id == _actor(request)
    context = {
        **found,
        "held_by_other": claimed_now and not mine,
        "tree_active": queue_item.tree.state in ACTIVE_TREE_STATES,
        "filters": filters,
        "filter_query": urlencode(filters),
        "mine": mine,
        "actions": _actions_for(found),
        "form": form or {"action": "", "note": "", "hide_messages": False},
        "error": error,
        "here": request.get_full_path(),
        "quality": quality_panel(message_id=found["message"].pk, text=found["message"].text)
        if found.get("message")
        else None,
        "panels": item_panels_for(queue_item),
    }
    return render(request, "moderation/item.html", context, status=status)


def _action_labels() -> dict[str, str]:
    return {
        "dismiss": _("Dismiss: nothing to do"),
        "delete_message": _("Delete the message and its replies"),
        "halt_tree": _("Halt the tree"),
        "abort_tree": _("Abort the tree"),
        "ban_author": _("Ban the author"),
    }


def _actions_for(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The resolutions offered for an item, with their keys; those that cannot apply
    (no message to delete, no author to ban) are shown disabled with the reason."""
    message = found["message"]
    author = message.author if message is not None else None
    labels = _action_labels()
    unavailable = {
        "delete_message": (
            _("This item is about a tree, not a message.")
            if message is None
            else _("The message is deleted already.")
            if message.is_deleted
            else ""
        ),
        "ban_author": (
            _("This item has no author to ban.")
            if author is None
            else _("The author is banned already.")
            if author.is_banned
            else _("Admins cannot be banned.")
            if author.is_staff
            else ""
        ),
    }
    return [
        {
            "value": value,
            "key": str(index),
            "label": labels[value],
            "why_not": unavailable.get(value, ""),
        }
        for index, value in enumerate(services.RESOLUTION_ACTIONS, start=1)
    ]


@require_POST
@moderator_page
def item_resolve(request: HttpRequest, item_id: int) -> HttpResponse:
    filters = _filters(request.POST)
    form = {
        "action": request.POST.get("action", ""),
        "note": request.POST.get("note", ""),
        "hide_messages": request.POST.get("hide_messages") == "on",
    }
    if form["action"] not in services.RESOLUTION_ACTIONS:
        return _item_page(
            request, item_id, status=422, form=form, error=_("Choose what to do with this item.")
        )
    try:
        resolved = services.queue_item_resolve(
            item_id=item_id,
            moderator_id=_actor(request),
            action=str(form["action"]),
            note=str(form["note"])[:5000],
            hide_messages=bool(form["hide_messages"]),
        )
    except ArborError as error:
        if error.code == "queue_item_not_found":
            raise Http404(_("No such queue item.")) from error
        return _item_page(
            request, item_id, status=web_status(error), form=form, error=_refusal(error)
        )
    messages.success(
        request,
        _("Item #%(item)s resolved: %(action)s.")
        % {"item": resolved.pk, "action": _action_labels()[resolved.resolution]},
    )
    return _claim_next(request, filters)


@require_POST
@moderator_page
def item_release(request: HttpRequest, item_id: int) -> HttpResponse:
    filters = _filters(request.POST)
    try:
        services.queue_item_release(item_id=item_id, moderator_id=_actor(request))
    except ArborError as error:
        messages.error(request, _refusal(error))
        return HttpResponseRedirect(_queue_url(filters))
    skipped = list(request.session.get(SKIPPED_KEY, []))
    request.session[SKIPPED_KEY] = [*skipped, item_id]
    return _claim_next(request, filters)


# --- Messages, trees and users ---------------------------------------------------------


@require_GET
@moderator_page
def message_page(request: HttpRequest, message_id: int) -> HttpResponse:
    return _message_page(request, message_id)


def _message_page(
    request: HttpRequest,
    message_id: int,
    *,
    status: int = 200,
    text: str | None = None,
    reason: str = "",
    errors: dict[str, str] | None = None,
) -> HttpResponse:
    message = (
        Message.objects.select_related("tree", "tree__project", "author", "parent")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise Http404(_("No such message."))
    revisions = curation.message_revisions(message_id=message_id)
    context = {
        "message": message,
        "revisions": list(reversed(revisions)),
        "tree": message.tree,
        "tree_active": message.tree.state in ACTIVE_TREE_STATES,
        "text": message.text if text is None else text,
        "reason": reason,
        "errors": errors or {},
        "here": request.get_full_path(),
    }
    return render(request, "moderation/message.html", context, status=status)


@require_POST
@moderator_page
def message_action(request: HttpRequest, message_id: int, action: str) -> HttpResponse:
    fallback = reverse("moderation:message", args=[message_id])
    reason = request.POST.get("reason", "")[:2000]
    try:
        if action == "edit":
            text = request.POST.get("text", "")
            try:
                curation.message_edit(
                    message_id=message_id, actor_id=_actor(request), text=text, reason=reason
                )
            except ArborError as error:
                if error.code == "message_not_found":
                    raise
                shown = shown_errors(error)
                return _message_page(
                    request,
                    message_id,
                    status=web_status(error),
                    text=text,
                    reason=reason,
                    errors={"text": shown.fields.get("text", shown.general)},
                )
            messages.success(
                request, _("The new text is saved; the old one is kept as a revision.")
            )
        elif action == "revert":
            revision = request.POST.get("revision", "")
            curation.message_revert(
                message_id=message_id,
                revision_id=int(revision) if revision.isdigit() else 0,
                actor_id=_actor(request),
                reason=reason,
            )
            messages.success(request, _("The message is back to the chosen revision."))
        elif action == "delete":
            curation.message_delete(message_id=message_id, actor_id=_actor(request), reason=reason)
            messages.success(request, _("The message and its replies are deleted."))
        elif action == "undelete":
            curation.message_undelete(
                message_id=message_id, actor_id=_actor(request), reason=reason
            )
            messages.success(request, _("The message and its replies are back."))
        else:
            raise Http404(_("No such action."))
    except ArborError as error:
        if error.code == "message_not_found":
            raise Http404(_("No such message.")) from error
        messages.error(request, _refusal(error))
    return redirect_back(request, fallback)


@require_POST
@moderator_page
def tree_action(request: HttpRequest, tree_id: int, action: str) -> HttpResponse:
    if action not in TREE_ACTIONS:
        raise Http404(_("No such action."))
    if not Tree.objects.filter(pk=tree_id).exists():
        raise Http404(_("No such tree."))
    try:
        tree = TREE_ACTIONS[action](
            tree_id=tree_id, actor_id=_actor(request), reason=request.POST.get("reason", "")[:2000]
        )
    except ArborError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(
            request, _("Tree #%(tree)s is now %(state)s.") % {"tree": tree.pk, "state": tree.state}
        )
    return redirect_back(request, reverse("web:tree", args=[tree_id]))


@require_GET
@moderator_page
def user_page(request: HttpRequest, user_id: int) -> HttpResponse:
    found = selectors.user_page(user_id=user_id)
    if found is None:
        raise Http404(_("No such user."))
    return render(request, "moderation/user.html", {**found, "here": request.get_full_path()})


@require_POST
@moderator_page
def user_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    fallback = reverse("moderation:user", args=[user_id])
    reason = request.POST.get("reason", "")[:2000]
    try:
        if action == "ban":
            services.user_ban(
                user_id=user_id,
                actor_id=_actor(request),
                reason=reason,
                hide_messages=request.POST.get("hide_messages") == "on",
            )
            messages.success(request, _("The user is banned."))
        elif action == "unban":
            services.user_unban(user_id=user_id, actor_id=_actor(request), reason=reason)
            messages.success(request, _("The ban is lifted; what it did is undone."))
        elif action == "note":
            text = request.POST.get("text", "").strip()
            if not text:
                messages.error(request, _("Write the note first."))
                return redirect_back(request, fallback)
            services.user_note_add(user_id=user_id, author_id=_actor(request), text=text[:5000])
            messages.success(request, _("Note added."))
        else:
            raise Http404(_("No such action."))
    except ArborError as error:
        if error.code == "user_not_found":
            raise Http404(_("No such user.")) from error
        messages.error(request, _refusal(error))
    return redirect_back(request, fallback)


# --- Trollboard and audit log ----------------------------------------------------------


@require_GET
@moderator_page
def trollboard(request: HttpRequest) -> HttpResponse:
    window = request.GET.get("window", "week")
    window = window if window in selectors.WINDOWS else "week"
    project = page_filter(request.GET.get("project")) or None
    rows = selectors.trollboard(window=window, project_slug=project)
    context = {
        "rows": rows,
        "window": window,
        "windows": list(selectors.WINDOWS),
        "project": project,
        "projects": Project.objects.order_by("slug"),
    }
    return render(request, "moderation/trollboard.html", context)


def _day_start(typed: str, *, next_day: bool = False) -> datetime | None:
    """The start of a typed day (``YYYY-MM-DD``) in the site's time zone; ``until``
    takes the next day's start so the day itself is included. Not a date: no filter."""
    try:
        day = parse_date(typed) if typed else None
    except ValueError:
        day = None
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=int(next_day)), time.min))


def _audit_filters(request: HttpRequest) -> tuple[dict[str, str], dict[str, Any]]:
    """The audit page's filters as typed, and as the selector takes them."""
    typed = {
        name: page_filter(request.GET.get(name))
        for name in ("actor", "action", "target_type", "target_id", "project", "since", "until")
    }
    query = {
        "actor": typed["actor"] or None,
        "action": typed["action"] or None,
        "target_type": typed["target_type"] or None,
        "target_id": typed["target_id"] or None,
        "project_slug": typed["project"] or None,
        "since": _day_start(typed["since"]),
        "until": _day_start(typed["until"], next_day=True),
    }
    return {name: value for name, value in typed.items() if value}, query


@require_GET
@moderator_page
def audit_log(request: HttpRequest) -> HttpResponse:
    typed, query = _audit_filters(request)
    events = selectors.audit_events(**query)
    before = request.GET.get("before", "")
    if before.isdigit() and int(before) <= BIGINT_MAX:
        events = events.filter(pk__lt=int(before))
    page = list(events[: AUDIT_PAGE_SIZE + 1])
    context = {
        "events": page[:AUDIT_PAGE_SIZE],
        "older": page[AUDIT_PAGE_SIZE - 1].pk if len(page) > AUDIT_PAGE_SIZE else None,
        "filters": typed,
        "filter_query": urlencode(typed),
        "projects": Project.objects.order_by("slug"),
    }
    return render(request, "moderation/audit.html", context)


@require_GET
@moderator_page
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    _typed, query = _audit_filters(request)
    response = StreamingHttpResponse(
        selectors.audit_csv_rows(selectors.audit_events(**query)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="arbor-audit-log.csv"'
    return response
