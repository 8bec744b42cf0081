"""URL patterns of the community app, included under ``/api/v1/`` by the project's urls."""

from django.urls import path

from backend.community.api import FormulaView, LeaderboardView

api_urlpatterns = [
    path("leaderboard/", LeaderboardView.as_view(), name="leaderboard"),
    path("leaderboard/formula", FormulaView.as_view(), name="leaderboard-formula"),
]
