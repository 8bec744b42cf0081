from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Role
from backend.accounts.services import user_create, user_token
from backend.common.errors import ArborError


class Command(BaseCommand):
    help = "Create a user with a role; with --token print their API token on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--role", default=Role.VOLUNTEER, choices=Role.values)
        parser.add_argument("--token", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_create(
                username=options["username"],
                password=options["password"],
                email=options["email"],
                role=options["role"],
            )
        except ArborError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        self.stdout.write(f"created {options['role']} {user.username} (id {user.pk})")
        if options["token"]:
            self.stdout.write(user_token(user=user))
