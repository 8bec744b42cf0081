"""URL patterns of the onboarding app: ``api_urlpatterns`` under ``/api/v1/``."""

from django.urls import path

from backend.onboarding import api

api_urlpatterns = [
    path(
        "projects/<slug:slug>/training-items",
        api.ProjectTrainingItemsView.as_view(),
        name="project-training-items",
    ),
    path(
        "training-items/<int:training_item_id>",
        api.TrainingItemDetailView.as_view(),
        name="training-item-detail",
    ),
]
