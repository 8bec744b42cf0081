"""Query budgets of the request path, exact and deterministic: a claim and a submit of
each kind run within the stated number of statements, so a regression fails CI.

Counted from the view's first statement to its last, authentication included (a token
whose user this process already knows costs none). PostgreSQL runs the claim as one
statement (``backend.assignments.claims``); SQLite, the embedded default, takes a few.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.common import outbox
from backend.onboarding.selectors import person_gates
from backend.onboarding.stream import gold_item_ids
from backend.projects.selectors import project_cached
from backend.webhooks.selectors import active_webhooks_for
from tests.api.scenario import World

# Real transactions, as in production: the service's atomic block is the outermost, so
# no savepoints are counted that a request would not run.
pytestmark = pytest.mark.django_db(transaction=True)

GOOD = {"spam": 0, "lang_mismatch": 0}
# (case, kind, stage of the world, project settings, who works, the answer).
CASES = [
    ("prompt", "initial_prompt", "empty", {}, "alice", {"text": "What makes a forest old?"}),
    (
        "review",
        "label_initial_prompt",
        "prompt_review",
        {"num_reviews_initial_prompt": 3},
        "bob",
        {"labels": GOOD},
    ),
    ("last_review", "label_initial_prompt", "prompt_review", {}, "bob", {"labels": GOOD}),
    ("reply", "assistant_reply", "growing", {}, "bob", {"text": "Centuries, mostly."}),
    (
        "reply_review",
        "label_assistant_reply",
        "replies_in_review",
        {"num_reviews_reply": 3},
        "alice",
        {"labels": {"spam": 0}},
    ),
    ("ranking", "rank_assistant_replies", "ranking", {}, "dave", None),
]

# Statements per request (claim, submit), by database. A claim of work on an item is
# one statement on PostgreSQL; a new prompt (no item) checks the limits and the
# prompt cap, then inserts. A submit runs what its kind stores: a review that is not
# its message's last (the common case) is eight before its points; the last one also asks the
# acceptance rule (consensus reads votes, gold labels, annotator weights and label
# models) and moves the tree on; a reply writes the message with its review item and
# re-derives the tree's needs; a ranking checks the candidates and the tree. Every
# submit then credits its points at once (docs/community.md): on PostgreSQL one
# statement finds the vote it earned for, inserts the ledger entry and updates the
# person's total and level; on SQLite three to five. A new message (prompt, reply) also owes its
# quality signals: one outbox row, inserted in the transaction and deleted by the
# commit hook (the signals run in Celery).
BUDGETS = {
    "postgresql": {
        "prompt": (3, 14),
        "review": (1, 9),
        "last_review": (1, 24),
        "reply": (1, 15),
        "reply_review": (1, 9),
        "ranking": (1, 18),
    },
    "sqlite": {
        "prompt": (3, 18),
        "review": (5, 15),
        "last_review": (5, 30),
        "reply": (5, 21),
        "reply_review": (5, 14),
        "ranking": (6, 25),
    },
}


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# Transaction control, and PREPARE: a statement of the request path is prepared once
# per database session (backend/common/prepared.py), not once per request.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "PREPARE")


def counted(call: Any) -> tuple[Any, int]:
    """The answer, and the statements it ran (transaction control and PREPARE not
    counted)."""
    with CaptureQueriesContext(connection) as queries:
        response = call()
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]
    return response, len(statements)


@pytest.fixture(autouse=True)
def _follow_up_work_goes_to_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """In production, work a submit owes (scoring, the lottery) runs in a Celery worker,
    not in the request: hand it to a broker that takes it and runs nothing here. The
    commit hook's delete of the sent outbox row is still counted."""
    monkeypatch.setattr(outbox, "_publish", lambda message: None)


@pytest.mark.parametrize(
    ("case", "kind", "stage", "overrides", "who", "answer"), CASES, ids=[c[0] for c in CASES]
)
def test_a_claim_and_a_submit_stay_within_their_budgets(
    world_at, case, kind, stage, overrides, who, answer
):
    world: World = world_at(stage, **overrides)
    client = token_client(getattr(world, who))
    client.get("/api/v1/users/me")  # this process now knows the token …
    project_cached(slug=world.project.slug)  # … and the project …
    active_webhooks_for(project_id=world.project.pk, event="message.created")  # … its webhooks
    person_gates(user_id=getattr(world, who).pk, project_id=world.project.pk)  # … their gates
    gold_item_ids(world.project.pk, "en")  # … and its gold items (none: a claim rolling gold
    # finds none without a statement)
    vendor = connection.vendor

    claimed, claim_queries = counted(
        lambda: client.post(
            "/api/v1/assignments/", {"project": world.project.slug, "kind": kind}, format="json"
        )
    )
    assert claimed.status_code == 201, claimed.content
    assignment = claimed.json()
    body = answer or {"ranking": [candidate["id"] for candidate in assignment["candidates"]]}
    submitted, submit_queries = counted(
        lambda: client.post(
            f"/api/v1/assignments/{assignment['id']}/submit",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"budget-{kind}",
        )
    )
    assert submitted.status_code == 200, submitted.content
    assert claim_queries <= BUDGETS[vendor][case][0]
    assert submit_queries <= BUDGETS[vendor][case][1]


def test_a_known_token_costs_no_query_and_a_revoked_one_stops_at_once(world_at):
    world: World = world_at("empty")
    token = Token.objects.create(user=world.alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    first, first_statements = counted(lambda: client.get("/api/v1/users/me"))
    again, again_statements = counted(lambda: client.get("/api/v1/users/me"))
    token.delete()  # revoked in this process: its cache is dropped at once
    revoked = client.get("/api/v1/users/me")

    assert (first.status_code, again.status_code, revoked.status_code) == (200, 200, 401)
    # The second request skips the token lookup (users/me itself reads the summary).
    assert first_statements - again_statements == 1
