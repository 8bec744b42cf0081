"""The prompt lottery: which waiting trees start growing."""

from __future__ import annotations

from django.db import transaction

from backend.assignments.growth import tree_advance_locked
from backend.projects.models import Project
from backend.trees.lifecycle import tree_lock, tree_transition
from backend.trees.models import Tree, TreeState


def trees_activate_waiting(*, project_id: int, lang: str) -> list[int]:
    """Move waiting trees into ``growing`` while the language is under its cap.

    The project row is locked so two activations cannot both see a free place and
    overshoot ``max_active_trees``. Lock order: project → tree.
    """
    with transaction.atomic():
        # NO KEY UPDATE, so claims inserting assignments (a key-share lock on the
        # project through the foreign key) are not blocked while the lottery runs.
        project = Project.objects.select_for_update(no_key=True).get(pk=project_id)
        growing = Tree.objects.filter(project=project, lang=lang, state=TreeState.GROWING).count()
        free = project.max_active_trees - growing
        if free <= 0:
            return []
        # The lottery: a random draw among waiting trees, so no author can crowd others out.
        waiting_ids = list(
            Tree.objects.filter(project=project, lang=lang, state=TreeState.BACKLOG)
            .order_by("?")
            .values_list("pk", flat=True)[:free]
        )
        activated = []
        for tree_id in sorted(waiting_ids):
            tree = tree_lock(tree_id)
            if tree.state != TreeState.BACKLOG:
                continue
            tree_transition(tree, TreeState.GROWING, reason="drawn in the prompt lottery")
            tree_advance_locked(tree)
            activated.append(tree_id)
        return activated
