"""URL patterns of the quality app, included under ``/api/v1/`` by the project's urls."""

from django.urls import path

from backend.quality.api import (
    EvalSetDetailView,
    EvalSetListCreateView,
    QualityJobDetailView,
    QualityRerunView,
)
from backend.quality.check_api import QualityCheckView

api_urlpatterns = [
    path("quality/check", QualityCheckView.as_view(), name="quality-check"),
    path("projects/<slug:slug>/eval-sets", EvalSetListCreateView.as_view(), name="eval-sets"),
    path(
        "projects/<slug:slug>/eval-sets/<int:eval_set_id>",
        EvalSetDetailView.as_view(),
        name="eval-set-detail",
    ),
    path("projects/<slug:slug>/quality/rerun", QualityRerunView.as_view(), name="quality-rerun"),
    path(
        "projects/<slug:slug>/quality/jobs/<int:job_id>",
        QualityJobDetailView.as_view(),
        name="quality-job-detail",
    ),
]
