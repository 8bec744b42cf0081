from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, ValidationFailed
from backend.projects.models import TREE_SETTING_NAMES, Project


def _validate_settings(overrides: dict[str, Any]) -> None:
    for name in overrides:
        if name not in TREE_SETTING_NAMES:
            raise ValidationFailed("settings", "unknown_setting", f"Unknown setting {name!r}.")


def project_create(
    *,
    slug: str,
    name: str = "",
    languages: list[str] | None = None,
    guidelines: str = "",
    settings: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> Project:
    """Create a project with Open-Assistant's defaults, overridden by ``settings``."""
    overrides = dict(settings or {})
    _validate_settings(overrides)
    project = Project(slug=slug, name=name or slug, guidelines=guidelines, **overrides)
    if languages:
        project.languages = languages
    try:
        project.full_clean()
    except ValidationError as error:
        fields = {
            field: [{"code": "invalid", "detail": str(message)} for message in messages]
            for field, messages in error.message_dict.items()
        }
        raise ArborError(
            "invalid_project", "The project settings are invalid.", fields=fields
        ) from error
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
