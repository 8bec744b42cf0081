from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.web.demo import demo_summary, seed_demo


class Command(BaseCommand):
    help = "Create the demo project, one user per role and a few trees; print the log-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        project, logins, created = seed_demo()
        base = options["base_url"].rstrip("/")
        state = "created" if created else "already present"
        self.stdout.write(f"Demo project '{project.slug}' {state}: trees {demo_summary(project)}")
        self.stdout.write(
            f"Log in at {base}/accounts/login/  (admin: {base}/admin/, API docs: {base}/api/docs/)"
        )
        for login in logins:
            self.stdout.write(
                f"  {login.role:<11} user {login.username:<11} "
                f"password {login.password:<28} token {login.token}"
            )
