from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.exports.options import export_options_build
from backend.exports.services import ExportResult, export_write
from backend.projects.models import Project
from tests.exports.builders import SmallWorld, build_small_world

SHARED_OASST = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "oasst"


@pytest.fixture(autouse=True)
def _fast_hashing_and_private_media(settings: Any, tmp_path: Path) -> None:
    """Many users are made here (the production hasher is slow on purpose), and export
    files must land in the test's own directory."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(make_project, make_user) -> SmallWorld:  # type: ignore[no-untyped-def]
    return build_small_world(make_project(slug="lab"), make_user)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        return [json.loads(line) for line in handle]


@pytest.fixture
def run_export(tmp_path: Path) -> Callable[..., tuple[list[dict[str, Any]], ExportResult, Path]]:
    """``run_export(project, "oasst-trees", secret=None, **filters)`` → (lines, result, path)."""
    counter = {"n": 0}

    def run(
        project: Project,
        format: str,
        *,
        secret: str | None = None,
        batch_trees: int = 1000,
        **filters: Any,
    ) -> tuple[list[dict[str, Any]], ExportResult, Path]:
        counter["n"] += 1
        options = export_options_build(project=project, format=format, filters=filters)
        path = tmp_path / f"export-{counter['n']}{options.extension}"
        result = export_write(
            options=options, destination=path, secret=secret, batch_trees=batch_trees
        )
        lines = read_jsonl(path) if format != "parquet" else []
        return lines, result, path

    return run
