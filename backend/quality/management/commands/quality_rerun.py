from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.quality.models import MessageQuality, QualityJobState
from backend.quality.registry import provider_names
from backend.quality.selectors import project_by_slug
from backend.quality.services import quality_job_run, quality_rerun_request


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = (
        "Recompute the quality signals of a project's messages (all signals, or the one "
        "--signal names), oldest first; rebuilds the near-duplicate index from scratch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--signal", choices=provider_names(), help="only this signal")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = project_by_slug(options["project"])
            job = quality_rerun_request(
                project=project, signal=options.get("signal"), in_background=False
            )
        except ArborError as error:
            raise CommandError(error.detail) from error

        def report(done: int, total: int) -> None:
            self.stderr.write(f"{done}/{total} messages")

        finished = quality_job_run(job_id=job.pk, progress=report)
        assert finished is not None
        if finished.state != QualityJobState.SUCCEEDED:
            raise CommandError(f"quality job {job.pk} failed: {finished.error}")
        flagged = MessageQuality.objects.filter(project=project).exclude(flags=[]).count()
        self.stdout.write(
            f"Recomputed {finished.done} messages of {project.slug} "
            f"(job {finished.pk}); {flagged} carry flags."
        )
