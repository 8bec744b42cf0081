from django.urls import path

from backend.consensus.api import ProjectAgreementView

api_urlpatterns = [
    path(
        "projects/<slug:slug>/agreement",
        ProjectAgreementView.as_view(),
        name="project-agreement",
    ),
]
