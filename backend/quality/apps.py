from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "backend.quality"
    label = "quality"
    verbose_name = "Data quality"

    def ready(self) -> None:
        from backend.quality import subscribers

        subscribers.connect()
