from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from backend.accounts.models import User
from backend.accounts.page_permissions import volunteer_page
from backend.community.selectors import user_community_summary
from backend.web.forms import is_valid_kind, language_name
from backend.web.selectors import active_projects, dashboard_work, languages_for, open_assignments
from backend.web.views.onboarding import tour_is_due
from backend.web.views.tasks import SESSION_CHOICE, is_htmx


@require_GET
@volunteer_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    projects = list(active_projects())
    choice = request.session.get(SESSION_CHOICE) or {}
    context: dict[str, object] = {
        "projects": projects,
        "open_assignments": open_assignments(user=user),
        "summary": user_community_summary(user_id=user.pk),
    }
    if projects:
        wanted = request.GET.get("project") or choice.get("project")
        project = next((p for p in projects if p.slug == wanted), projects[0])
        languages = languages_for(project=project, user=user)
        wanted_lang = request.GET.get("lang") or choice.get("lang")
        lang = wanted_lang if wanted_lang in languages else languages[0]
        if not is_htmx(request) and tour_is_due(request, project, lang):
            # A new volunteer's first visit: the tour of the task kinds, with practice.
            return redirect(f"{reverse('web:tour')}?project={project.slug}&lang={lang}")
        kind = request.GET.get("kind") or choice.get("kind") or "any"
        context.update(
            project=project,
            lang=lang,
            kind=kind if is_valid_kind(kind) else "any",
            languages=[(code, language_name(code)) for code in languages],
            work=dashboard_work(project=project, lang=lang, user=user),
        )
    if is_htmx(request) and request.headers.get("HX-Target") == "work":
        return render(request, "web/_work.html", context)
    return render(request, "web/dashboard.html", context)
