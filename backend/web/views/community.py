from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.models import User
from backend.accounts.page_permissions import volunteer_page
from backend.accounts.services import user_profile_update
from backend.common.errors import ArborError
from backend.community.models import Window
from backend.community.selectors import leaderboard_page, user_community_summary
from backend.web.forms import ProfileForm
from backend.web.selectors import active_projects, contribution_counts, messages_of

LEADERBOARD_SIZE = 50


@require_http_methods(["GET"])
@volunteer_page
def leaderboard(request: HttpRequest) -> HttpResponse:
    window = request.GET.get("window", Window.WEEK)
    window = window if window in Window.values else Window.WEEK
    projects = list(active_projects())
    project = next((p for p in projects if p.slug == request.GET.get("project")), None)
    page = leaderboard_page(
        window=window,
        project=project,
        viewer=request.user,  # type: ignore[arg-type]
        limit=LEADERBOARD_SIZE,
    )
    context = {
        "page": page,
        "window": window,
        "windows": Window.values,
        "projects": projects,
        "project": project,
    }
    return render(request, "web/leaderboard.html", context)


@require_http_methods(["GET", "POST"])
@volunteer_page
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    language_codes = sorted(
        {code for p in active_projects() for code in p.languages} | set(user.languages)
    )
    if request.method == "POST":
        form = ProfileForm(request.POST, language_codes=language_codes)
        if form.is_valid():
            try:
                user_profile_update(
                    user=user,
                    display_name=form.cleaned_data["display_name"],
                    languages=form.cleaned_data["languages"],
                    show_on_leaderboard=form.cleaned_data["show_on_leaderboard"],
                )
            except ArborError as error:
                form.add_error(None, error.detail)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("web:profile")
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "languages": user.languages,
                "show_on_leaderboard": user.show_on_leaderboard,
            },
            language_codes=language_codes,
        )
    overall = leaderboard_page(window=Window.ALL, project=None, viewer=user, limit=1)["me"]
    context = {
        "form": form,
        "summary": user_community_summary(user_id=user.pk),
        "overall": overall,
        "contributions": contribution_counts(user=user),
        "my_messages": messages_of(user=user),
    }
    return render(request, "web/profile.html", context, status=422 if form.errors else 200)
