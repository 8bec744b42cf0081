"""Several volunteers drive trees from the first prompt to ready_for_export over HTTP only."""

from __future__ import annotations

import pytest

from backend.trees.models import Tree, TreeState
from tests.helpers import do_one


@pytest.mark.django_db(transaction=True)
def test_volunteers_complete_trees_through_the_api(make_user, make_project, client_for):
    project = make_project(
        slug="e2e",
        goal_tree_size=4,
        max_depth=2,
        max_children=2,
        num_reviews_initial_prompt=2,
        num_reviews_reply=2,
        num_required_rankings=2,
        max_active_trees=2,
        replies_per_minute=1000,
        requests_per_minute=1000,
    )
    clients = [client_for(make_user()) for _ in range(5)]
    # Two prompts to start from, then everyone takes whatever the engine offers.
    for client in clients[:2]:
        do_one(client, project.slug, kind="initial_prompt")
    for _ in range(400):
        for client in clients:
            do_one(client, project.slug, kind="any")
        ready = Tree.objects.filter(project=project, state=TreeState.READY_FOR_EXPORT)
        if ready.count() >= 2:
            break
    ready_trees = list(Tree.objects.filter(project=project, state=TreeState.READY_FOR_EXPORT))
    assert len(ready_trees) >= 2
    for tree in ready_trees:
        body = clients[0].get(f"/api/v1/trees/{tree.pk}").json()
        assert body["state"] == "ready_for_export"
        counted = [m for m in body["messages"] if m["review_result"] is not False]
        assert len(counted) == 4
        assert all(m["review_count"] == 2 for m in body["messages"])
        ranked = sorted(
            (m["parent_id"], m["rank"], m["id"]) for m in counted if m["rank"] is not None
        )
        # Every voter ranked lowest id first, so ranks follow ids within each group.
        groups: dict[int, list[tuple[int, int]]] = {}
        for parent_id, rank, message_id in ranked:
            groups.setdefault(parent_id, []).append((rank, message_id))
        assert groups, "a finished tree has at least one ranked sibling group"
        for members in groups.values():
            assert [rank for rank, _ in members] == list(range(len(members)))
            assert [message_id for _, message_id in members] == sorted(mid for _, mid in members)
