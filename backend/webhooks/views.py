"""The webhooks pages (researchers and admins): every project's webhooks with a form to
add one, and one webhook with its secret, its switches and its delivery log. Forms post
back to the page and redirect (post/redirect/get); the changes go through the same
services as the API, so each is audited."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.page_permissions import role_page
from backend.common.errors import ArborError
from backend.projects.models import Project
from backend.webhooks import selectors, services
from backend.webhooks.models import Webhook, WebhookEvent


def _error_text(error: ArborError) -> str:
    return " ".join(error.details())


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def webhooks_page(request: HttpRequest) -> HttpResponse:
    projects = list(Project.objects.order_by("name"))
    if request.method == "POST":
        project = next((p for p in projects if p.slug == request.POST.get("project")), None)
        if project is None:
            messages.error(request, _("Choose a project."))
        else:
            try:
                webhook = services.webhook_create(
                    project=project,
                    url=request.POST.get("url", "").strip(),
                    events=request.POST.getlist("events"),
                    actor_id=request.user.pk,
                )
            except ArborError as error:
                messages.error(request, _error_text(error))
            else:
                messages.success(request, _("Webhook added. Its secret is on its page."))
                return HttpResponseRedirect(reverse("webhooks:detail", args=[webhook.pk]))
        return HttpResponseRedirect(reverse("webhooks:page"))
    webhooks = Webhook.objects.select_related("project").order_by("project__name", "id")
    return render(
        request,
        "webhooks/index.html",
        {"projects": projects, "webhooks": webhooks, "events": WebhookEvent.choices},
    )


ACTIONS = ("test", "enable", "disable", "delete", "redeliver", "events")


@require_http_methods(["GET", "POST"])
@role_page("researcher")
def webhook_page(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = Webhook.objects.select_related("project").filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404(_("No such webhook."))
    here = reverse("webhooks:detail", args=[webhook.pk])
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "test":
                services.webhook_send_test(webhook_id=webhook.pk, actor_id=request.user.pk)
                messages.success(request, _("A test event is on its way."))
            elif action in ("enable", "disable"):
                services.webhook_update(
                    webhook_id=webhook.pk, actor_id=request.user.pk, is_active=action == "enable"
                )
                messages.success(request, _("Saved."))
            elif action == "events":
                services.webhook_update(
                    webhook_id=webhook.pk,
                    actor_id=request.user.pk,
                    events=request.POST.getlist("events"),
                )
                messages.success(request, _("Saved."))
            elif action == "redeliver":
                delivery_id = int(request.POST.get("delivery", "0") or 0)
                if not webhook.deliveries.filter(pk=delivery_id).exists():
                    raise Http404(_("No such delivery."))
                services.delivery_redeliver(delivery_id=delivery_id, actor_id=request.user.pk)
                messages.success(request, _("The delivery will be sent again."))
            elif action == "delete":
                services.webhook_delete(webhook_id=webhook.pk, actor_id=request.user.pk)
                messages.success(request, _("Webhook deleted."))
                return HttpResponseRedirect(reverse("webhooks:page"))
            else:
                messages.error(request, _("Unknown action."))
        except ArborError as error:
            messages.error(request, _error_text(error))
        except ValueError:
            messages.error(request, _("Unknown action."))
        return HttpResponseRedirect(here)
    return render(
        request,
        "webhooks/detail.html",
        {
            "webhook": webhook,
            "deliveries": selectors.deliveries_of(webhook.pk),
            "events": WebhookEvent.choices,
        },
    )
