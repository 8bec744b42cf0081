from __future__ import annotations

from typing import Any

from backend.projects.models import TREE_SETTING_NAMES, Project


def project_settings(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in TREE_SETTING_NAMES}
