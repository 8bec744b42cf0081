from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "backend.assignments"
    label = "assignments"

    def ready(self) -> None:
        # Importing the built-in kinds registers them (backend.assignments.kinds).
        from backend.assignments import kinds  # noqa: F401
        from backend.assignments.kinds import all_kinds
        from backend.assignments.selectors import labels_with_votes
        from backend.projects.usage import label_usage_register, task_kinds_register

        label_usage_register(labels_with_votes)
        task_kinds_register(lambda: [spec.name for spec in all_kinds()])
