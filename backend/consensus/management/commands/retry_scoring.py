"""``manage.py retry_scoring TREE_ID … | --all``: send trees whose scoring failed back to
scoring (as a moderator's retry from the API or the web page does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.common.errors import ArborError
from backend.consensus.services.trees import tree_retry_scoring
from backend.trees.models import Tree, TreeState


class Command(BaseCommand):
    help = "Retry the scoring of trees in scoring_failed (given ids, or --all of them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tree_ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="every tree in scoring_failed")
        parser.add_argument("--reason", default="retried from the command line")

    def handle(self, *args: Any, **options: Any) -> None:
        tree_ids: list[int] = options["tree_ids"]
        if options["all"]:
            tree_ids = sorted(
                set(tree_ids)
                | set(
                    Tree.objects.filter(state=TreeState.SCORING_FAILED).values_list("pk", flat=True)
                )
            )
        if not tree_ids:
            raise CommandError("Name the trees to retry, or pass --all.")
        failed = 0
        for tree_id in tree_ids:
            try:
                tree = tree_retry_scoring(tree_id=tree_id, reason=options["reason"])
            except (ArborError, Tree.DoesNotExist) as error:
                failed += 1
                detail = getattr(error, "detail", None) or "no such tree"
                self.stderr.write(f"tree {tree_id}: not retried ({detail})")
                continue
            self.stdout.write(f"tree {tree_id}: {tree.state}")
        if failed:
            raise CommandError(f"{failed} of {len(tree_ids)} trees were not retried.")
