"""URL patterns of a person's own account, included under ``/api/v1/`` by the
project's urls (``users/me`` itself, with points, is community's)."""

from django.urls import path

from backend.accounts import api

api_urlpatterns = [
    path("users/me/data", api.MyDataView.as_view(), name="users-me-data"),
    path("users/me/delete", api.MyAccountDeleteView.as_view(), name="users-me-delete"),
    path("users/me/leaderboard", api.MyLeaderboardView.as_view(), name="users-me-leaderboard"),
]
