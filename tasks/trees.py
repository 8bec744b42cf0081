from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.trees.score_tree", bind=True, max_retries=5)
def score_tree(self, tree_id: int) -> str:  # type: ignore[no-untyped-def]
    """Rank a tree's sibling groups; a tree not in ``scoring`` is left alone."""
    from backend.consensus.services.trees import tree_score

    return tree_score(tree_id=tree_id)


@app.task(name="tasks.trees.advance_tree")
def advance_tree(tree_id: int) -> str:
    from backend.assignments.growth import tree_advance

    return tree_advance(tree_id=tree_id)


@app.task(name="tasks.trees.activate_waiting_trees")
def activate_waiting_trees(project_id: int, lang: str) -> list[int]:
    from backend.assignments.lottery import trees_activate_waiting

    return trees_activate_waiting(project_id=project_id, lang=lang)
