"""Project pages for researchers and admins: the list, a new project, and one project's
settings, guidelines, per-kind instructions, weights and label schema (the label schema
editor). They go through the same services as ``POST/PATCH /api/v1/projects/``: the
same checks, and an audit event for every change."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.page_permissions import role_page
from backend.common.errors import ArborError
from backend.projects.label_schema import TEXT_LIMITS
from backend.projects.models import TREE_SETTING_NAMES, Project
from backend.projects.selectors import project_settings
from backend.projects.services import project_create, project_update
from backend.projects.setting_help import SETTING_HELP, SETTING_TITLES
from backend.projects.usage import task_kinds
from backend.web.labels import kind_title, label_title

EMPTY_LABEL_ROWS = 3
LIST_SETTINGS = {"assignment_weights", "qualification"}


def _field(name: str) -> models.Field[Any, Any]:
    field = Project._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _setting_fields(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Each tree setting with its input type, range, choices and meaning."""
    fields = []
    for name in TREE_SETTING_NAMES:
        if name in LIST_SETTINGS:
            continue
        field = _field(name)
        entry: dict[str, Any] = {
            "name": name,
            "value": values.get(name),
            "help": SETTING_HELP.get(name, ""),
            "title": SETTING_TITLES.get(name) or str(field.verbose_name).capitalize(),
        }
        if field.choices:
            entry.update(type="choice", choices=field.choices)
        else:
            entry["type"] = "float" if isinstance(field, models.FloatField) else "int"
            for validator in field.validators:
                limit = getattr(validator, "limit_value", None)
                if validator.__class__.__name__ == "MinValueValidator":
                    entry["min"] = limit
                elif validator.__class__.__name__ == "MaxValueValidator":
                    entry["max"] = limit
            if entry["type"] == "int":
                entry.setdefault("min", 0)
        fields.append(entry)
    return fields


def _other_languages() -> list[tuple[str, str]]:
    default = django_settings.LANGUAGE_CODE.split("-")[0]
    return [(code, name) for code, name in django_settings.LANGUAGES if code != default]


def _context(
    project: Project | None, data: dict[str, Any], errors: dict[str, Any]
) -> dict[str, Any]:
    schema = list(data.get("label_schema") or [])
    rows = [*schema, *({} for _ in range(EMPTY_LABEL_ROWS))]
    weights = data.get("settings", {}).get("assignment_weights", {})
    qualification = data.get("settings", {}).get("qualification") or {}
    kinds = task_kinds()
    instructions = data.get("kind_instructions", {})
    return {
        "project": project,
        "data": data,
        "errors": errors,
        "setting_fields": _setting_fields(data.get("settings", {})),
        "label_rows": [
            {**row, "title": label_title(row["name"]) if row.get("name") else ""} for row in rows
        ],
        "text_limits": TEXT_LIMITS,
        "kinds": [
            {
                "name": kind,
                "title": kind_title(kind),
                "weight": weights.get(kind, ""),
                "qualification": qualification.get(kind) or {},
                "instructions": instructions.get(kind, {}),
            }
            for kind in kinds
        ],
        "other_languages": _other_languages(),
    }


def _current(project: Project) -> dict[str, Any]:
    return {
        "slug": project.slug,
        "name": project.name,
        "languages": project.languages,
        "is_active": project.is_active,
        "guidelines": project.guidelines,
        "guidelines_translations": project.guidelines_translations,
        "kind_instructions": project.kind_instructions,
        "label_schema": project.label_schema,
        "settings": project_settings(project),
    }


def _number(raw: str) -> Any:
    raw = raw.strip()
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw  # the service refuses it with the field's error


def _posted(post: QueryDict) -> dict[str, Any]:
    """The form as the services take it."""
    settings: dict[str, Any] = {}
    for name in TREE_SETTING_NAMES:
        if name in LIST_SETTINGS or f"setting-{name}" not in post:
            continue
        raw = str(post.get(f"setting-{name}", ""))
        settings[name] = raw if _field(name).choices else _number(raw)
    weights = {
        kind: _number(str(post.get(f"weight-{kind}", "")))
        for kind in task_kinds()
        if post.get(f"weight-{kind}", "").strip()
    }
    if weights:
        settings["assignment_weights"] = weights
    if post.get("qualification-form"):
        qualification: dict[str, Any] = {}
        for kind in task_kinds():
            items = str(post.get(f"qualify-items-{kind}", "")).strip()
            if not items:
                continue
            accuracy = str(post.get(f"qualify-accuracy-{kind}", "")).strip()
            qualification[kind] = {
                "items": _number(items),
                "min_accuracy": _number(accuracy) if accuracy else 0.8,
            }
        settings["qualification"] = qualification
    schema = []
    for index in range(int(post.get("label-count", "0") or 0)):
        name = post.get(f"label-{index}-name", "").strip()
        if not name:
            continue  # an empty row: a label removed, or a spare row left blank
        label: dict[str, Any] = {
            "name": name,
            "kind": post.get(f"label-{index}-kind", "flag"),
            "mandatory": post.get(f"label-{index}-mandatory") == "on",
        }
        if post.get(f"label-{index}-retired") == "on":
            label["retired"] = True
        for key in TEXT_LIMITS:
            value = post.get(f"label-{index}-{key}", "").strip()
            if value:
                label[key] = value
        schema.append(label)
    languages = [code.strip() for code in post.get("languages", "").split(",") if code.strip()]
    translations = {code: post.get(f"guidelines-{code}", "") for code, _name in _other_languages()}
    instructions: dict[str, dict[str, str]] = {}
    for kind in task_kinds():
        texts = {"": post.get(f"instruction-{kind}-", "")}
        texts.update(
            {code: post.get(f"instruction-{kind}-{code}", "") for code, _n in _other_languages()}
        )
        texts = {code: text for code, text in texts.items() if text.strip()}
        if texts:
            instructions[kind] = texts
    return {
        "slug": post.get("slug", "").strip(),
        "name": post.get("name", "").strip(),
        "languages": languages,
        "is_active": post.get("is_active") == "on",
        "guidelines": post.get("guidelines", ""),
        "guidelines_translations": translations,
        "kind_instructions": instructions,
        "label_schema": schema,
        "settings": settings,
    }


def _error_list(error: ArborError) -> list[str]:
    problems = [
        f"{field}: {problem['detail']}"
        for field, items in error.fields.items()
        for problem in items
    ]
    return problems or [error.detail]


@require_http_methods(["GET"])
@role_page("researcher")
def project_list(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.order_by("-is_active", "name")
    return render(request, "web/project_list.html", {"projects": projects})


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def project_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = _posted(request.POST)
        try:
            project = project_create(
                slug=data["slug"],
                name=data["name"],
                languages=data["languages"] or None,
                guidelines=data["guidelines"],
                guidelines_translations=data["guidelines_translations"],
                kind_instructions=data["kind_instructions"],
                label_schema=data["label_schema"] or None,
                settings=data["settings"],
                actor_id=request.user.pk,
            )
        except ArborError as error:
            context = _context(None, data, {"list": _error_list(error), "fields": error.fields})
            return render(request, "web/project_edit.html", context, status=400)
        messages.success(request, _("Project created."))
        return HttpResponseRedirect(reverse("web:project-edit", args=[project.slug]))
    defaults = _current(Project(slug="", name=""))
    return render(request, "web/project_edit.html", _context(None, defaults, {}))


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(_("No such project."))
    if request.method == "POST":
        data = _posted(request.POST)
        changes = {key: value for key, value in data.items() if key != "slug"}
        try:
            project_update(slug=slug, changes=changes, actor_id=request.user.pk)
        except ArborError as error:
            context = _context(project, data, {"list": _error_list(error), "fields": error.fields})
            return render(request, "web/project_edit.html", context, status=400)
        messages.success(request, _("Saved."))
        return HttpResponseRedirect(reverse("web:project-edit", args=[slug]))
    return render(request, "web/project_edit.html", _context(project, _current(project), {}))
