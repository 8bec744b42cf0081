"""Consensus in the REST API: serializers the tree and message endpoints embed, and
the agreement history of a project."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound, ValidationFailed
from backend.consensus.selectors import agreement_history
from backend.projects.models import Project


class RankingGroupSerializer(serializers.Serializer):
    """The consensus of one sibling group (the replies to ``parent_id``)."""

    parent_id = serializers.IntegerField()
    order = serializers.ListField(child=serializers.IntegerField(), help_text="best first")
    scores = serializers.ListField(
        child=serializers.FloatField(),
        help_text="Plackett–Luce log-strength of each reply of ``order``, zero-centred",
    )
    confidence = serializers.FloatField(
        allow_null=True, help_text="smallest locked ranked-pairs margin / voters (0…1)"
    )
    min_locked_margin = serializers.IntegerField(allow_null=True)
    voter_count = serializers.IntegerField()
    tie_resolved = serializers.BooleanField()
    kendalls_w = serializers.FloatField(allow_null=True)
    algorithm = serializers.CharField(help_text="name/version of the ordering rule")
    score_algorithm = serializers.CharField(help_text="name/version of the score model")
    computed_at = serializers.DateTimeField()


class LabelAggregateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["flag", "likert"])
    count = serializers.IntegerField()
    mean = serializers.FloatField()
    ci_low = serializers.FloatField(help_text="95 % interval (Wilson for flags, t for Likert)")
    ci_high = serializers.FloatField()
    posterior = serializers.FloatField(required=False, help_text="flags: P(true)")
    posterior_method = serializers.CharField(
        required=False, help_text="dawid_skene, majority or gold"
    )


class AcceptanceSerializer(serializers.Serializer):
    rule = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    is_accepted = serializers.BooleanField(allow_null=True)


class MessageConsensusSerializer(serializers.Serializer):
    score = serializers.FloatField(
        allow_null=True, help_text="Plackett–Luce log-strength among its siblings"
    )
    rank = serializers.IntegerField(
        allow_null=True, help_text="position in the group's ranked pairs order (0 = best)"
    )
    rank_confidence = serializers.FloatField(
        allow_null=True, help_text="the group's smallest locked margin / voters (0…1)"
    )
    ranking_voters = serializers.IntegerField(allow_null=True)
    min_locked_margin = serializers.IntegerField(allow_null=True)
    tie_resolved = serializers.BooleanField(allow_null=True)
    kendalls_w = serializers.FloatField(allow_null=True, help_text="the group's Kendall's W")
    ranking_algorithm = serializers.CharField(allow_null=True, help_text="name/version")
    score_algorithm = serializers.CharField(allow_null=True, help_text="name/version")
    labels = serializers.DictField(child=LabelAggregateSerializer())
    acceptance = AcceptanceSerializer(allow_null=True)
    label_algorithm = serializers.CharField(allow_null=True, help_text="name/version")


class AgreementMetricsSerializer(serializers.Serializer):
    alpha = serializers.FloatField(allow_null=True, help_text="Krippendorff's alpha")
    level = serializers.CharField()
    pairwise_agreement = serializers.FloatField(allow_null=True)
    units = serializers.IntegerField()
    judgements = serializers.IntegerField()
    kendalls_w = serializers.FloatField(
        allow_null=True, help_text="mean Kendall's W of the groups (rankings; null for labels)"
    )


class AgreementSnapshotSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    labels = serializers.DictField(
        child=serializers.DictField(child=AgreementMetricsSerializer()),
        help_text="label → task kind (or 'all') → metrics",
    )
    rankings = serializers.DictField(
        child=AgreementMetricsSerializer(), help_text="task kind (or 'all') → metrics"
    )


class ProjectAgreementView(APIView):
    @extend_schema(
        responses=AgreementSnapshotSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="ISO time; only snapshots from then on"
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                description="newest snapshots to return (1 to 1000; 100 if absent)",
            ),
        ],
        summary="Agreement of a project over time (one snapshot per rescore)",
    )
    def get(self, request: Request, slug: str) -> Response:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise NotFound("project_not_found", "No such project.")
        since_field = serializers.DateTimeField(required=False)
        since = None
        # Present but empty (``since=``) is not a time: refused like any other bad one.
        if "since" in request.query_params:
            try:
                since = since_field.to_internal_value(request.query_params["since"])
            except serializers.ValidationError as error:
                raise ValidationFailed("since", "invalid", "since is an ISO 8601 time.") from error
        try:
            limit = int(request.query_params.get("limit", 100))
        except ValueError as error:
            raise ValidationFailed("limit", "invalid", "limit is a whole number.") from error
        if not 1 <= limit <= 1000:
            raise ValidationFailed("limit", "out_of_range", "limit lies between 1 and 1000.")
        history = agreement_history(project=project, since=since, limit=limit)
        return Response(AgreementSnapshotSerializer(history, many=True).data)
