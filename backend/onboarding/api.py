"""REST endpoints for training items (researchers and admins write them; docs/api.md).

- ``GET/POST /api/v1/projects/{slug}/training-items``: a project's items; add one (201)
- ``GET/PATCH /api/v1/training-items/{id}``: one item; change it (``is_active: false``
  retires it)
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
from backend.common.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from backend.common.permissions import IsNotBanned, has_role
from backend.onboarding import services
from backend.onboarding.models import TrainingItem, TrainingUse
from backend.onboarding.selectors import training_items_of
from backend.projects.models import Project

ROLE_CHOICES = ("prompter", "assistant")


class IsResearcher(BasePermission):
    message = "Only researchers and admins manage training items."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, "researcher")


PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcher]


class TrainingTurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)
    text = StrictCharField(max_length=20_000)


class TrainingItemInput(serializers.Serializer):
    kind = StrictCharField(
        max_length=64, help_text="a review, ranking or (practice only) reply kind"
    )
    lang = StrictCharField(max_length=16)
    use = serializers.ChoiceField(choices=TrainingUse.choices, required=False)
    conversation = TrainingTurnSerializer(
        many=True, help_text="root first; a review asks about the last"
    )
    candidates = TrainingTurnSerializer(
        many=True, required=False, help_text="rankings: the replies"
    )
    answer_labels = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=1),
        required=False,
        help_text="reviews: the known label values",
    )
    answer_ranking = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        required=False,
        help_text="rankings: candidate numbers (1 = first written), best first",
    )
    answer_text = StrictCharField(
        max_length=20_000,
        required=False,
        allow_blank=True,
        help_text="reply kinds: an example of a good reply, shown after a practice answer",
    )
    explanation = StrictCharField(
        max_length=services.MAX_EXPLANATION, required=False, allow_blank=True
    )
    is_active = StrictBooleanField(required=False)


class TrainingItemPatchInput(TrainingItemInput):
    kind = StrictCharField(max_length=64, required=False)
    lang = StrictCharField(max_length=16, required=False)
    conversation = TrainingTurnSerializer(many=True, required=False)


class TrainingItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.SlugField()
    kind = serializers.CharField()
    lang = serializers.CharField()
    use = serializers.ChoiceField(choices=TrainingUse.choices)
    conversation = TrainingTurnSerializer(many=True)
    candidates = TrainingTurnSerializer(many=True)
    answer_labels = serializers.DictField(child=serializers.FloatField())
    answer_ranking = serializers.ListField(child=serializers.IntegerField())
    answer_text = serializers.CharField()
    explanation = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def render_item(item: TrainingItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "project": item.project.slug,
        "kind": item.kind,
        "lang": item.lang,
        "use": item.use,
        "conversation": item.conversation,
        "candidates": item.candidates,
        "answer_labels": item.answer_labels,
        "answer_ranking": item.answer_ranking,
        "answer_text": item.answer_text,
        "explanation": item.explanation,
        "is_active": item.is_active,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


def _item(item_id: int) -> TrainingItem:
    item = TrainingItem.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise NotFound("training_item_not_found", "No such training item.")
    return item


class ProjectTrainingItemsView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=TrainingItemOutput(many=True), summary="A project's training items")
    def get(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        items = training_items_of(project=project).select_related("project")
        return Response([render_item(item) for item in items])

    @extend_schema(
        request=TrainingItemInput,
        responses={201: TrainingItemOutput},
        summary="Add a practice or gold item",
    )
    def post(self, request: Request, slug: str) -> Response:
        project = _project(slug)
        data = TrainingItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.training_item_create(
            project=project, data=data.validated_data, actor_id=request.user.pk
        )
        return Response(render_item(item), status=201)


class TrainingItemDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=TrainingItemOutput, summary="One training item")
    def get(self, request: Request, training_item_id: int) -> Response:
        return Response(render_item(_item(training_item_id)))

    @extend_schema(
        request=TrainingItemPatchInput,
        responses=TrainingItemOutput,
        summary="Change or retire a training item",
    )
    def patch(self, request: Request, training_item_id: int) -> Response:
        _item(training_item_id)
        data = TrainingItemPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.training_item_update(
            item_id=training_item_id, changes=data.validated_data, actor_id=request.user.pk
        )
        return Response(render_item(_item(training_item_id)))
