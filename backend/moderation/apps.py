from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "backend.moderation"
    label = "moderation"

    def ready(self) -> None:
        from backend.moderation import subscribers

        subscribers.connect()
