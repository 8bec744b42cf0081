"""The researchers' quality pages, mounted at ``/quality/``."""

from django.urls import path

from backend.quality import views

app_name = "quality"

urlpatterns = [
    path("projects/<slug:slug>/eval-sets/", views.eval_sets_page, name="eval-sets"),
    path(
        "projects/<slug:slug>/eval-sets/<int:eval_set_id>/delete",
        views.eval_set_delete_page,
        name="eval-set-delete",
    ),
]
