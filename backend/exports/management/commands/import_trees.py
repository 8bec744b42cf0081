from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.exports.management.commands.export import describe
from backend.exports.management.progress import ProgressBar
from backend.exports.models import ImportFormat
from backend.exports.services import ImportReport, import_file
from backend.exports.services.imports import IMPORT_STATES

SHOWN_ERRORS = 50


class Command(BaseCommand):
    # The system checks import every URL and view module (the consensus code pulls in
    # scipy): seconds and ~90 MB per run that a data command does not need.
    requires_system_checks: list[str] = []
    help = (
        "Import Open-Assistant trees JSONL or ShareGPT conversations into a project. Bad lines "
        "are reported and skipped (with --strict, nothing is imported if any line is bad); "
        "trees already imported are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", required=True, choices=ImportFormat.values)
        parser.add_argument("--project", required=True)
        parser.add_argument("--state", choices=IMPORT_STATES, default="backlog")
        parser.add_argument("--strict", action="store_true")
        parser.add_argument("--lang", default="", help="language when the file names none")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"No file {path!r}.")
        total = max(1, os.path.getsize(path))
        bar = ProgressBar(
            sys.stderr,
            label="import",
            enabled=not options["no_progress"] and sys.stderr.isatty(),
        )

        def on_progress(position: int, report: ImportReport) -> None:
            bar.update(min(position, total), total, f"{report.trees_created} trees")

        try:
            report = import_file(
                path=path,
                project_slug=options["project"],
                format=options["format"],
                target_state=options["state"],
                strict=options["strict"],
                lang=options["lang"],
                on_progress=on_progress,
            )
        except ArborError as error:
            raise CommandError(describe(error)) from error
        bar.finish()
        for problem in report.errors[:SHOWN_ERRORS]:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        if report.error_count > SHOWN_ERRORS:
            self.stderr.write(f"… and {report.error_count - SHOWN_ERRORS} more bad lines")
        summary = (
            f"{report.lines_read} lines: {report.trees_created} trees imported "
            f"({report.messages_created} messages), {report.trees_duplicate} already there, "
            f"{report.error_count} bad"
        )
        if report.imported_nothing:
            why = "--strict: nothing imported" if options["strict"] else report.failure
            raise CommandError(f"{summary}; {why}")
        self.stdout.write(summary)
