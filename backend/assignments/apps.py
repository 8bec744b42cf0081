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
        from backend.assignments.kinds import all_kinds
        from backend.assignments.selectors import labels_with_votes
        from backend.projects.usage import label_usage_register, task_kinds_register

        label_usage_register(labels_with_votes)
        task_kinds_register(lambda: [spec.name for spec in all_kinds()])
