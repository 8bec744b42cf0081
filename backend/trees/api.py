from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.api import actor_id
from backend.common.errors import NotFound
from backend.consensus.api import MessageConsensusSerializer, RankingGroupSerializer
from backend.consensus.selectors import message_consensus_extras, tree_ranking_groups
from backend.trees.models import Emoji, Message
from backend.trees.selectors import can_see_authors, can_see_deleted_text, tree_with_messages
from backend.trees.services import message_react, reaction_counts


class MessageSerializer(serializers.ModelSerializer):
    """A message. ``text`` is null for a deleted message unless
    ``context["show_deleted_text"]`` (moderators and admins)."""

    text = serializers.CharField(allow_null=True)
    tree_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    deleted = serializers.BooleanField(source="is_deleted")
    model_name = serializers.CharField(allow_null=True)
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
        return data


class TreeMessageSerializer(MessageSerializer):
    """A message as the tree and message endpoints show it: with its consensus score
    (``context["scores"]``: Plackett–Luce log-strength among its siblings, null when
    unranked)."""

    score = serializers.SerializerMethodField()

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "score"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_score(self, instance: Message) -> float | None:
        return self.context.get("scores", {}).get(instance.pk)


class MessageDetailSerializer(TreeMessageSerializer):
    consensus = MessageConsensusSerializer()

    class Meta(TreeMessageSerializer.Meta):
        fields = [*TreeMessageSerializer.Meta.fields, "consensus"]


class TreeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    lang = serializers.CharField()
    state = serializers.CharField()
    messages = TreeMessageSerializer(many=True)
    ranking_groups = RankingGroupSerializer(many=True)


class TreeDetailView(APIView):
    @extend_schema(responses=TreeSerializer, summary="A tree with every message")
    def get(self, request: Request, tree_id: int) -> Response:
        found = tree_with_messages(tree_id=tree_id)
        if found is None:
            raise NotFound("tree_not_found", "No such tree.")
        tree, messages = found
        rows = list(messages)
        extras = message_consensus_extras([message.pk for message in rows])
        context = {
            "show_authors": can_see_authors(request.user),  # type: ignore[arg-type]
            "show_deleted_text": can_see_deleted_text(request.user),  # type: ignore[arg-type]
            "scores": {pk: extra["score"] for pk, extra in extras.items()},
        }
        return Response(
            {
                "id": tree.pk,
                "project": tree.project.slug,
                "lang": tree.lang,
                "state": tree.state,
                "messages": TreeMessageSerializer(rows, many=True, context=context).data,
                "ranking_groups": RankingGroupSerializer(
                    tree_ranking_groups(tree_id=tree.pk), many=True
                ).data,
            }
        )


class MessageDetailView(APIView):
    @extend_schema(responses=MessageDetailSerializer, summary="One message")
    def get(self, request: Request, message_id: int) -> Response:
        message = Message.objects.filter(pk=message_id).first()
        if message is None:
            raise NotFound("message_not_found", "No such message.")
        extras = message_consensus_extras([message.pk])[message.pk]
        context = {
            "show_authors": can_see_authors(request.user),  # type: ignore[arg-type]
            "show_deleted_text": can_see_deleted_text(request.user),  # type: ignore[arg-type]
            "scores": {message.pk: extras["score"]},
        }
        data = TreeMessageSerializer(message, context=context).data
        data["consensus"] = MessageConsensusSerializer(extras).data
        return Response(data)


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
