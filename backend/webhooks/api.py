"""REST endpoints for a project's webhooks (researchers and admins).

- ``GET/POST /api/v1/projects/{slug}/webhooks``: list; create (201, with the secret)
- ``GET/PATCH/DELETE /api/v1/webhooks/{id}``
- ``POST /api/v1/webhooks/{id}/test``: a ``ping`` delivery (202)
- ``GET /api/v1/webhooks/{id}/deliveries``: the newest 50, each with its tries
- ``POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`` (202)
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.common.permissions import IsNotBanned, has_role
from backend.projects.models import Project
from backend.webhooks import selectors, services
from backend.webhooks.models import Delivery, Webhook, WebhookEvent


class IsResearcher(BasePermission):
    message = "Only researchers and admins manage webhooks."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, "researcher")


PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcher]


class WebhookInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )


class WebhookPatchInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        required=False,
    )
    is_active = serializers.BooleanField(required=False)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.SlugField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    secret = serializers.CharField(help_text="signs every delivery (HMAC-SHA256)")
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AttemptOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)
    response_excerpt = serializers.CharField()
    error = serializers.CharField()


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField(help_text="the delivery id receivers deduplicate on")
    event = serializers.CharField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.DictField()
    tries = AttemptOutput(many=True)


def render_webhook(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.pk,
        "project": webhook.project.slug,
        "url": webhook.url,
        "events": webhook.events,
        "secret": webhook.secret,
        "is_active": webhook.is_active,
        "disabled_reason": webhook.disabled_reason,
        "consecutive_failures": webhook.consecutive_failures,
        "created_at": webhook.created_at,
    }


def render_delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "event": delivery.event,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "payload": delivery.payload,
        "tries": [
            {
                "at": attempt.at,
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "response_excerpt": attempt.response_excerpt,
                "error": attempt.error,
            }
            for attempt in delivery.tries.all()
        ],
    }


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


def _webhook(webhook_id: int) -> Webhook:
    webhook = Webhook.objects.select_related("project").filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound("webhook_not_found", "No such webhook.")
    return webhook


class ProjectWebhooksView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=WebhookOutput(many=True), summary="A project's webhooks")
    def get(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        webhooks = selectors.webhooks_of(project.pk).select_related("project")
        return Response([render_webhook(webhook) for webhook in webhooks])

    @extend_schema(request=WebhookInput, responses={201: WebhookOutput}, summary="Add a webhook")
    def post(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = services.webhook_create(
            project=project,
            url=data.validated_data["url"],
            events=data.validated_data["events"],
            actor_id=request.user.pk,
        )
        return Response(render_webhook(webhook), status=201)


class WebhookDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=WebhookOutput, summary="One webhook")
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(render_webhook(_webhook(webhook_id)))

    @extend_schema(request=WebhookPatchInput, responses=WebhookOutput, summary="Change a webhook")
    def patch(self, request: Request, webhook_id: int) -> Response:
        _webhook(webhook_id)
        data = WebhookPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.webhook_update(
            webhook_id=webhook_id, actor_id=request.user.pk, **data.validated_data
        )
        return Response(render_webhook(_webhook(webhook_id)))

    @extend_schema(request=None, responses={204: None}, summary="Delete a webhook")
    def delete(self, request: Request, webhook_id: int) -> Response:
        services.webhook_delete(webhook_id=webhook_id, actor_id=request.user.pk)
        return Response(status=204)


class WebhookTestView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(request=None, responses={202: DeliveryOutput}, summary="Send a test event")
    def post(self, request: Request, webhook_id: int) -> Response:
        delivery = services.webhook_send_test(webhook_id=webhook_id, actor_id=request.user.pk)
        return Response(render_delivery(delivery), status=202)


class WebhookDeliveriesView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=DeliveryOutput(many=True), summary="A webhook's newest deliveries")
    def get(self, request: Request, webhook_id: int) -> Response:
        _webhook(webhook_id)
        return Response([render_delivery(d) for d in selectors.deliveries_of(webhook_id)])


class DeliveryRedeliverView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(request=None, responses={202: DeliveryOutput}, summary="Send a delivery again")
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        if not Delivery.objects.filter(pk=delivery_id, webhook_id=webhook_id).exists():
            raise NotFound("delivery_not_found", "No such delivery.")
        delivery = services.delivery_redeliver(delivery_id=delivery_id, actor_id=request.user.pk)
        return Response(render_delivery(delivery), status=202)
