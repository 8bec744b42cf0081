from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProjectsConfig(AppConfig):
    name = "backend.projects"
    label = "projects"

    def ready(self) -> None:
        from backend.projects.models import Project
        from backend.projects.selectors import project_cache_clear

        post_save.connect(project_cache_clear, sender=Project, dispatch_uid="project-cache")
        post_delete.connect(project_cache_clear, sender=Project, dispatch_uid="project-cache-del")
