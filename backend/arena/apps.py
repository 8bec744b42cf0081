from django.apps import AppConfig


class ArenaConfig(AppConfig):
    name = "backend.arena"
    label = "arena"
    verbose_name = "Models in the loop"

    def ready(self) -> None:
        from backend.arena import subscribers

        subscribers.connect()
