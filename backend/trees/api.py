from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.api import actor_id
from backend.trees.models import Emoji, Message
from backend.trees.services import message_react, reaction_counts


class MessageSerializer(serializers.ModelSerializer):
    """A message. ``text`` is null for a deleted message unless
    ``context["show_deleted_text"]`` (moderators and admins)."""

    text = serializers.CharField(allow_null=True)
    tree_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    deleted = serializers.BooleanField(source="is_deleted")
    synthetic = serializers.BooleanField(
        required=False, help_text="in trees and messages: moderators, researchers and admins only"
    )
    model_name = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="in trees and messages: moderators, researchers and admins only",
    )
    author_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="moderators, researchers and admins only"
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "tree_id",
            "parent_id",
            "role",
            "text",
            "lang",
            "depth",
            "review_count",
            "review_result",
            "rank",
            "deleted",
            "synthetic",
            "model_name",
            "created_at",
            "author_id",
        ]

    def to_representation(self, instance: Message) -> dict:  # type: ignore[type-arg]
        data = super().to_representation(instance)
        data["model_name"] = instance.model_name or None
        if instance.is_deleted and not self.context.get("show_deleted_text"):
            data["text"] = None
        if not self.context.get("show_authors"):
            del data["author_id"]
            if self.context.get("hide_models"):
                # Volunteers rank model replies beside human ones: who wrote a reply,
                # person or model, is not theirs to know (docs/arena.md).
                del data["synthetic"]
                del data["model_name"]
        return data


class ReactionInputSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=Emoji.choices)


class ReactionOutputSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    emoji = serializers.CharField()
    created = serializers.BooleanField()
    emojis = serializers.DictField(child=serializers.IntegerField())


class MessageReactionView(APIView):
    @extend_schema(
        request=ReactionInputSerializer,
        responses={201: ReactionOutputSerializer, 200: ReactionOutputSerializer},
        summary="React to a message (+1, -1, red_flag)",
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = ReactionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        emoji = data.validated_data["emoji"]
        message, created = message_react(
            message_id=message_id, user_id=actor_id(request), emoji=emoji
        )
        body = {
            "message_id": message.pk,
            "emoji": emoji,
            "created": created,
            "emojis": reaction_counts([message.pk]).get(message.pk, {}),
        }
        return Response(body, status=201 if created else 200)
