"""The engine's metrics (docs/observability.md): claims and submits counted as they
happen, trees per state and stuck trees read at scrape time.

A tree is **stuck** when it should be moving and nothing can move it, which is what the
sweep exists to repair (``backend.assignments.sweep``): a tree in ``prompt_review``,
``growing`` or ``ranking`` without a live work item (``tree_advance`` always leaves
one: a review, a reply, a ranking to do), or a tree in ``scoring`` for longer than
``SCORING_STALE_AFTER`` (its task was lost; the sweep queues it again). ``backlog``
is not stuck: a tree there waits its turn in the prompt lottery. The count must stay
0; a tree it counts for more than a sweep interval or two means the sweep is not
running or cannot repair it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from backend.assignments.growth import SCORING_STALE_AFTER
from backend.assignments.models import WorkItem
from backend.assignments.needs import LIVE_ITEM_STATES
from backend.common.errors import ArborError
from backend.common.metrics import claim_counted, scrape_collector_register, submit_counted
from backend.trees.models import Tree, TreeState

# States whose trees always have work to hand out while they are moving.
WORKING_TREE_STATES = (TreeState.PROMPT_REVIEW, TreeState.GROWING, TreeState.RANKING)
UNKNOWN_KIND = "unknown"

P = ParamSpec("P")
R = TypeVar("R")


def trees_stuck(*, now: datetime | None = None) -> QuerySet[Tree]:
    """Trees that should be moving and are not (see the module docstring)."""
    now = now or timezone.now()
    has_live_item = Exists(WorkItem.objects.filter(tree=OuterRef("pk"), state__in=LIVE_ITEM_STATES))
    return Tree.objects.alias(has_live_item=has_live_item).filter(
        Q(state__in=WORKING_TREE_STATES, has_live_item=False)
        | Q(state=TreeState.SCORING, state_changed_at__lt=now - SCORING_STALE_AFTER)
    )


def _tree_metrics() -> Iterable[Metric]:
    per_state = dict(
        Tree.objects.order_by()
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    trees = GaugeMetricFamily("arbor_trees", "Trees per state.", labels=["state"])
    for state in TreeState.values:
        trees.add_metric([state], per_state.get(state, 0))
    yield trees
    yield GaugeMetricFamily(
        "arbor_trees_stuck",
        "Trees that should be moving and are not: no live work item in prompt_review, "
        "growing or ranking, or in scoring past the sweep's retry time. Must stay 0.",
        trees_stuck().count(),
    )


scrape_collector_register("trees", _tree_metrics)


def _claim_kind(result: Any, requested: str) -> str:
    return result.assignment.kind if result is not None else requested


def claims_counted(claim: Callable[P, R]) -> Callable[P, R]:
    """Count every call of a claim service in ``arbor_claims_total`` by kind (the one
    claimed, else the one asked for, ``any`` included) and outcome."""

    @functools.wraps(claim)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        requested = str(kwargs.get("kind", UNKNOWN_KIND))
        try:
            result = claim(*args, **kwargs)
        except ArborError as error:
            claim_counted(kind=requested, outcome=error.code)
            raise
        except Exception:
            claim_counted(kind=requested, outcome="error")
            raise
        claim_counted(
            kind=_claim_kind(result, requested),
            outcome="claimed" if result is not None else "none_available",
        )
        return result

    return counted


def submits_counted(submit: Callable[P, R]) -> Callable[P, R]:
    """Count every call of the submit service in ``arbor_submits_total`` by kind (when
    the assignment was found) and outcome."""

    @functools.wraps(submit)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = submit(*args, **kwargs)
        except ArborError as error:
            submit_counted(kind=UNKNOWN_KIND, outcome=error.code)
            raise
        except Exception:
            submit_counted(kind=UNKNOWN_KIND, outcome="error")
            raise
        replayed = getattr(result, "replayed_body", None) is not None
        submit_counted(
            kind=result.assignment.kind,  # type: ignore[attr-defined]
            outcome="replayed" if replayed else "submitted",
        )
        return result

    return counted
