from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.floor.models import Assignment, WorkItem

REQUIRED = 3
LABELS = [{"name": "spam"}, {"name": "quality"}]


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _volunteer(request: Request) -> int:
    return int(request.headers["X-Volunteer"])


class ClaimView(APIView):
    def post(self, request: Request) -> Response:
        user_id = _volunteer(request)
        with transaction.atomic():
            # Rows another claim holds are skipped, not waited for.
            item_id = (
                WorkItem.objects.select_for_update(skip_locked=True)
                .filter(open_slots__gt=0)
                .filter(
                    ~Exists(Assignment.objects.filter(work_item=OuterRef("pk"), user_id=user_id))
                )
                .order_by("id")
                .values_list("id", flat=True)
                .first()
            )
            if item_id is None:
                return Response(status=204)
            taken = WorkItem.objects.filter(pk=item_id, open_slots__gt=0).update(
                open_slots=F("open_slots") - 1
            )
            if not taken:
                return Response(status=204)
            assignment = Assignment.objects.create(work_item_id=item_id, user_id=user_id)
        # The client answers it like a review in Arbor.
        return Response(
            {"id": assignment.pk, "kind": "label_initial_prompt", "labels": LABELS},
            status=201,
        )


class SubmitView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        user_id = _volunteer(request)
        with transaction.atomic():
            item_id = (
                Assignment.objects.select_for_update()
                .filter(pk=pk, user_id=user_id, state="active")
                .values_list("work_item_id", flat=True)
                .first()
            )
            if item_id is None:
                return Response({"code": "not_found"}, status=404)
            Assignment.objects.filter(pk=pk).update(
                state="submitted", answer=request.data, finished_at=timezone.now()
            )
            WorkItem.objects.filter(pk=item_id).update(completed_count=F("completed_count") + 1)
            WorkItem.objects.create(required=REQUIRED, open_slots=REQUIRED)
        return Response({"id": pk, "state": "submitted"})
