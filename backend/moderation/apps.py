from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "backend.moderation"
    label = "moderation"

    def ready(self) -> None:
        from backend.moderation import subscribers

        subscribers.connect()

        from backend.accounts.selfservice import (
            account_deletion_step_register,
            personal_data_register,
        )
        from backend.moderation.personal_data import (
            account_contributions_settle,
            edit_suggestions_of_person,
            reports_of_person,
        )

        personal_data_register("reports", reports_of_person)
        personal_data_register("edit_suggestions", edit_suggestions_of_person)
        account_deletion_step_register("contributions", account_contributions_settle)
