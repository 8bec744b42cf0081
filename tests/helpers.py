"""Test helpers that act as volunteers through the public HTTP API."""

from __future__ import annotations

import itertools
from typing import Any

from rest_framework.test import APIClient

_counter = itertools.count()

GOOD_LABELS = {"spam": 0, "lang_mismatch": 0, "quality": 0.75}


def answer_for(assignment: dict[str, Any], *, spam: bool = False) -> dict[str, Any]:
    """A valid submission for any assignment kind."""
    kind = assignment["kind"]
    if kind in ("initial_prompt", "prompter_reply", "assistant_reply"):
        return {"text": f"{kind} number {next(_counter)}: a thoughtful message."}
    if kind.startswith("label_"):
        return {"labels": {**GOOD_LABELS, "spam": 1 if spam else 0}}
    if kind.startswith("rank_"):
        # A shared preference so that the consensus is predictable: lowest id first.
        return {"ranking": sorted(candidate["id"] for candidate in assignment["candidates"])}
    raise AssertionError(f"unknown kind {kind}")


def claim(client: APIClient, project: str, kind: str = "any", lang: str = "en") -> Any:
    return client.post(
        "/api/v1/assignments/", {"project": project, "lang": lang, "kind": kind}, format="json"
    )


def submit(client: APIClient, assignment_id: int, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/api/v1/assignments/{assignment_id}/submit", body, format="json", **headers
    )


def do_one(client: APIClient, project: str, kind: str = "any") -> dict[str, Any] | None:
    """Claim and complete one assignment; None when no work is offered."""
    response = claim(client, project, kind)
    if response.status_code == 204:
        return None
    assert response.status_code == 201, response.content
    assignment = response.json()
    done = submit(client, assignment["id"], answer_for(assignment))
    assert done.status_code == 200, done.content
    return done.json()
