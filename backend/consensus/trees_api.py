"""Trees and messages as the API shows them: with their consensus (scores, ranking
groups), so these views live in the consensus layer, above the trees they read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.consensus.api import MessageConsensusSerializer, RankingGroupSerializer
from backend.consensus.selectors import message_consensus_extras, tree_ranking_groups
from backend.quality.api import QualityOutput
from backend.quality.selectors import quality_payloads
from backend.trees.api import MessageSerializer
from backend.trees.models import Message
from backend.trees.selectors import can_see_authors, can_see_deleted_text, tree_with_messages


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


class TreeMessageWithQualitySerializer(TreeMessageSerializer):
    """The schema of a message in the answers: ``quality`` only for moderators,
    researchers and admins (added by ``with_quality``, never read from the model)."""

    quality = QualityOutput(required=False)

    class Meta(TreeMessageSerializer.Meta):
        fields = [*TreeMessageSerializer.Meta.fields, "quality"]


class MessageDetailSerializer(TreeMessageWithQualitySerializer):
    consensus = MessageConsensusSerializer()

    class Meta(TreeMessageWithQualitySerializer.Meta):
        fields = [*TreeMessageWithQualitySerializer.Meta.fields, "consensus"]


class TreeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    lang = serializers.CharField()
    state = serializers.CharField()
    messages = TreeMessageWithQualitySerializer(many=True)
    ranking_groups = RankingGroupSerializer(many=True)


def with_quality(rows: Any, *, show: bool) -> Any:
    """Adds the ``quality`` contract object to each serialised message (one query for
    all) when ``show``: quality signals are for moderators, researchers and admins,
    the roles that see authors; volunteers get the messages without the key."""
    if rows and show:
        payloads = quality_payloads([row["id"] for row in rows])
        for row in rows:
            row["quality"] = payloads[row["id"]]
    return rows


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
            "hide_models": True,
            "scores": {pk: extra["score"] for pk, extra in extras.items()},
        }
        return Response(
            {
                "id": tree.pk,
                "project": tree.project.slug,
                "lang": tree.lang,
                "state": tree.state,
                "messages": with_quality(
                    TreeMessageSerializer(rows, many=True, context=context).data,
                    show=bool(context["show_authors"]),
                ),
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
            "hide_models": True,
            "scores": {message.pk: extras["score"]},
        }
        data = TreeMessageSerializer(message, context=context).data
        data["consensus"] = MessageConsensusSerializer(extras).data
        with_quality([data], show=bool(context["show_authors"]))
        return Response(data)
