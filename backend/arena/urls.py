"""URL patterns of the arena: ``api_urlpatterns`` under ``/api/v1/``, ``urlpatterns`` for
its pages."""

from django.urls import path

from backend.arena import api, views

api_urlpatterns = [
    path("models/", api.ModelsView.as_view(), name="models"),
    path("models/<slug:name>", api.ModelDetailView.as_view(), name="model-detail"),
    path("projects/<slug:slug>/arena", api.ArenaSettingsView.as_view(), name="project-arena"),
    path(
        "projects/<slug:slug>/model-leaderboard",
        api.ModelLeaderboardView.as_view(),
        name="model-leaderboard",
    ),
    path(
        "projects/<slug:slug>/arena-battles.jsonl",
        api.ArenaBattlesExportView.as_view(),
        name="arena-battles",
    ),
    path(
        "arena/battles/<int:battle_id>/decision",
        api.BattleDecisionView.as_view(),
        name="battle-decision",
    ),
]

app_name = "arena"
urlpatterns = [
    path("models/", views.models_page, name="models"),
    path("projects/<slug:slug>/models/", views.model_leaderboard_page, name="leaderboard"),
    path("projects/<slug:slug>/arena/", views.project_arena_page, name="project-arena"),
    path("arena/battles/<int:battle_id>/decision", views.battle_decide_page, name="battle-decide"),
]
