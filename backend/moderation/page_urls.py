"""The moderators' web pages, mounted at ``/moderation/``."""

from django.urls import path

from backend.moderation import suggestion_views, views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next", views.queue_next, name="next"),
    path("items/<int:item_id>/", views.item, name="item"),
    path("items/<int:item_id>/claim", views.item_claim, name="claim"),
    path("items/<int:item_id>/resolve", views.item_resolve, name="resolve"),
    path("items/<int:item_id>/release", views.item_release, name="release"),
    path("messages/<int:message_id>/", views.message_page, name="message"),
    path("messages/<int:message_id>/<slug:action>", views.message_action, name="message-action"),
    path("trees/<int:tree_id>/<slug:action>", views.tree_action, name="tree-action"),
    path("users/<int:user_id>/", views.user_page, name="user"),
    path("users/<int:user_id>/<slug:action>", views.user_action, name="user-action"),
    path("trollboard/", views.trollboard, name="trollboard"),
    path("audit/", views.audit_log, name="audit"),
    path("audit.csv", views.audit_csv, name="audit-csv"),
    path("suggestions/", suggestion_views.suggestion_list, name="suggestions"),
    path("suggestions/<int:suggestion_id>/", suggestion_views.suggestion_page, name="suggestion"),
    path(
        "suggestions/<int:suggestion_id>/<slug:decision>",
        suggestion_views.suggestion_decide,
        name="suggestion-decide",
    ),
]
