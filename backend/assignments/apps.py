from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "backend.assignments"
    label = "assignments"

    def ready(self) -> None:
        # Importing registers them: the built-in kinds (backend.assignments.kinds) and
        # the engine's scrape-time metrics (trees per state, stuck trees).
        from backend.accounts.selfservice import personal_data_register
        from backend.assignments import (
            kinds,  # noqa: F401
            metrics,  # noqa: F401
        )
        from backend.assignments.kinds import all_kinds
        from backend.assignments.personal_data import (
            label_votes_of_person,
            ranking_votes_of_person,
        )
        from backend.assignments.selectors import labels_with_votes
        from backend.projects.usage import label_usage_register, task_kinds_register

        label_usage_register(labels_with_votes)
        task_kinds_register(lambda: [spec.name for spec in all_kinds()])
        personal_data_register("label_votes", label_votes_of_person)
        personal_data_register("ranking_votes", ranking_votes_of_person)
