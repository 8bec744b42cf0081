from django.urls import path

from bench.floor.views import ClaimView, SubmitView, healthz

urlpatterns = [
    path("healthz", healthz),
    path("api/v1/assignments/", ClaimView.as_view()),
    path("api/v1/assignments/<int:pk>/submit", SubmitView.as_view()),
]
