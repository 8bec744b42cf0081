from __future__ import annotations

from typing import Any

from tasks.celery import app


@app.task(name="tasks.community.refresh")
def refresh() -> dict[str, Any]:
    """Points ledger from the audit events since the last pass, then the leaderboards.
    Safe to run twice: the ledger pass upserts (see ``backend.community.services``)."""
    from backend.community.services import community_refresh

    return community_refresh()


@app.task(name="tasks.community.reconcile")
def reconcile() -> dict[str, Any]:
    """Full recompute of the ledger from the raw data: catches changes that wrote no
    audit event (a rescore, a new rule) and removes entries whose source is gone."""
    from backend.community.services import community_refresh

    return community_refresh(full=True)
