from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "backend.community"
    label = "community"
    verbose_name = "Community: points, leaderboards, levels and streaks"

    def ready(self) -> None:
        from backend.accounts.selfservice import personal_data_register
        from backend.community import subscribers
        from backend.community.personal_data import points_of_person

        personal_data_register("points", points_of_person)
        subscribers.connect()
