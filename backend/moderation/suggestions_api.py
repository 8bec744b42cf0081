"""Authors edit their own messages (``PATCH /messages/{id}``) or suggest an edit;
moderators accept or decline suggestions. Rules in ``backend.moderation.suggestions``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.api import actor_id
from backend.common.fields import StrictCharField
from backend.consensus.trees_api import MessageDetailView
from backend.moderation.api import MODERATOR_PERMISSIONS
from backend.moderation.models import EditSuggestion
from backend.moderation.suggestions import (
    REASON_MAX_LENGTH,
    edit_suggestion_accept,
    edit_suggestion_create,
    edit_suggestion_decline,
    message_edit_own,
)
from backend.trees.models import Message


class OwnEditInputSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True)


class OwnEditOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    changed = serializers.BooleanField(help_text="false when the text was already this")
    revisions = serializers.IntegerField(help_text="versions kept (0 for an unedited message)")


def render_own_edit(message: Message, changed: bool) -> dict[str, Any]:
    return {
        "id": message.pk,
        "text": message.text,
        "changed": changed,
        "revisions": message.revisions.count(),
    }


class MessageDetailEditView(MessageDetailView):
    """``GET`` one message (consensus's view); ``PATCH`` its text as its author."""

    @extend_schema(
        request=OwnEditInputSerializer,
        responses=OwnEditOutputSerializer,
        summary="Edit my own message",
        description=(
            "The author may edit while nobody has reviewed the message, or within the "
            "project's own_edit_window_minutes. Later: 409 edit_window_closed, suggest "
            "the edit instead. Sending the current text again changes nothing."
        ),
    )
    def patch(self, request: Request, message_id: int) -> Response:
        data = OwnEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message, changed = message_edit_own(
            message_id=message_id, user_id=actor_id(request), text=data.validated_data["text"]
        )
        return Response(render_own_edit(message, changed))


class SuggestionInputSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    reason = StrictCharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, default=""
    )


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.IntegerField()
    text = serializers.CharField()
    reason = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


def render_suggestion(suggestion: EditSuggestion) -> dict[str, Any]:
    return {
        "id": suggestion.pk,
        "message_id": suggestion.message_id,
        "text": suggestion.text,
        "reason": suggestion.reason,
        "state": suggestion.state,
        "created_at": suggestion.created_at,
        "decided_at": suggestion.decided_at,
    }


class MessageSuggestionsView(APIView):
    @extend_schema(
        request=SuggestionInputSerializer,
        responses={201: SuggestionSerializer, 200: SuggestionSerializer},
        summary="Suggest an edit of my own message",
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = SuggestionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion, created = edit_suggestion_create(
            message_id=message_id,
            user_id=actor_id(request),
            text=data.validated_data["text"],
            reason=data.validated_data["reason"],
        )
        return Response(render_suggestion(suggestion), status=201 if created else 200)


class DecisionInputSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class SuggestionDecisionView(APIView):
    permission_classes = MODERATOR_PERMISSIONS
    decision = "accept"

    @extend_schema(
        request=DecisionInputSerializer,
        responses=SuggestionSerializer,
        summary="Accept or decline a suggested edit",
    )
    def post(self, request: Request, message_id: int, suggestion_id: int) -> Response:
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = edit_suggestion_accept if self.decision == "accept" else edit_suggestion_decline
        suggestion = decide(
            message_id=message_id,
            suggestion_id=suggestion_id,
            moderator_id=actor_id(request),
            note=data.validated_data["note"],
        )
        return Response(render_suggestion(suggestion))
