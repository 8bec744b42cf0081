"""Reads that only the web pages need. They compose the domain selectors; nothing
here decides anything the API would decide differently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.gates import kinds_locked_for
from backend.assignments.kinds import get_kind, kind_names
from backend.assignments.models import Assignment, AssignmentState
from backend.assignments.selectors import assignments_open_for, work_available_for
from backend.community.formula import STREAK_GRACE
from backend.community.stats import project_stats
from backend.consensus.selectors import (
    agreement_history,
    message_consensus_extras,
    tree_ranking_groups,
)
from backend.projects.models import Project
from backend.trees.models import Message, Reaction, Tree, TreeState
from backend.trees.services import reaction_counts
from backend.web.labels import kind_instruction, kind_title, label_title


def initial_prompt_open(*, project: Project, lang: str) -> bool:
    # The engine's own rule (not a copy of it): a new prompt is offered while fewer
    # than max_prompt_lottery_waiting prompts wait.
    spec = get_kind("initial_prompt")
    return spec is not None and spec.is_available(project=project, lang=lang)


def active_projects() -> QuerySet[Project]:
    return Project.objects.filter(is_active=True).order_by("slug")


def languages_for(*, project: Project, user: User) -> list[str]:
    """The project's languages, the person's own first (in their order)."""
    preferred = [code for code in user.languages if code in project.languages]
    return preferred + [code for code in project.languages if code not in preferred]


def dashboard_work(*, project: Project, lang: str, user: User) -> list[dict[str, Any]]:
    """One row per kind (and "any") with the work this person could claim now (the
    claim's own rules: see ``work_available_for``)."""
    counts: dict[str, Any] = dict(work_available_for(user=user, project=project, lang=lang))
    # Kinds this person has not qualified for yet are not theirs to take: no count, and
    # the card leads to the page that says how to unlock them.
    locked = kinds_locked_for(user=user, project=project, kinds=kind_names())
    for kind in locked:
        counts.pop(kind, None)
    prompt_open = initial_prompt_open(project=project, lang=lang) and "initial_prompt" not in locked
    total = sum(counts.values()) + (1 if prompt_open else 0)
    rows = []
    for kind in ["any", *kind_names()]:
        spec = get_kind(kind)
        if spec is not None and not counts.get(kind) and not spec.is_offered(project):
            continue  # a kind this project does not use (e.g. the arena without models)
        if kind == "any":
            count: int | None = sum(counts.values())
            available = total > 0
        elif kind in locked:
            count, available = 0, False
        elif spec is not None and not spec.uses_work_item:
            count, available = None, prompt_open
        else:
            count = counts.get(kind, 0)
            available = bool(count)
        rows.append(
            {
                "kind": kind,
                "title": kind_title(kind),
                "instruction": kind_instruction(kind),
                "count": count,
                "available": available,
                "locked": kind in locked,
            }
        )
    return rows


def open_assignments(*, user: User) -> list[Assignment]:
    return list(assignments_open_for(user=user))


def contribution_counts(*, user: User) -> dict[str, int]:
    """Submitted assignments per kind."""
    rows = (
        Assignment.objects.filter(user=user, state=AssignmentState.SUBMITTED)
        .values("kind")
        .annotate(count=Count("pk"))
    )
    counts = dict.fromkeys(kind_names(), 0)
    for row in rows:
        counts[row["kind"]] = row["count"]
    return counts


def messages_of(*, user: User, limit: int = 50) -> list[Message]:
    return list(
        Message.objects.filter(author=user)
        .select_related("tree__project")
        .annotate(
            ranked_siblings=Count(
                "parent__children", filter=Q(parent__children__rank__isnull=False)
            )
        )
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass
class ReactionBar:
    message_id: int
    counts: dict[str, int]
    react_url: str
    report_url: str
    mine: set[str] = field(default_factory=set)


def reaction_bars(*, message_ids: list[int], user: User) -> dict[int, ReactionBar]:
    counts = reaction_counts(message_ids)
    # One reverse() each, not one per message and button: the task page is hot.
    react = reverse("web:message-react", args=[0]).replace("/0/", "/{}/")
    report = reverse("web:message-report", args=[0]).replace("/0/", "/{}/")
    bars = {
        pk: ReactionBar(pk, counts.get(pk, {}), react.format(pk), report.format(pk))
        for pk in message_ids
    }
    mine = Reaction.objects.filter(message_id__in=message_ids, user=user).values_list(
        "message_id", "emoji"
    )
    for message_id, emoji in mine:
        bars[message_id].mine.add(emoji)
    return bars


def finished_trees(*, project: Project | None, lang: str | None, limit: int = 50) -> list[Tree]:
    trees = Tree.objects.filter(state=TreeState.READY_FOR_EXPORT).select_related("root", "project")
    if project is not None:
        trees = trees.filter(project=project)
    if lang:
        trees = trees.filter(lang=lang)
    return list(trees.annotate(size=Count("messages")).order_by("-state_changed_at", "-pk")[:limit])


@dataclass
class TreeNode:
    message: Message
    children: list[TreeNode] = field(default_factory=list)


def tree_outline(messages: QuerySet[Message]) -> list[TreeNode]:
    """The messages as nested nodes, siblings best-ranked first (unranked last)."""
    nodes = {message.pk: TreeNode(message) for message in messages}
    roots: list[TreeNode] = []
    for node in nodes.values():
        parent = nodes.get(node.message.parent_id) if node.message.parent_id else None
        (parent.children if parent else roots).append(node)

    def order(node: TreeNode) -> tuple[int, int, int]:
        rank = node.message.rank
        return (rank is None, rank if rank is not None else 0, node.message.pk)

    for node in nodes.values():
        node.children.sort(key=order)
    return roots


@dataclass
class MessageConsensusView:
    """What the tree viewer shows of one message's consensus (None fields: unknown)."""

    rank: int | None = None
    group_size: int | None = None
    score: float | None = None
    labels: list[dict[str, Any]] = field(default_factory=list)
    is_accepted: bool | None = None

    @property
    def score_sign(self) -> str:
        """A plus before a positive score (a negative one carries its own sign)."""
        return "+" if self.score is not None and self.score > 0 else ""

    @property
    def is_known(self) -> bool:
        return self.score is not None or bool(self.labels)


def tree_consensus(
    *, tree_id: int, message_ids: list[int]
) -> tuple[dict[int, MessageConsensusView], dict[int, dict[str, Any]]]:
    """The tree viewer's consensus: per message (rank and score among its siblings,
    label means with their intervals) and per ranked sibling group, by parent id
    (confidence, voters, Kendall's W, whether a tie was broken). Messages without any
    result are left out: the page shows nothing for them."""
    groups = {group["parent_id"]: group for group in tree_ranking_groups(tree_id=tree_id)}
    sizes = {
        message_id: len(group["order"])
        for group in groups.values()
        for message_id in group["order"]
    }
    views: dict[int, MessageConsensusView] = {}
    for message_id, extra in message_consensus_extras(message_ids).items():
        view = MessageConsensusView(
            rank=extra["rank"],
            group_size=sizes.get(message_id),
            score=extra["score"],
            labels=[
                {"name": name, "title": label_title(name), **aggregate}
                for name, aggregate in sorted(extra["labels"].items())
            ],
            is_accepted=(extra["acceptance"] or {}).get("is_accepted"),
        )
        if view.is_known:
            views[message_id] = view
    return views, groups


def _scope_order(scope: str) -> tuple[bool, int, str]:
    """The scope of all task kinds first, then each kind in the dashboard's order."""
    order = ["any", *kind_names()]
    position = order.index(scope) if scope in order else len(order)
    return (scope != "all", position, scope)


def project_stats_page(*, project: Project, history_limit: int = 30) -> dict[str, Any]:
    """A project's progress and agreement for its stats page: the API's stats, the
    newest agreement snapshot as rows (per label and task kind; per ranking task
    kind), and the agreement over time (newest first, ``history_limit`` snapshots):
    alpha per label and for rankings over all task kinds."""
    stats = project_stats(project=project)
    latest = stats["agreement"]
    label_rows: list[dict[str, Any]] = []
    ranking_rows: list[dict[str, Any]] = []
    if latest is not None:
        for name in sorted(latest["labels"]):
            scopes = latest["labels"][name]
            for scope in sorted(scopes, key=_scope_order):
                label_rows.append(
                    {"label": name, "title": label_title(name), "scope": scope, **scopes[scope]}
                )
        for scope in sorted(latest["rankings"], key=_scope_order):
            ranking_rows.append({"scope": scope, **latest["rankings"][scope]})
    history = agreement_history(project=project, limit=history_limit)
    labels = sorted({name for snapshot in history for name in snapshot["labels"]})
    history_rows = []
    for snapshot in reversed(history):
        rankings = snapshot["rankings"].get("all") or {}
        history_rows.append(
            {
                "taken_at": snapshot["taken_at"],
                "alphas": [
                    (snapshot["labels"].get(name, {}).get("all") or {}).get("alpha")
                    for name in labels
                ],
                "ranking_alpha": rankings.get("alpha"),
                "kendalls_w": rankings.get("kendalls_w"),
            }
        )
    return {
        "stats": stats,
        "taken_at": latest["taken_at"] if latest is not None else None,
        "label_rows": label_rows,
        "ranking_rows": ranking_rows,
        "history_labels": [(name, label_title(name)) for name in labels],
        "history_rows": history_rows,
    }


def task_progress(*, user: User, now: datetime | None = None) -> dict[str, int]:
    """The task header's progress line: ``{today, streak_days}`` in one query.

    ``today`` counts the person's submissions since midnight (the site's time zone);
    the streak is the community app's stored one, shown as 0 once the last activity is
    over its grace period (as ``user_community_summary`` does).
    """
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    submitted_today = (
        Assignment.objects.filter(
            user=OuterRef("pk"), state=AssignmentState.SUBMITTED, finished_at__gte=midnight
        )
        .order_by()
        .values("user")
        .annotate(count=Count("pk"))
        .values("count")
    )
    row = (
        User.objects.filter(pk=user.pk)
        .values("community_stats__streak_days", "community_stats__last_active_at")
        .annotate(today=Subquery(submitted_today))
        .first()
    )
    if row is None:
        return {"today": 0, "streak_days": 0}
    last_active = row["community_stats__last_active_at"]
    alive = last_active is not None and now - last_active <= STREAK_GRACE
    return {
        "today": row["today"] or 0,
        "streak_days": (row["community_stats__streak_days"] or 0) if alive else 0,
    }
