from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "backend.community"
    label = "community"
    verbose_name = "Community: points, leaderboards, levels and streaks"

    def ready(self) -> None:
        from backend.community import subscribers

        subscribers.connect()
