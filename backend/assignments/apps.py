from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "backend.assignments"
    label = "assignments"
