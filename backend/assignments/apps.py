from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "backend.assignments"
    label = "assignments"

    def ready(self) -> None:
        # Importing registers them: the built-in kinds (backend.assignments.kinds) and
        # the engine's scrape-time metrics (trees per state, stuck trees).
        from backend.assignments import (
            kinds,  # noqa: F401
            metrics,  # noqa: F401
        )
