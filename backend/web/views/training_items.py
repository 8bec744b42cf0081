"""A project's training items, for researchers and admins: the list, a form to write a
practice or gold item, and one item's page to change or retire it. The same service as
``POST/PATCH /api/v1/…/training-items`` checks and audits every change.

The form writes a conversation as blocks separated by a line holding only ``---``; the
roles alternate, starting with the user's prompt.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.page_permissions import role_page
from backend.common.errors import ArborError
from backend.onboarding.models import TrainingItem, TrainingUse
from backend.onboarding.selectors import training_items_of, training_kinds
from backend.onboarding.services import EDITABLE, training_item_create, training_item_update
from backend.projects.models import Project
from backend.web.labels import kind_title, label_title

SEPARATOR = re.compile(r"^\s*---\s*$", re.MULTILINE)
ROLES = ("prompter", "assistant")


def _blocks(text: str) -> list[str]:
    return [block.strip() for block in SEPARATOR.split(text or "") if block.strip()]


def _turns_text(turns: list[dict[str, Any]]) -> str:
    return "\n---\n".join(turn["text"] for turn in turns)


def _posted(post: QueryDict, project: Project) -> dict[str, Any]:
    """The form as the service takes it."""
    conversation = [
        {"role": ROLES[index % 2], "text": text}
        for index, text in enumerate(_blocks(post.get("conversation", "")))
    ]
    labels: dict[str, Any] = {}
    for spec in project.label_schema:
        raw = post.get(f"answer-{spec['name']}", "").strip()
        if raw:
            try:
                labels[spec["name"]] = float(raw)
            except ValueError:
                labels[spec["name"]] = raw  # refused by the service with the field's error
    ranking_text = post.get("answer_ranking", "")
    ranking: list[Any] = []
    for part in re.split(r"[\s,]+", ranking_text.strip()):
        if part:
            ranking.append(int(part) if part.isdigit() else part)
    return {
        "kind": post.get("kind", ""),
        "lang": post.get("lang", ""),
        "use": post.get("use", TrainingUse.PRACTICE),
        "conversation": conversation,
        "candidates": [{"text": text} for text in _blocks(post.get("candidates", ""))],
        "answer_labels": labels,
        "answer_ranking": ranking,
        "answer_text": post.get("answer_text", ""),
        "explanation": post.get("explanation", ""),
        "is_active": post.get("is_active", "on") == "on",
    }


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """The item's fields as the form shows them."""
    return {
        "kind": data.get("kind", ""),
        "lang": data.get("lang", ""),
        "use": data.get("use", TrainingUse.PRACTICE),
        "conversation": _turns_text(data.get("conversation") or []),
        "candidates": _turns_text(data.get("candidates") or []),
        "answer_labels": data.get("answer_labels") or {},
        "answer_ranking": ", ".join(str(n) for n in data.get("answer_ranking") or []),
        "answer_text": data.get("answer_text", ""),
        "explanation": data.get("explanation", ""),
        "is_active": data.get("is_active", True),
    }


def _label_rows(project: Project, answers: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for spec in project.label_schema:
        if spec.get("retired"):
            continue
        value = answers.get(spec["name"])
        if spec["kind"] == "flag":
            choices = [("1", _("yes")), ("0", _("no"))]
        else:
            choices = [(str(step / 4), str(step + 1)) for step in range(5)]
        rows.append(
            {
                "name": spec["name"],
                "title": label_title(spec["name"]),
                "choices": choices,
                "value": ""
                if value is None
                else str(float(value) if spec["kind"] != "flag" else int(float(value))),
            }
        )
    return rows


def _context(
    project: Project,
    values: dict[str, Any],
    *,
    item: TrainingItem | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "project": project,
        "item": item,
        "values": values,
        "errors": errors or [],
        "kinds": [(spec.name, kind_title(spec.name)) for spec in training_kinds()],
        "uses": TrainingUse.choices,
        "label_rows": _label_rows(project, values.get("answer_labels") or {}),
    }


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(_("No such project."))
    return project


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def training_items(request: HttpRequest, slug: str) -> HttpResponse:
    project = _project(slug)
    items = [
        {"item": item, "kind_title": kind_title(item.kind)}
        for item in training_items_of(project=project)
    ]
    if request.method == "POST":
        data = _posted(request.POST, project)
        try:
            item = training_item_create(project=project, data=data, actor_id=request.user.pk)
        except ArborError as error:
            context = _context(project, _form_values(data), errors=error.details())
            context["items"] = items
            return render(request, "web/training_items.html", context, status=400)
        messages.success(request, _("Training item added."))
        return HttpResponseRedirect(reverse("web:training-item", args=[slug, item.pk]))
    context = _context(project, _form_values({"lang": project.languages[0]}))
    context["items"] = items
    return render(request, "web/training_items.html", context)


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def training_item(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    project = _project(slug)
    item = TrainingItem.objects.filter(pk=item_id, project=project).first()
    if item is None:
        raise Http404(_("No such training item."))
    if request.method == "POST":
        data = _posted(request.POST, project)
        data["is_active"] = request.POST.get("is_active") == "on"
        try:
            training_item_update(item_id=item.pk, changes=data, actor_id=request.user.pk)
        except ArborError as error:
            context = _context(project, _form_values(data), item=item, errors=error.details())
            return render(request, "web/training_item.html", context, status=400)
        messages.success(request, _("Saved."))
        return HttpResponseRedirect(reverse("web:training-item", args=[slug, item.pk]))
    values = _form_values({name: getattr(item, name) for name in EDITABLE})
    return render(request, "web/training_item.html", _context(project, values, item=item))
