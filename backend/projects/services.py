from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, NotFound, ValidationFailed
from backend.projects.label_schema import label_schema_clean
from backend.projects.models import TREE_SETTING_NAMES, Project
from backend.projects.selectors import project_cache_clear, project_settings
from backend.projects.usage import labels_in_use, task_kinds

# What ``project_update`` may change besides the tree settings.
EDITABLE = (
    "name",
    "languages",
    "is_active",
    "guidelines",
    "guidelines_translations",
    "kind_instructions",
    "label_schema",
)
MAX_GUIDELINES = 50_000


def _validate_settings(overrides: dict[str, Any]) -> None:
    for name in overrides:
        if name not in TREE_SETTING_NAMES:
            raise ValidationFailed("settings", "unknown_setting", f"Unknown setting {name!r}.")


def _full_clean(project: Project) -> None:
    try:
        project.full_clean(exclude=["slug"] if project.pk else None)
    except ValidationError as error:
        fields = {
            (f"settings.{field}" if field in TREE_SETTING_NAMES else field): [
                {"code": "invalid", "detail": str(message)} for message in messages
            ]
            for field, messages in error.message_dict.items()
        }
        raise ArborError(
            "invalid_project", "The project settings are invalid.", fields=fields
        ) from error


def _clean_languages(languages: Any) -> list[str]:
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(code, str) and 2 <= len(code) <= 16 for code in languages)
    ):
        raise ValidationFailed(
            "languages", "invalid", 'A list of language codes such as ["en", "de"].'
        )
    return list(dict.fromkeys(code.strip() for code in languages))


def _clean_translations(field: str, value: Any) -> dict[str, str]:
    ui_languages = {code for code, _name in django_settings.LANGUAGES}
    if not isinstance(value, dict):
        raise ValidationFailed(field, "invalid", "An object of language code to text.")
    for code, text in value.items():
        if code not in ui_languages:
            raise ValidationFailed(
                f"{field}.{code}", "unknown_language", f"Not an interface language: {code!r}."
            )
        if not isinstance(text, str) or len(text) > MAX_GUIDELINES:
            raise ValidationFailed(
                f"{field}.{code}", "invalid", f"Text of at most {MAX_GUIDELINES} characters."
            )
    return {code: text for code, text in value.items() if text.strip()}


def _clean_kind_instructions(value: Any, known_kinds: set[str]) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise ValidationFailed("kind_instructions", "invalid", "An object of kind to texts.")
    cleaned: dict[str, dict[str, str]] = {}
    for kind, texts in value.items():
        if known_kinds and kind not in known_kinds:
            raise ValidationFailed(
                f"kind_instructions.{kind}", "unknown_kind", f"No task kind {kind!r}."
            )
        if not isinstance(texts, dict):
            raise ValidationFailed(f"kind_instructions.{kind}", "invalid", "Language to text.")
        fallback = texts.get("", "")
        rest = _clean_translations(
            f"kind_instructions.{kind}", {k: v for k, v in texts.items() if k != ""}
        )
        if not isinstance(fallback, str):
            raise ValidationFailed(f"kind_instructions.{kind}", "invalid", "Text.")
        entry = {**({"": fallback} if fallback.strip() else {}), **rest}
        if entry:
            cleaned[kind] = entry
    return cleaned


def _clean_weights(weights: Any) -> dict[str, float]:
    if not isinstance(weights, dict) or not weights:
        raise ValidationFailed("settings.assignment_weights", "invalid", "Kind to weight.")
    for kind, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ValidationFailed(
                f"settings.assignment_weights.{kind}", "invalid", "A weight is a number ≥ 0."
            )
    return {kind: float(weight) for kind, weight in weights.items()}


QUALIFICATION_MAX_ITEMS = 50


def _clean_qualification(value: Any, known_kinds: set[str]) -> dict[str, dict[str, Any]]:
    """{kind: {"items": 1–50, "min_accuracy": 0–1}} for known kinds."""
    path = "settings.qualification"
    if not isinstance(value, dict):
        raise ValidationFailed(path, "invalid", "Kind to {items, min_accuracy}.")
    cleaned: dict[str, dict[str, Any]] = {}
    for kind, rule in value.items():
        if kind not in known_kinds:
            raise ValidationFailed(f"{path}.{kind}", "invalid_kind", f"Unknown kind {kind!r}.")
        if not isinstance(rule, dict) or set(rule) - {"items", "min_accuracy"}:
            raise ValidationFailed(f"{path}.{kind}", "invalid", "{items, min_accuracy}.")
        items = rule.get("items")
        if (
            isinstance(items, bool)
            or not isinstance(items, int)
            or not 1 <= items <= QUALIFICATION_MAX_ITEMS
        ):
            raise ValidationFailed(
                f"{path}.{kind}.items",
                "invalid",
                f"A whole number of items from 1 to {QUALIFICATION_MAX_ITEMS}.",
            )
        accuracy = rule.get("min_accuracy", 0.8)
        if (
            isinstance(accuracy, bool)
            or not isinstance(accuracy, int | float)
            or not 0.0 <= accuracy <= 1.0
        ):
            raise ValidationFailed(f"{path}.{kind}.min_accuracy", "invalid", "A share from 0 to 1.")
        cleaned[kind] = {"items": items, "min_accuracy": float(accuracy)}
    return cleaned


def _state(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "languages": project.languages,
        "is_active": project.is_active,
        "guidelines": project.guidelines,
        "guidelines_translations": project.guidelines_translations,
        "kind_instructions": project.kind_instructions,
        "label_schema": project.label_schema,
        "settings": project_settings(project),
    }


def project_create(
    *,
    slug: str,
    name: str = "",
    languages: list[str] | None = None,
    guidelines: str = "",
    settings: dict[str, Any] | None = None,
    label_schema: list[dict[str, Any]] | None = None,
    guidelines_translations: dict[str, str] | None = None,
    kind_instructions: dict[str, dict[str, str]] | None = None,
    known_kinds: set[str] | None = None,
    actor_id: int | None = None,
) -> Project:
    """Create a project with Open-Assistant's defaults, overridden by ``settings``."""
    overrides = dict(settings or {})
    _validate_settings(overrides)
    if "assignment_weights" in overrides:
        overrides["assignment_weights"] = _clean_weights(overrides["assignment_weights"])
    if "qualification" in overrides:
        overrides["qualification"] = _clean_qualification(
            overrides["qualification"], known_kinds or set(task_kinds())
        )
    if Project.objects.filter(slug=slug).exists():
        raise ValidationFailed("slug", "unique", f"A project {slug!r} exists already.")
    project = Project(slug=slug, name=name or slug, guidelines=guidelines, **overrides)
    if languages is not None:
        project.languages = _clean_languages(languages)
    if label_schema is not None:
        project.label_schema = label_schema_clean(label_schema)
    if guidelines_translations is not None:
        project.guidelines_translations = _clean_translations(
            "guidelines_translations", guidelines_translations
        )
    if kind_instructions is not None:
        project.kind_instructions = _clean_kind_instructions(
            kind_instructions, known_kinds or set(task_kinds())
        )
    _full_clean(project)
    with transaction.atomic():
        project.save()
        audit_record(
            action=AuditAction.PROJECT_CREATED,
            target_type="project",
            target_id=project.pk,
            actor_id=actor_id,
            project_id=project.pk,
            after={"slug": slug, "settings": overrides, "languages": project.languages},
        )
    return project


def project_update(
    *,
    slug: str,
    changes: dict[str, Any],
    actor_id: int | None,
    known_kinds: set[str] | None = None,
) -> Project:
    """Change a project: any of ``EDITABLE`` and ``settings`` (the tree settings).

    Checked as a whole (nothing is saved if one part is wrong); writes one
    ``project.updated`` audit event with what changed, before and after.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(slug=slug).first()
        if project is None:
            raise NotFound("project_not_found", "No such project.")
        before = _state(project)
        unknown = set(changes) - set(EDITABLE) - {"settings"}
        if unknown:
            raise ValidationFailed(
                sorted(unknown)[0], "not_editable", "This cannot be changed here."
            )
        overrides = dict(changes.get("settings") or {})
        _validate_settings(overrides)
        if "assignment_weights" in overrides:
            overrides["assignment_weights"] = _clean_weights(overrides["assignment_weights"])
        if "qualification" in overrides:
            overrides["qualification"] = _clean_qualification(
                overrides["qualification"], known_kinds or set(task_kinds())
            )
        for name, value in overrides.items():
            setattr(project, name, value)
        if "name" in changes:
            project.name = str(changes["name"]).strip()
        if "is_active" in changes:
            project.is_active = bool(changes["is_active"])
        if "languages" in changes:
            project.languages = _clean_languages(changes["languages"])
        if "guidelines" in changes:
            project.guidelines = str(changes["guidelines"])
        if "guidelines_translations" in changes:
            project.guidelines_translations = _clean_translations(
                "guidelines_translations", changes["guidelines_translations"]
            )
        if "kind_instructions" in changes:
            project.kind_instructions = _clean_kind_instructions(
                changes["kind_instructions"], known_kinds or set(task_kinds())
            )
        if "label_schema" in changes:
            old = project.label_schema
            changed = {spec["name"] for spec in old if "name" in spec}
            project.label_schema = label_schema_clean(
                changes["label_schema"], old=old, in_use=labels_in_use(project, changed)
            )
        _full_clean(project)
        after = _state(project)
        diff_before = {key: value for key, value in before.items() if after[key] != value}
        diff_after = {key: after[key] for key in diff_before}
        if diff_before.get("settings"):
            diff_before["settings"] = {
                name: value
                for name, value in before["settings"].items()
                if after["settings"][name] != value
            }
            diff_after["settings"] = {
                name: after["settings"][name] for name in diff_before["settings"]
            }
        if not diff_before:
            return project
        project.save()
        audit_record(
            action=AuditAction.PROJECT_UPDATED,
            target_type="project",
            target_id=project.pk,
            actor_id=actor_id,
            project_id=project.pk,
            before=diff_before,
            after=diff_after,
        )
        transaction.on_commit(project_cache_clear)
    project_cache_clear()
    return project
