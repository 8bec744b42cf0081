from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.projects.services import project_create


class Command(BaseCommand):
    help = "Create a project; --settings overrides tree settings, e.g. '{\"goal_tree_size\": 3}'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--languages", default="en", help="comma separated, e.g. en,de")
        # Spelled ``--settings`` on the command line (manage.py passes it on as
        # ``--tree-settings``: Django itself reserves ``--settings``).
        parser.add_argument(
            "--tree-settings",
            dest="tree_settings",
            default="{}",
            help="JSON object of tree settings; given as --settings JSON",
        )
        parser.add_argument("--guidelines", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            overrides = json.loads(options["tree_settings"])
        except json.JSONDecodeError as error:
            raise CommandError(f"--settings is not JSON: {error}") from error
        if not isinstance(overrides, dict):
            raise CommandError("--settings must be a JSON object")
        languages = [lang.strip() for lang in options["languages"].split(",") if lang.strip()]
        try:
            project = project_create(
                slug=options["slug"],
                name=options["name"],
                languages=languages,
                guidelines=options["guidelines"],
                settings=overrides,
            )
        except ArborError as error:
            details = "; ".join(
                f"{field}: {problem['detail']}"
                for field, problems in error.fields.items()
                for problem in problems
            )
            raise CommandError(f"{error.code}: {error.detail} {details}".strip()) from error
        self.stdout.write(f"created project {project.slug} (id {project.pk})")
