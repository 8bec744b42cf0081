from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.exports.formats.build import PiiPolicy
from backend.exports.management.progress import ProgressBar
from backend.exports.options import export_format_names, export_options_build
from backend.exports.services import export_to_path
from backend.projects.models import Project


def describe(error: ArborError) -> str:
    details = "; ".join(
        f"{field}: {problem['detail']}"
        for field, problems in error.fields.items()
        for problem in problems
    )
    return details or error.detail


class Command(BaseCommand):
    # The system checks import every URL and view module (the consensus code pulls in
    # scipy): seconds and ~90 MB per run that a data command does not need.
    requires_system_checks: list[str] = []
    help = (
        "Export a project's trees (oasst-trees, oasst-messages, preferences, sft, parquet, "
        "hf-dataset) "
        "to a file; a .gz output is gzipped. Ids are anonymised unless --no-anonymize."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", required=True, choices=export_format_names())
        parser.add_argument("--output", required=True, help="file path; .gz for gzipped JSONL")
        parser.add_argument(
            "--state",
            action="extend",
            nargs="+",
            dest="states",
            help="tree states to export (default ready_for_export); 'all' for every state",
        )
        parser.add_argument("--lang", action="extend", nargs="+", dest="languages")
        parser.add_argument("--created-from", help="ISO date: trees created at or after")
        parser.add_argument("--created-to", help="ISO date: trees created before")
        parser.add_argument("--include-synthetic", action="store_true")
        parser.add_argument("--include-deleted", action="store_true")
        parser.add_argument("--include-rejected", action="store_true")
        parser.add_argument("--no-labels", action="store_true", help="leave out label aggregates")
        parser.add_argument("--with-events", action="store_true", help="add raw votes (events)")
        parser.add_argument(
            "--no-consensus",
            action="store_true",
            help="leave out consensus results (scores, confidence, label intervals)",
        )
        parser.add_argument(
            "--no-quality", action="store_true", help="leave out the quality objects"
        )
        parser.add_argument(
            "--exclude-near-duplicates",
            action="store_true",
            help="leave out near and exact duplicates (and their replies)",
        )
        parser.add_argument(
            "--exclude-leaked",
            metavar="EVAL_SET",
            help="leave out messages leaked from an eval set: 'all' or one set's name",
        )
        parser.add_argument(
            "--exclude-lang-mismatch",
            action="store_true",
            help="leave out messages flagged as not in their language",
        )
        parser.add_argument(
            "--max-toxicity",
            type=float,
            help="leave out messages with a toxicity score above this (0 … 1)",
        )
        parser.add_argument("--no-anonymize", action="store_true", help="keep Arbor's ids")
        parser.add_argument("--secret", help="anonymisation key: the same key gives the same ids")
        parser.add_argument("--pii", choices=PiiPolicy.CHOICES, default=PiiPolicy.MASK)
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--validation-fraction", type=float, help="hf-dataset: 0 … <1")
        parser.add_argument("--license", help="hf-dataset: the card's license (apache-2.0)")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        output = Path(options["output"])
        filters = {
            "states": options["states"],
            "languages": options["languages"],
            "created_from": options["created_from"],
            "created_to": options["created_to"],
            "include_synthetic": options["include_synthetic"],
            "include_deleted": options["include_deleted"],
            "include_rejected": options["include_rejected"],
            "with_labels": not options["no_labels"],
            "with_events": options["with_events"],
            "with_consensus": not options["no_consensus"],
            "anonymize": not options["no_anonymize"],
            "with_quality": not options["no_quality"],
            "pii": options["pii"],
            "exclude_near_duplicates": options["exclude_near_duplicates"],
            "exclude_leaked": options["exclude_leaked"],
            "exclude_lang_mismatch": options["exclude_lang_mismatch"],
            "max_toxicity": options["max_toxicity"],
            "gzip": output.suffix == ".gz",
            "validation_fraction": options["validation_fraction"],
            "license": options["license"],
        }
        try:
            export_options = export_options_build(
                project=project, format=options["format"], filters=filters
            )
        except ArborError as error:
            raise CommandError(describe(error)) from error
        if not output.parent.exists():
            raise CommandError(f"The directory {output.parent} does not exist.")
        bar = ProgressBar(
            sys.stderr,
            label=f"export {export_options.format}",
            enabled=not options["no_progress"] and sys.stderr.isatty(),
        )
        result = export_to_path(
            options=export_options,
            destination=output,
            secret=options["secret"],
            on_progress=lambda done, total, rows: bar.update(done, total, f"{rows} rows"),
        )
        bar.finish()
        anonymised = "anonymised ids" if export_options.anonymize else "Arbor ids"
        if export_options.anonymize and not options["secret"]:
            anonymised += " (random secret, not kept: ids cannot be linked to other exports)"
        self.stdout.write(
            f"{result.row_count} rows ({result.message_count} messages, {result.tree_count} trees) "
            f"→ {output}: {result.byte_size} bytes, sha256 {result.sha256}; {anonymised}"
        )
