"""URL patterns of moderation, included under ``/api/v1/`` by the project's urls."""

from django.urls import path

from backend.moderation import api, suggestions_api

api_urlpatterns = [
    path("moderation/queue", api.QueueView.as_view(), name="moderation-queue"),
    path(
        "moderation/queue/<int:item_id>/claim",
        api.QueueClaimView.as_view(),
        name="moderation-claim",
    ),
    path("moderation/queue/next", api.QueueNextView.as_view(), name="moderation-next"),
    path(
        "moderation/queue/<int:item_id>/release",
        api.QueueReleaseView.as_view(),
        name="moderation-release",
    ),
    path(
        "moderation/queue/<int:item_id>/resolve",
        api.QueueResolveView.as_view(),
        name="moderation-resolve",
    ),
    path("moderation/trollboard", api.TrollboardView.as_view(), name="moderation-trollboard"),
    path("audit-log", api.AuditLogView.as_view(), name="audit-log"),
    *[
        path(
            f"trees/<int:tree_id>/{name}",
            api.TreeActionView.as_view(action_name=name),
            name=f"tree-{name}",
        )
        for name in ("halt", "resume", "abort", "reopen", "retry-scoring")
    ],
    *[
        path(
            f"messages/<int:message_id>/{name}",
            api.MessageActionView.as_view(action_name=name),
            name=f"message-{name}",
        )
        for name in ("delete", "undelete")
    ],
    path("messages/<int:message_id>/edit", api.MessageEditView.as_view(), name="message-edit"),
    path(
        "messages/<int:message_id>/revert", api.MessageRevertView.as_view(), name="message-revert"
    ),
    path(
        "messages/<int:message_id>/revisions",
        api.MessageRevisionsView.as_view(),
        name="message-revisions",
    ),
    path(
        "messages/<int:message_id>/reports", api.MessageReportView.as_view(), name="message-reports"
    ),
    path("users/<int:user_id>/ban", api.UserBanView.as_view(), name="user-ban"),
    path("users/<int:user_id>/unban", api.UserUnbanView.as_view(), name="user-unban"),
    path("users/<int:user_id>/notes", api.UserNotesView.as_view(), name="user-notes"),
    path(
        "messages/<int:message_id>/suggestions",
        suggestions_api.MessageSuggestionsView.as_view(),
        name="message-suggestions",
    ),
    *[
        path(
            f"messages/<int:message_id>/suggestions/<int:suggestion_id>/{decision}",
            suggestions_api.SuggestionDecisionView.as_view(decision=decision),
            name=f"suggestion-{decision}",
        )
        for decision in ("accept", "decline")
    ],
]
