"""URL patterns of the exports app, included under ``/api/v1/`` by the project's urls."""

from django.urls import path

from backend.exports.api import (
    ExportDetailView,
    ExportDownloadView,
    ExportListCreateView,
    ImportDetailView,
    ImportListCreateView,
)

api_urlpatterns = [
    path("exports/", ExportListCreateView.as_view(), name="exports"),
    path("exports/<int:job_id>", ExportDetailView.as_view(), name="export-detail"),
    path("exports/<int:job_id>/download", ExportDownloadView.as_view(), name="export-download"),
    path("imports/", ImportListCreateView.as_view(), name="imports"),
    path("imports/<int:job_id>", ImportDetailView.as_view(), name="import-detail"),
]
