from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.quality.selectors import project_by_slug
from backend.quality.services import eval_prompts_parse, eval_set_create


def describe(error: ArborError) -> str:
    details = "; ".join(
        f"{field}: {problem['detail']}"
        for field, problems in error.fields.items()
        for problem in problems
    )
    return details or error.detail


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = (
        'Add an evaluation set to a project from a JSONL file of {"prompt": ...} lines; '
        "the project's messages are then re-checked for leakage as a background job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--name", default="", help="the set's name (default: file name)")
        parser.add_argument("file", help='JSONL file, one {"prompt": ...} object a line')

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        try:
            project = project_by_slug(options["project"])
            prompts = eval_prompts_parse(raw)
            eval_set, job = eval_set_create(
                project=project,
                name=options["name"] or path.stem,
                prompts=prompts,
                actor_id=None,
            )
        except ArborError as error:
            raise CommandError(describe(error)) from error
        self.stdout.write(
            f"Added eval set {eval_set.name!r} ({eval_set.prompt_count} prompts) to "
            f"{project.slug}; re-check job {job.pk}."
        )
