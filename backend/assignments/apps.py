from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "backend.assignments"
    label = "assignments"

    def ready(self) -> None:
        # Importing the built-in kinds registers them (backend.assignments.kinds).
        from backend.assignments import kinds  # noqa: F401
