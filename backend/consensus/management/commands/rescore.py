"""``python manage.py rescore --project SLUG``: re-score a project from its votes."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.consensus.services import project_rescore
from backend.projects.models import Project


class Command(BaseCommand):
    help = (
        "Re-score every sibling group, message and annotator of a project from the stored "
        "votes (ranked pairs, Plackett–Luce, Dawid–Skene, agreement). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--quiet", action="store_true", help="print only the summary")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        started = time.perf_counter()
        quiet = options["quiet"]

        def progress(stage: str, done: int, total: int) -> None:
            if not quiet:
                elapsed = time.perf_counter() - started
                self.stderr.write(f"[{elapsed:7.1f}s] {stage}: {done:,}/{total:,}")

        try:
            run = project_rescore(project_id=project.pk, progress=progress)
        except ArborError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{name}={value:,}" for name, value in sorted(run.counts.items()))
        self.stdout.write(f"rescored {project.slug} in {elapsed:.1f}s (run {run.pk}): {summary}")
