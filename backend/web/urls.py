"""The volunteer web app's pages (mounted at the site root)."""

from django.urls import path

from backend.web.views import (
    community,
    dashboard,
    messages,
    onboarding,
    own_edits,
    project_manage,
    stats,
    tasks,
    training_items,
    trees,
)

app_name = "web"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("task/", tasks.task_next, name="task-next"),
    path("task/claim", tasks.task_claim, name="task-claim"),
    path("task/<int:assignment_id>/", tasks.task_page, name="task"),
    path("task/<int:assignment_id>/submit", tasks.task_submit, name="task-submit"),
    path("task/<int:assignment_id>/skip", tasks.task_skip, name="task-skip"),
    path("task/<int:assignment_id>/undo", tasks.task_undo, name="task-undo"),
    path("task/preview", tasks.markdown_preview, name="markdown-preview"),
    path("messages/<int:message_id>/react", messages.message_reaction, name="message-react"),
    path("messages/<int:message_id>/report", messages.message_report, name="message-report"),
    path("messages/<int:message_id>/edit", own_edits.message_edit, name="message-edit"),
    path("leaderboard/", community.leaderboard, name="leaderboard"),
    path("me/", community.profile, name="profile"),
    path("trees/", trees.tree_list, name="trees"),
    path("trees/<int:tree_id>/", trees.tree_detail, name="tree"),
    path("projects/<slug:slug>/stats/", stats.project_stats, name="project-stats"),
    path("tour/", onboarding.tour, name="tour"),
    path("tour/start", onboarding.tour_begin, name="tour-start"),
    path("tour/skip", onboarding.tour_leave, name="tour-skip"),
    path("tour/practice/", onboarding.tour_practice, name="tour-practice"),
    path("tour/practice/<int:item_id>/answer", onboarding.tour_answer, name="tour-answer"),
    path("qualify/<slug:slug>/<str:kind>/", onboarding.qualification, name="qualification"),
    path(
        "qualify/<slug:slug>/<str:kind>/start",
        onboarding.qualification_begin,
        name="qualification-start",
    ),
    path(
        "qualify/<slug:slug>/<str:kind>/answer",
        onboarding.qualification_submit,
        name="qualification-answer",
    ),
    path("projects/", project_manage.project_list, name="project-list"),
    path("projects/new/", project_manage.project_new, name="project-new"),
    path("projects/<slug:slug>/edit/", project_manage.project_edit, name="project-edit"),
    path("projects/<slug:slug>/training/", training_items.training_items, name="training-items"),
    path(
        "projects/<slug:slug>/training/<int:item_id>/",
        training_items.training_item,
        name="training-item",
    ),
]
