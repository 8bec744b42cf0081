from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.accounts.page_permissions import volunteer_page
from backend.accounts.services import roles_of
from backend.common.query import page_filter
from backend.trees.selectors import can_see_authors, tree_with_messages
from backend.web.selectors import (
    active_projects,
    finished_trees,
    reaction_bars,
    tree_consensus,
    tree_outline,
)


@require_GET
@volunteer_page
def tree_list(request: HttpRequest) -> HttpResponse:
    projects = list(active_projects())
    project = next((p for p in projects if p.slug == request.GET.get("project")), None)
    lang = page_filter(request.GET.get("lang")) or None
    context = {
        "projects": projects,
        "project": project,
        "lang": lang,
        "trees": finished_trees(project=project, lang=lang),
    }
    return render(request, "web/tree_list.html", context)


@require_GET
@volunteer_page
def tree_detail(request: HttpRequest, tree_id: int) -> HttpResponse:
    found = tree_with_messages(tree_id=tree_id)
    if found is None:
        raise Http404(_("No such tree."))
    tree, messages = found
    messages = messages.select_related("author") if can_see_authors(request.user) else messages  # type: ignore[arg-type]
    outline = tree_outline(messages)
    ids = [message.pk for message in messages]
    consensus, ranking_groups = tree_consensus(tree_id=tree.pk, message_ids=ids)
    context = {
        "tree": tree,
        "outline": outline,
        "count": len(ids),
        "show_authors": can_see_authors(request.user),  # type: ignore[arg-type]
        "can_moderate": bool({"moderator", "admin"} & set(roles_of(request.user))),  # type: ignore[arg-type]
        "reactions": reaction_bars(message_ids=ids, user=request.user),  # type: ignore[arg-type]
        "consensus": consensus,
        "ranking_groups": ranking_groups,
    }
    return render(request, "web/tree.html", context)
