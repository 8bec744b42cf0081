from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "backend.web"
    label = "web"
    verbose_name = "Volunteer web app"

    def ready(self) -> None:
        from backend.web import dashboard

        dashboard.register()
