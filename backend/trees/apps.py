from django.apps import AppConfig


class TreesConfig(AppConfig):
    name = "backend.trees"
    label = "trees"

    def ready(self) -> None:
        from backend.accounts.selfservice import personal_data_register
        from backend.trees.personal_data import messages_of_person, reactions_of_person

        personal_data_register("messages", messages_of_person)
        personal_data_register("reactions", reactions_of_person)
