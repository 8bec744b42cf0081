"""Moderation endpoints (moderators and admins; reports by any signed-in user)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.accounts.serializers import UserSerializer, render_user
from backend.assignments.halting import tree_halt, tree_resume
from backend.common.api import actor_id
from backend.common.errors import NotFound
from backend.common.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from backend.common.permissions import IsModerator, IsNotBanned
from backend.common.query import (
    ChoiceFilter,
    IntegerFilter,
    QueryParameters,
    TextFilter,
    query_parameters,
)
from backend.consensus.services.trees import tree_retry_scoring
from backend.moderation import curation, selectors, services
from backend.moderation.models import QueueItem, QueueReason, ReportReason, UserNote
from backend.trees.api import MessageSerializer
from backend.trees.models import Message, Tree

MODERATOR_PERMISSIONS = [IsAuthenticated, IsModerator, IsNotBanned]


class ReasonInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class TreeStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    lang = serializers.CharField()
    state = serializers.CharField()
    halted_from_state = serializers.CharField()


def render_tree(tree: Tree) -> dict[str, Any]:
    return {
        "id": tree.pk,
        "project": tree.project.slug,
        "lang": tree.lang,
        "state": tree.state,
        "halted_from_state": tree.halted_from_state,
    }


def render_message(message: Message) -> dict[str, Any]:
    # Moderators only: they see authors and what a deleted message said.
    context = {"show_authors": True, "show_deleted_text": True}
    return dict(MessageSerializer(message, context=context).data)


def _reason(request: Request) -> str:
    data = ReasonInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return str(data.validated_data["reason"])


class TreeActionView(APIView):
    """POST /trees/{id}/halt|resume|abort|reopen|retry-scoring with {"reason"} → 200 the tree."""

    permission_classes = MODERATOR_PERMISSIONS
    action_name = ""

    @extend_schema(request=ReasonInputSerializer, responses=TreeStateSerializer)
    def post(self, request: Request, tree_id: int) -> Response:
        reason = _reason(request)
        if not Tree.objects.filter(pk=tree_id).exists():
            raise NotFound("tree_not_found", "No such tree.")
        actions = {
            "halt": tree_halt,
            "resume": tree_resume,
            "abort": curation.tree_abort,
            "reopen": curation.tree_reopen,
            "retry-scoring": tree_retry_scoring,
        }
        tree = actions[self.action_name](tree_id=tree_id, actor_id=actor_id(request), reason=reason)
        tree = Tree.objects.select_related("project").get(pk=tree.pk)
        return Response(render_tree(tree))


class MessageActionView(APIView):
    """POST /messages/{id}/delete|undelete with {"reason"} → 200 the message."""

    permission_classes = MODERATOR_PERMISSIONS
    action_name = ""

    @extend_schema(request=ReasonInputSerializer, responses=MessageSerializer)
    def post(self, request: Request, message_id: int) -> Response:
        reason = _reason(request)
        action = (
            curation.message_delete if self.action_name == "delete" else curation.message_undelete
        )
        message = action(message_id=message_id, actor_id=actor_id(request), reason=reason)
        return Response(render_message(message))


@extend_schema_field({"type": "string", "minLength": 1, "pattern": r"\S"})
class EditTextField(StrictCharField):
    """The new text: blank (or only whitespace) is refused with the code ``blank`` by
    ``message_edit``; the schema says so (at least one character that is not a space)."""


class EditInputSerializer(serializers.Serializer):
    text = EditTextField(trim_whitespace=False)
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class MessageEditView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        request=EditInputSerializer, responses=MessageSerializer, summary="Edit a message's text"
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = EditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = curation.message_edit(
            message_id=message_id,
            actor_id=actor_id(request),
            text=data.validated_data["text"],
            reason=data.validated_data["reason"],
        )
        return Response(render_message(message))


class RevertInputSerializer(serializers.Serializer):
    revision = StrictIntegerField()
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class MessageRevertView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        request=RevertInputSerializer, responses=MessageSerializer, summary="Revert to a revision"
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = RevertInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = curation.message_revert(
            message_id=message_id,
            revision_id=data.validated_data["revision"],
            actor_id=actor_id(request),
            reason=data.validated_data["reason"],
        )
        return Response(render_message(message))


class RevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()
    editor_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_current = serializers.BooleanField()


class MessageRevisionsView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(responses=RevisionSerializer(many=True), summary="Every version, oldest first")
    def get(self, request: Request, message_id: int) -> Response:
        revisions = curation.message_revisions(message_id=message_id)
        last = len(revisions) - 1
        return Response(
            [
                {
                    "id": revision.pk,
                    "text": revision.text,
                    "editor_id": revision.editor_id,
                    "reason": revision.reason,
                    "created_at": revision.created_at,
                    "is_current": index == last,
                }
                for index, revision in enumerate(revisions)
            ]
        )


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    text = StrictCharField(required=False, allow_blank=True, max_length=5000, default="")


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.IntegerField()
    reason = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class MessageReportView(APIView):
    """Any signed-in volunteer may report a message (once)."""

    @extend_schema(
        request=ReportInputSerializer, responses={201: ReportOutputSerializer}, summary="Report"
    )
    def post(self, request: Request, message_id: int) -> Response:
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_create(
            message_id=message_id,
            reporter_id=actor_id(request),
            reason=data.validated_data["reason"],
            text=data.validated_data["text"],
        )
        body = {
            "id": report.pk,
            "message_id": report.message_id,
            "reason": report.reason,
            "text": report.text,
            "created_at": report.created_at,
        }
        return Response(ReportOutputSerializer(body).data, status=201)


class BanInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")
    hide_messages = StrictBooleanField(required=False, default=False)


class UserBanView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(request=BanInputSerializer, responses=UserSerializer, summary="Ban a user")
    def post(self, request: Request, user_id: int) -> Response:
        data = BanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_ban(
            user_id=user_id,
            actor_id=actor_id(request),
            reason=data.validated_data["reason"],
            hide_messages=data.validated_data["hide_messages"],
        )
        return Response(render_user(user))


class UserUnbanView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(request=ReasonInputSerializer, responses=UserSerializer, summary="Lift a ban")
    def post(self, request: Request, user_id: int) -> Response:
        user = services.user_unban(
            user_id=user_id, actor_id=actor_id(request), reason=_reason(request)
        )
        return Response(render_user(user))


class NoteInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=5000)


class NoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author_id = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


def render_note(note: UserNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "author_id": note.author_id,
        "text": note.text,
        "created_at": note.created_at,
    }


class UserNotesView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(responses=NoteSerializer(many=True), summary="Moderator notes on a user")
    def get(self, request: Request, user_id: int) -> Response:
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound("user_not_found", "No such user.")
        notes = UserNote.objects.filter(user_id=user_id)
        return Response([NoteSerializer(render_note(note)).data for note in notes])

    @extend_schema(
        request=NoteInputSerializer, responses={201: NoteSerializer}, summary="Add a note"
    )
    def post(self, request: Request, user_id: int) -> Response:
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.user_note_add(
            user_id=user_id, author_id=actor_id(request), text=data.validated_data["text"]
        )
        return Response(NoteSerializer(render_note(note)).data, status=201)


class QueueItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    lang = serializers.CharField()
    reason = serializers.CharField(help_text="The first reason the item was raised for.")
    reason_label = serializers.CharField()
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every reason, first one first (a message has one live item).",
    )
    reason_labels = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField()
    occurrences = serializers.IntegerField()
    details = serializers.DictField()
    tree_id = serializers.IntegerField()
    tree_state = serializers.CharField()
    message = serializers.DictField(allow_null=True)
    claimed_by = serializers.CharField(allow_null=True)
    claim_expires_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


def render_queue_item(item: QueueItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "project": item.project.slug,
        "lang": item.lang,
        "reason": item.reason,
        "reason_label": str(QueueReason(item.reason).label),
        "reasons": item.reasons,
        "reason_labels": [label for _, label in item.reason_labels()],
        "state": item.state,
        "occurrences": item.occurrences,
        "details": item.details,
        "tree_id": item.tree_id,
        "tree_state": item.tree.state,
        "message": render_message(item.message) if item.message is not None else None,
        "claimed_by": item.claimed_by.username if item.claimed_by else None,
        "claim_expires_at": item.claim_expires_at,
        "resolution": item.resolution,
        "note": item.note,
        "created_at": item.created_at,
    }


def _queue_item(item_id: int) -> QueueItem:
    return (
        QueueItem.objects.select_related("project", "message", "tree", "claimed_by")
        .prefetch_related("reason_rows")
        .get(pk=item_id)
    )


class QueueQuery(QueryParameters):
    project = TextFilter()
    lang = TextFilter()
    reason = ChoiceFilter(choices=QueueReason.values)
    state = ChoiceFilter(choices=["open", "claimed", "resolved"])


class QueueView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        parameters=[QueueQuery],
        responses=QueueItemSerializer(many=True),
        summary="The moderation queue (open and claimed items by default)",
    )
    def get(self, request: Request) -> Response:
        query = query_parameters(QueueQuery, request)
        items = selectors.queue_items(
            project_slug=query["project"],
            lang=query["lang"],
            reason=query.get("reason"),
            state=query.get("state"),
        )[:500]
        return Response([render_queue_item(item) for item in items])


class QueueClaimView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(request=None, responses=QueueItemSerializer, summary="Claim a queue item")
    def post(self, request: Request, item_id: int) -> Response:
        item = services.queue_item_claim(item_id=item_id, moderator_id=actor_id(request))
        return Response(render_queue_item(_queue_item(item.pk)))


class QueueReleaseView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(request=None, responses=QueueItemSerializer, summary="Give a claimed item back")
    def post(self, request: Request, item_id: int) -> Response:
        item = services.queue_item_release(item_id=item_id, moderator_id=actor_id(request))
        return Response(render_queue_item(_queue_item(item.pk)))


class NextInputSerializer(serializers.Serializer):
    project = StrictCharField(required=False, allow_blank=True, default="")
    lang = StrictCharField(required=False, allow_blank=True, default="")
    reason = serializers.ChoiceField(
        choices=QueueReason.values, required=False, allow_blank=True, default=""
    )


class QueueNextView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        request=NextInputSerializer,
        responses={200: QueueItemSerializer, 204: None},
        summary="Claim the next item (the one you hold, else the oldest open one)",
    )
    def post(self, request: Request) -> Response:
        data = NextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.queue_item_claim_next(
            moderator_id=actor_id(request),
            project_slug=data.validated_data["project"] or None,
            lang=data.validated_data["lang"] or None,
            reason=data.validated_data["reason"] or None,
        )
        if item is None:
            return Response(status=204)
        return Response(render_queue_item(_queue_item(item.pk)))


class ResolveInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=services.RESOLUTION_ACTIONS)
    note = StrictCharField(required=False, allow_blank=True, max_length=5000, default="")
    hide_messages = StrictBooleanField(required=False, default=False)


class QueueResolveView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        request=ResolveInputSerializer,
        responses=QueueItemSerializer,
        summary="Resolve with an action",
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.queue_item_resolve(
            item_id=item_id,
            moderator_id=actor_id(request),
            action=data.validated_data["action"],
            note=data.validated_data["note"],
            hide_messages=data.validated_data["hide_messages"],
        )
        return Response(render_queue_item(_queue_item(item.pk)))


class AnnotatorQualitySerializer(serializers.Serializer):
    """One person's annotator quality from the last rescore, summed up over projects."""

    projects = serializers.IntegerField()
    ranking_count = serializers.IntegerField()
    label_vote_count = serializers.IntegerField()
    gold_vote_count = serializers.IntegerField()
    is_random = serializers.BooleanField()
    is_position_biased = serializers.BooleanField()
    random_p_value = serializers.FloatField(allow_null=True)
    position_bias_p_value = serializers.FloatField(allow_null=True)
    tau_mean = serializers.FloatField(allow_null=True)
    tau_shrunk = serializers.FloatField(allow_null=True)
    first_pick_rate = serializers.FloatField(allow_null=True)
    last_pick_rate = serializers.FloatField(allow_null=True)
    ds_accuracy = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField(allow_null=True)
    gold_accuracy = serializers.FloatField(allow_null=True)


class TrollboardRowSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    is_banned = serializers.BooleanField()
    red_flags = serializers.IntegerField()
    up = serializers.IntegerField()
    down = serializers.IntegerField()
    flag_labels = serializers.IntegerField()
    spam_labels = serializers.IntegerField()
    aborted_prompts = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    quality = AnnotatorQualitySerializer(allow_null=True)


class TrollboardQuery(QueryParameters):
    window = ChoiceFilter(choices=list(selectors.WINDOWS), default="week")
    project = TextFilter()


class TrollboardView(APIView):
    permission_classes = MODERATOR_PERMISSIONS

    @extend_schema(
        parameters=[TrollboardQuery],
        responses=TrollboardRowSerializer(many=True),
        summary="Users with the most negative signals in a window",
    )
    def get(self, request: Request) -> Response:
        query = query_parameters(TrollboardQuery, request)
        return Response(selectors.trollboard(window=query["window"], project_slug=query["project"]))


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    project = serializers.CharField(allow_null=True)
    before = serializers.DictField()
    after = serializers.DictField()
    reason = serializers.CharField()


class CsvFormatNegotiation(DefaultContentNegotiation):
    """DRF reads ``?format=`` as a renderer name and answers 404 when none is called
    ``csv``; here ``format=csv`` asks for the streamed export the view writes itself,
    and anything else (errors included) is rendered as usual."""

    def select_renderer(
        self, request: Request, renderers: Iterable[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        renderers = list(renderers)
        if request.query_params.get("format") == "csv":
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class AuditLogQuery(QueryParameters):
    actor = TextFilter(help_text="username or user id")
    action = TextFilter(help_text="exact, or a prefix ending in '.' (e.g. 'tree.')")
    target_type = TextFilter()
    target_id = TextFilter()
    project = TextFilter()
    since = serializers.DateTimeField(required=False, help_text="ISO 8601")
    until = serializers.DateTimeField(required=False, help_text="ISO 8601")
    before_id = IntegerFilter(min_value=1, help_text="page: events older than this id")
    limit = IntegerFilter(min_value=1, max_value=500, default=100, help_text="page size")
    format = ChoiceFilter(choices=["json", "csv"], default="json")


class AuditLogView(APIView):
    permission_classes = MODERATOR_PERMISSIONS
    content_negotiation_class = CsvFormatNegotiation

    @extend_schema(
        parameters=[AuditLogQuery],
        responses={
            (200, "application/json"): AuditEventSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="with format=csv: every matching event"
            ),
        },
        summary="The audit log, newest first; format=csv streams every matching event",
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        query = query_parameters(AuditLogQuery, request)
        events = selectors.audit_events(
            actor=query["actor"],
            action=query["action"],
            target_type=query["target_type"],
            target_id=query["target_id"],
            project_slug=query["project"],
            since=query.get("since"),
            until=query.get("until"),
        )
        if query["format"] == "csv":
            response = StreamingHttpResponse(
                selectors.audit_csv_rows(events), content_type="text/csv"
            )
            response["Content-Disposition"] = 'attachment; filename="arbor-audit-log.csv"'
            return response
        limit, before_id = query["limit"], query.get("before_id")
        if before_id is not None:
            events = events.filter(pk__lt=before_id)
        page = list(events[:limit])
        return Response(
            [
                {
                    "id": event.pk,
                    "created_at": event.created_at,
                    "actor": event.actor.username if event.actor else None,
                    "action": event.action,
                    "target_type": event.target_type,
                    "target_id": event.target_id,
                    "project": event.project.slug if event.project else None,
                    "before": event.before,
                    "after": event.after,
                    "reason": event.reason,
                }
                for event in page
            ]
        )
