"""The onboarding pages: the guided tour of the task kinds with practice tasks, and a
kind's qualification (why it is locked, and taking it).

Thin: practice answers and qualification answers go through the onboarding services
(``practice_answer``, ``qualification_answer``), which check them with the kind's own
rules; practice is never stored as data. The practice and qualification pages draw an
item with the task page's own parts (the kind's form partial, the message list), so they
look like the real thing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import User
from backend.accounts.page_permissions import volunteer_page
from backend.assignments.kinds import KindSpec, all_kinds, get_kind
from backend.common.errors import ArborError
from backend.common.page_errors import ShownErrors, shown_errors, web_status
from backend.onboarding.models import QualificationAttempt, TourState, TrainingItem
from backend.onboarding.scoring import Score
from backend.onboarding.selectors import (
    gold_items,
    gold_pause_of,
    has_practice,
    kinds_locked,
    practice_next,
    qualification_last_attempt,
    qualification_next_item,
    qualification_open_attempt,
    qualification_rule,
    tour_progress,
)
from backend.onboarding.services import (
    item_candidates,
    item_conversation,
    practice_answer,
    qualification_answer,
    qualification_start,
    tour_finish,
    tour_skip,
    tour_start,
)
from backend.projects.models import LabellingMode, Project
from backend.web.labels import kind_instruction, kind_title, label_title, label_widget
from backend.web.selectors import active_projects, languages_for
from backend.web.views.tasks import SESSION_CHOICE


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def tour_place(request: HttpRequest) -> tuple[Project, str] | None:
    """The project and language the tour practises in: the ones asked for, else the
    dashboard's choice, else the first project and the person's first language."""
    projects = list(active_projects())
    if not projects:
        return None
    choice = request.session.get(SESSION_CHOICE) or {}
    wanted = request.GET.get("project") or request.POST.get("project") or choice.get("project")
    project = next((p for p in projects if p.slug == wanted), projects[0])
    languages = languages_for(project=project, user=_user(request))
    wanted_lang = request.GET.get("lang") or request.POST.get("lang") or choice.get("lang")
    return project, (wanted_lang if wanted_lang in languages else languages[0])


def tour_is_due(request: HttpRequest, project: Project, lang: str) -> bool:
    """A first visit starts the tour, where there is practice to take."""
    return tour_progress(user=_user(request)) is None and has_practice(project=project, lang=lang)


def _query(project: Project, lang: str) -> str:
    return urlencode({"project": project.slug, "lang": lang})


def _item_context(
    request: HttpRequest,
    item: TrainingItem,
    spec: KindSpec,
    *,
    values: dict[str, Any] | None = None,
    errors: ShownErrors | None = None,
) -> dict[str, Any]:
    """What the task page's parts need to draw ``item`` as a task."""
    values = values or {}
    errors = errors or ShownErrors()
    conversation = item_conversation(item)
    candidates = item_candidates(item, user_id=_user(request).pk)
    posted = values.get("ranking")
    if posted:
        position = {pk: index for index, pk in enumerate(posted)}
        candidates = sorted(candidates, key=lambda turn: position.get(turn.pk, len(position)))
    labels = [label_widget(label) for label in spec.labels(item.project)]
    for widget in labels:
        widget["value"] = (values.get("labels") or {}).get(widget["name"], "")
        widget["error"] = errors.fields.get(f"labels.{widget['name']}", "")
    return {
        "item": item,
        "project": item.project,
        "kind": item.kind,
        "kind_title": kind_title(item.kind),
        "kind_instruction": kind_instruction(item.kind),
        "kind_template": spec.template,
        "conversation": conversation,
        "candidates": candidates,
        "labels": labels,
        "required_labels": [widget for widget in labels if widget.get("mandatory")],
        "optional_labels": [widget for widget in labels if not widget.get("mandatory")],
        "optional_labels_folded": item.project.labelling_mode == LabellingMode.SIMPLE,
        "reactions": {},
        "values": values,
        "errors": errors,
        # The reply form's parts (a reply kind's practice): its limits, its role, and
        # a draft key of its own.
        "reply_role": "assistant" if item.kind == "assistant_reply" else "prompter",
        "max_length": item.project.max_message_length,
        "min_length": item.project.min_message_length,
        "assignment": {"pk": f"practice-{item.pk}", "lang": item.lang},
    }


def _label_value_text(kind: str, value: float | None) -> str:
    """A label value as the task page asks it: yes/no, or a step from 1 to 5."""
    if value is None:
        return ""
    if kind == "flag":
        return _("yes") if value >= 0.5 else _("no")
    return str(round(value * 4) + 1)


def _known_answer(item: TrainingItem, spec: KindSpec, score: Score) -> dict[str, Any]:
    """The known answer in words, with the person's misses."""
    candidates = {index + 1: turn["text"] for index, turn in enumerate(item.candidates)}
    kinds = {label["name"]: label["kind"] for label in spec.labels(item.project)}
    return {
        "labels": [
            {
                "title": label_title(name),
                "value": _label_value_text(kinds.get(name, "flag"), value),
                "missed": name in score.label_misses,
                "given": _label_value_text(
                    kinds.get(name, "flag"), score.label_misses.get(name, (None, value))[0]
                ),
            }
            for name, value in sorted(item.answer_labels.items())
        ],
        "ranking": [candidates[number] for number in item.answer_ranking if number in candidates],
    }


# --- The tour ---------------------------------------------------------------------------


@require_GET
@volunteer_page
def tour(request: HttpRequest) -> HttpResponse:
    """The tour's first page: what each kind of task asks, and the way to practise."""
    place = tour_place(request)
    if tour_progress(user=_user(request)) is None:
        # Shown once by itself: going back to the dashboard does not bring it back.
        tour_start(user=_user(request))
    context: dict[str, Any] = {
        "kinds": [
            {
                "kind": spec.name,
                "title": kind_title(spec.name),
                "instruction": kind_instruction(spec.name),
            }
            for spec in all_kinds()
            if place is None or spec.is_offered(place[0])
        ],
        "progress": tour_progress(user=_user(request)),
    }
    if place is not None:
        project, lang = place
        _item, done, total = practice_next(user=_user(request), project=project, lang=lang)
        context.update(project=project, lang=lang, practice_total=total, practice_done=done)
        context["required"] = [
            {
                "kind": kind,
                "title": kind_title(kind),
                "items": rule["items"],
                "percent": round(100 * float(rule["min_accuracy"])),
            }
            for kind, rule in sorted((project.qualification or {}).items())
        ]
    return render(request, "web/tour.html", context)


@require_POST
@volunteer_page
def tour_begin(request: HttpRequest) -> HttpResponse:
    place = tour_place(request)
    tour_start(user=_user(request))
    if place is None:
        return redirect("web:dashboard")
    return redirect(f"{reverse('web:tour-practice')}?{_query(*place)}")


@require_POST
@volunteer_page
def tour_leave(request: HttpRequest) -> HttpResponse:
    tour_skip(user=_user(request))
    messages.info(request, _("Tour skipped. You can take it any time from the dashboard."))
    return redirect("web:dashboard")


def _render_practice(
    request: HttpRequest,
    item: TrainingItem,
    *,
    done: int,
    total: int,
    lang: str,
    status: int = 200,
    **kwargs: Any,
) -> HttpResponse:
    spec = get_kind(item.kind)
    if spec is None:
        raise Http404(_("This kind of task is not offered any more."))
    context = _item_context(request, item, spec, **kwargs)
    context.update(
        step=done + 1,
        total=total,
        lang=lang,
        action=reverse("web:tour-answer", args=[item.pk]),
        mode="practice",
    )
    return render(request, "web/practice.html", context, status=status)


@require_GET
@volunteer_page
def tour_practice(request: HttpRequest) -> HttpResponse:
    """The next practice task, or the end of the tour."""
    place = tour_place(request)
    if place is None:
        return redirect("web:dashboard")
    project, lang = place
    user = _user(request)
    if tour_progress(user=user) is None:
        tour_start(user=user)
    item, done, total = practice_next(user=user, project=project, lang=lang)
    if item is None:
        progress = tour_progress(user=user)
        if progress is not None and progress.state == TourState.STARTED:
            tour_finish(user=user)
        locked = sorted(kinds_locked(user, project, list(project.qualification or {})))
        return render(
            request,
            "web/tour_done.html",
            {
                "project": project,
                "lang": lang,
                "total": total,
                "locked": [{"kind": kind, "title": kind_title(kind)} for kind in locked],
            },
        )
    return _render_practice(request, item, done=done, total=total, lang=lang)


@require_POST
@volunteer_page
def tour_answer(request: HttpRequest, item_id: int) -> HttpResponse:
    item = TrainingItem.objects.select_related("project").filter(pk=item_id).first()
    if item is None or not item.is_practice or not item.is_active:
        raise Http404(_("No such practice task."))
    spec = get_kind(item.kind)
    if spec is None:
        raise Http404(_("This kind of task is not offered any more."))
    user = _user(request)
    values: dict[str, Any] = {}
    try:
        payload, values = spec.from_form(request.POST)
        outcome = practice_answer(user=user, item_id=item.pk, payload=payload)
    except ArborError as error:
        _next, done, total = practice_next(user=user, project=item.project, lang=item.lang)
        return _render_practice(
            request,
            item,
            done=done,
            total=total,
            lang=item.lang,
            values=values,
            errors=shown_errors(error),
            status=web_status(error),
        )
    _next, done, total = practice_next(user=user, project=item.project, lang=item.lang)
    return render(
        request,
        "web/practice_result.html",
        {
            "item": item,
            "project": item.project,
            "kind": item.kind,
            "kind_title": kind_title(item.kind),
            "is_correct": outcome.score.is_correct,
            "is_reply": bool(item.answer_text),
            "known": _known_answer(item, spec, outcome.score),
            "done": done,
            "total": total,
            "next_url": f"{reverse('web:tour-practice')}?{_query(item.project, item.lang)}",
        },
    )


# --- Qualification ----------------------------------------------------------------------


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug, is_active=True).first()
    if project is None:
        raise Http404(_("No such project."))
    return project


def _qualification_url(project: Project, kind: str, lang: str) -> str:
    return f"{reverse('web:qualification', args=[project.slug, kind])}?lang={lang}"


@require_GET
@volunteer_page
def qualification(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """Why a kind is locked and how to unlock it; during an attempt, its next item."""
    project = _project(slug)
    spec = get_kind(kind)
    if spec is None:
        raise Http404(_("No such kind of task."))
    user = _user(request)
    languages = languages_for(project=project, user=user)
    lang = request.GET.get("lang", "")
    lang = lang if lang in languages else languages[0]
    rule = qualification_rule(project, kind)
    attempt = qualification_open_attempt(user=user, project=project, kind=kind)
    if attempt is not None:
        item = qualification_next_item(attempt)
        if item is not None:
            context = _item_context(request, item, spec)
            context.update(
                step=attempt.answered + 1,
                total=attempt.items_required,
                lang=attempt.lang,
                action=reverse("web:qualification-answer", args=[project.slug, kind]),
                mode="qualification",
                attempt=attempt,
            )
            return render(request, "web/practice.html", context)
    last = qualification_last_attempt(user=user, project=project, kind=kind)
    context = {
        "project": project,
        "kind": kind,
        "kind_title": kind_title(kind),
        "lang": lang,
        "rule": rule,
        "min_percent": round(100 * float(rule["min_accuracy"])) if rule else 0,
        "is_locked": bool(kinds_locked(user, project, [kind])),
        "pause": gold_pause_of(user=user, project=project, kind=kind),
        "pause_percent": round(100 * project.gold_min_accuracy),
        "last": last,
        "gold_available": gold_items(project=project, lang=lang, kind=kind).count(),
    }
    return render(request, "web/qualification.html", context)


@require_POST
@volunteer_page
def qualification_begin(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    project = _project(slug)
    lang = request.POST.get("lang", "")
    try:
        qualification_start(user=_user(request), project=project, kind=kind, lang=lang)
    except ArborError as error:
        messages.error(request, shown_errors(error).general or error.detail)
    return redirect(_qualification_url(project, kind, lang))


@require_POST
@volunteer_page
def qualification_submit(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    project = _project(slug)
    spec = get_kind(kind)
    user = _user(request)
    attempt = qualification_open_attempt(user=user, project=project, kind=kind)
    if spec is None or attempt is None:
        return redirect(_qualification_url(project, kind, request.POST.get("lang", "")))
    raw_item = str(request.POST.get("item", ""))
    item_id = int(raw_item) if raw_item.isdigit() and len(raw_item) < 19 else 0
    values: dict[str, Any] = {}
    try:
        payload, values = spec.from_form(request.POST)
        finished: QualificationAttempt = qualification_answer(
            user=user, attempt_id=attempt.pk, item_id=item_id, payload=payload
        )
    except ArborError as error:
        item = qualification_next_item(attempt)
        if item is None or error.status_code != 400:
            messages.error(request, error.detail)
            return redirect(_qualification_url(project, kind, attempt.lang))
        context = _item_context(request, item, spec, values=values, errors=shown_errors(error))
        context.update(
            step=attempt.answered + 1,
            total=attempt.items_required,
            lang=attempt.lang,
            action=reverse("web:qualification-answer", args=[project.slug, kind]),
            mode="qualification",
            attempt=attempt,
        )
        return render(request, "web/practice.html", context, status=web_status(error))
    if finished.finished_at is not None:
        if finished.is_passed:
            messages.success(request, _("Passed: this kind of task is open to you now."))
        else:
            messages.error(
                request, _("Not passed this time. Look at the guidelines and try again.")
            )
    return redirect(_qualification_url(project, kind, attempt.lang))
