from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend.accounts.roles_api import UserRolesView
from backend.accounts.tokens_api import TokenDetailView, TokenListCreateView
from backend.accounts.tokens_page import tokens_page
from backend.accounts.urls import api_urlpatterns as accounts_api
from backend.arena.urls import api_urlpatterns as arena_api
from backend.assignments.api import (
    AssignmentListCreateView,
    AssignmentSkipView,
    AssignmentSubmitView,
    AssignmentUndoView,
)
from backend.common.health import healthz
from backend.common.metrics import metrics_view
from backend.community.me_api import MeView
from backend.community.stats_api import ProjectStatsView
from backend.community.urls import api_urlpatterns as community_api
from backend.consensus.trees_api import TreeDetailView
from backend.consensus.urls import api_urlpatterns as consensus_api
from backend.exports.urls import api_urlpatterns as exports_api
from backend.exports.views import exports_page, imports_page
from backend.moderation.suggestions_api import MessageDetailEditView
from backend.moderation.urls import api_urlpatterns as moderation_api
from backend.onboarding.urls import api_urlpatterns as onboarding_api
from backend.projects.api import ProjectDetailView, ProjectListView
from backend.quality.urls import api_urlpatterns as quality_api
from backend.trees.api import MessageReactionView
from backend.web.views.errors import favicon, not_found
from backend.web.views.home import home
from backend.webhooks.urls import api_urlpatterns as webhooks_api

# Swagger UI comes from Arbor's own static files (drf-spectacular-sidecar) and styles
# its page inline; its own script is served from a URL (the "split" view), so scripts
# stay strict there too. Its icons are data: URLs.
api_docs = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)

# A database error raised outside a view (in a middleware) is answered 503 too.
handler500 = "backend.common.database.server_error"

api_v1 = [
    path("assignments/", AssignmentListCreateView.as_view(), name="assignments"),
    path(
        "assignments/<int:assignment_id>/submit",
        AssignmentSubmitView.as_view(),
        name="assignment-submit",
    ),
    path(
        "assignments/<int:assignment_id>/skip", AssignmentSkipView.as_view(), name="assignment-skip"
    ),
    path(
        "assignments/<int:assignment_id>/undo", AssignmentUndoView.as_view(), name="assignment-undo"
    ),
    path("trees/<int:tree_id>", TreeDetailView.as_view(), name="tree-detail"),
    path("messages/<int:message_id>", MessageDetailEditView.as_view(), name="message-detail"),
    path(
        "messages/<int:message_id>/reactions",
        MessageReactionView.as_view(),
        name="message-reactions",
    ),
    path("projects/", ProjectListView.as_view(), name="projects"),
    path("projects/<slug:slug>", ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<slug:slug>/stats", ProjectStatsView.as_view(), name="project-stats"),
    path("users/me", MeView.as_view(), name="users-me"),
    *accounts_api,
    path("tokens/", TokenListCreateView.as_view(), name="tokens"),
    path("users/<str:username>/roles", UserRolesView.as_view(), name="user-roles"),
    path("tokens/<int:token_id>", TokenDetailView.as_view(), name="token-detail"),
    *exports_api,
    *moderation_api,
    *community_api,
    *consensus_api,
    *webhooks_api,
    *quality_api,
    *onboarding_api,
    *arena_api,
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("me/tokens/", tokens_page, name="my-tokens"),
    path("exports/", exports_page, name="exports-page"),
    path("imports/", imports_page, name="imports-page"),
    path("moderation/", include("backend.moderation.page_urls")),
    path("me/account/", include("backend.accounts.page_urls")),
    path("", include("backend.webhooks.urls", namespace="webhooks")),
    path("", include("backend.arena.urls", namespace="arena")),
    path("quality/", include("backend.quality.page_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("backend.web.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("favicon.ico", favicon, name="favicon"),
    # Last: every other address gets Arbor's own 404 (JSON under /api/), DEBUG or not.
    re_path(r"^(?!static/)(?P<path>.*)$", not_found, name="not-found"),
]
