"""Register a model behind an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.arena.services import model_endpoint_create
from backend.common.errors import ArborError


class Command(BaseCommand):
    help = "Register a model: manage.py model_add NAME --base-url URL --model MODEL"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--base-url", required=True, help="e.g. https://api.openai.com/v1")
        parser.add_argument("--model", required=True, help="the model's name at the endpoint")
        parser.add_argument("--api-key-env", default="", help="environment variable with the key")
        parser.add_argument("--api-key", default="", help="the key itself (stored encrypted)")
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--max-tokens", type=int)
        parser.add_argument("--system-prompt")
        parser.add_argument("--disabled", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        params: dict[str, Any] = {}
        for option, name in (
            ("temperature", "temperature"),
            ("max_tokens", "max_tokens"),
            ("system_prompt", "system_prompt"),
        ):
            if options[option] is not None:
                params[name] = options[option]
        try:
            endpoint = model_endpoint_create(
                name=options["name"],
                base_url=options["base_url"],
                model=options["model"],
                api_key=options["api_key"],
                api_key_env=options["api_key_env"],
                params=params,
                enabled=not options["disabled"],
            )
        except ArborError as error:
            raise CommandError("; ".join(error.details())) from error
        self.stdout.write(
            f"Registered model {endpoint.name} ({endpoint.model} at {endpoint.base_url})"
        )
