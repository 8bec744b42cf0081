"""Fuzz the whole published OpenAPI schema with schemathesis, once per role.

``seed_fuzz_world`` makes a small project with real data (a tree with a ranked prompt
and replies, a report in the moderation queue, a note, audit events) and one API token
per role (volunteer, moderator, researcher, admin). ``fuzz`` loads the schema the
server publishes, writes the ids of that data into it as path-parameter examples (so
the examples phase reaches real objects, not only 404s), and runs schemathesis's
engine over every operation against a live server (Django's live-server thread) with
every check on (response-schema conformance included), a fixed seed and derandomised
generation. It returns what ran: cases per operation and phase, checks run, failures
by check (each with a curl command to replay it), duration.

The server answers on its own threads with their own database connections, so the
seeded data must be committed: a ``transaction=True`` test, or the test database
``bench/fuzz.py`` makes. (Schemathesis's in-process WSGI transport is not used: its
checks that send a request again, such as ``ignored_auth``, fail on it.)
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from rest_framework.test import APIClient
from schemathesis.engine import events
from schemathesis.engine import from_schema as engine_for

from backend.accounts.models import Role, User
from backend.accounts.services import user_create, user_token
from backend.arena.services import model_endpoint_create
from backend.moderation.models import QueueItem
from backend.moderation.services import report_create, user_note_add
from backend.onboarding.services import training_item_create
from backend.projects.models import Project
from backend.projects.services import project_create
from backend.trees.models import Message, Tree
from tests.factories import growing_tree, rank, review, write_reply
from tests.onboarding.helpers import REVIEW_ITEM

ROLES = (Role.VOLUNTEER, Role.MODERATOR, Role.RESEARCHER, Role.ADMIN)
SEED = 20260401
# Roomy project limits: the fuzzer claims far more than a person would.
FUZZ_PROJECT_SETTINGS: dict[str, Any] = {
    "goal_tree_size": 3,
    "max_depth": 1,
    "max_children": 2,
    "num_reviews_initial_prompt": 1,
    "num_reviews_reply": 1,
    "num_required_rankings": 1,
    "max_active_trees": 10,
    "requests_per_minute": 100_000,
    "replies_per_minute": 100_000,
    "max_open_assignments": 100_000,
}


# Operations whose well-formed input can still be refused 400 by a rule a schema cannot
# state. Some depend on the object the path or body names: a claim's ``lang`` must be
# one the project collects (``invalid_language``), a submission's shape follows the
# assignment's kind (a text, labels or a ranking), an edit or a revert may not repeat
# the current text (``unchanged``), an import's file must hold trees in its format.
# An export's options have rules across fields: ``created_to`` after ``created_from``,
# no ``gzip`` for Parquet. A volunteer's own edit or suggestion may not repeat the text;
# a project's slug must be new and its label schema keeps spam and the labels that have
# votes; an eval set's file must hold prompts; a webhook's address must resolve to a
# public host; deleting my account needs my password; a moderator's reason may hold no
# NUL character (DRF refuses them in text); a re-run names a known signal; a training
# item's known answer must fit its kind (labels it asks, a ranking of every reply); a
# model's name is a slug that must be new, with a key or its variable but not both, and
# a project's arena names registered models; the model leaderboard and the battle
# export take only a language the project collects. Everything
# else a schema-valid request gets is 2xx or a documented 401/403/404/409/429.
RULES_BEYOND_THE_SCHEMA = (
    "v1_assignments_create",
    "v1_assignments_submit_create",
    "v1_messages_edit_create",
    "v1_messages_revert_create",
    "v1_imports_create",
    "v1_exports_create",
    "v1_messages_partial_update",
    "v1_messages_suggestions_create",
    "v1_projects_create",
    "v1_projects_partial_update",
    "v1_projects_eval_sets_create",
    "v1_projects_webhooks_create",
    "v1_webhooks_partial_update",
    "v1_users_me_delete_create",
    "v1_messages_undelete_create",
    "v1_messages_delete_create",
    "v1_projects_quality_rerun_create",
    "v1_projects_training_items_create",
    "v1_training_items_partial_update",
    "v1_models_create",
    "v1_models_partial_update",
    "v1_projects_arena_partial_update",
    "v1_projects_model_leaderboard_list",
    "v1_projects_arena_battles_export",
)
ACCEPTED_OR_400 = ["2xx", "400", "401", "403", "404", "409", "429"]


@dataclass
class FuzzWorld:
    project: Project
    tokens: dict[str, str]
    users: dict[str, User]
    tree: Tree
    root: Message
    replies: list[Message]
    queue_item_id: int
    training_item_id: int


def seed_fuzz_world() -> FuzzWorld:
    project = project_create(slug="fuzz", settings=FUZZ_PROJECT_SETTINGS)
    users = {
        role: user_create(username=f"fuzz-{role}", password="!unusable", role=role)
        for role in ROLES
    }
    writers = [
        user_create(username=f"fuzz-writer-{n}", password="!unusable", role=Role.VOLUNTEER)
        for n in range(4)
    ]
    tree, root = growing_tree(project, writers[0], writers[1:2])
    replies = [write_reply(root, writer) for writer in writers[1:3]]
    for reply in replies:
        review(reply, [writers[3]])
    rank(root, writers[3], replies)
    report = report_create(
        message_id=replies[0].pk, reporter_id=writers[0].pk, reason="spam", text="looks odd"
    )
    user_note_add(user_id=writers[1].pk, author_id=users[Role.MODERATOR].pk, text="watch")
    item = QueueItem.objects.filter(message_id=report.message_id).order_by("pk").first()
    training_item = training_item_create(project=project, data=REVIEW_ITEM, actor_id=None)
    model_endpoint_create(name="fuzz-model", base_url="http://127.0.0.1:9/v1", model="m")
    return FuzzWorld(
        project=project,
        tokens={role: user_token(user=user) for role, user in users.items()},
        users=users,
        tree=tree,
        root=root,
        replies=replies,
        queue_item_id=item.pk if item is not None else 1,
        training_item_id=training_item.pk,
    )


def published_schema_document() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.status_code
    document: dict[str, Any] = json.loads(response.content)
    return document


def with_examples(document: dict[str, Any], world: FuzzWorld) -> dict[str, Any]:
    """The schema with the seeded objects' ids as path-parameter examples."""
    examples = {
        "tree_id": world.tree.pk,
        "message_id": world.replies[0].pk,
        "user_id": world.users[Role.VOLUNTEER].pk,
        "slug": world.project.slug,
        "item_id": world.queue_item_id,
        "assignment_id": 1,
        "job_id": 1,
        "training_item_id": world.training_item_id,
        "name": "fuzz-model",
    }
    document = copy.deepcopy(document)
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return document


@dataclass
class FuzzReport:
    cases: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    failure_details: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        """The figures as text: cases per operation, failures by check, duration."""
        lines = [f"{'cases':>7}  operation (role)"]
        for label, count in sorted(self.cases.items()):
            role, _, operation = label.partition(" ")
            lines.append(f"{count:>7}  {operation} ({role})")
        lines.append(
            f"{self.total_cases:>7}  in total; by phase: {dict(sorted(self.phases.items()))}"
        )
        lines.append(f"checks run: {dict(sorted(self.checks.items()))}")
        lines.append(f"failures by check: {dict(self.failures) or 'none'}")
        lines.append(f"engine errors: {len(self.errors)}")
        lines.append(f"duration: {self.seconds:.1f} s")
        return "\n".join(lines)

    def merge(self, other: FuzzReport) -> None:
        self.cases.update(other.cases)
        self.phases.update(other.phases)
        self.checks.update(other.checks)
        self.failures.update(other.failures)
        self.failure_details.extend(other.failure_details)
        self.errors.extend(other.errors)
        self.seconds += other.seconds


def fuzz_config(
    *, base_url: str, max_examples: int, token: str, coverage: bool = True, seed: int = SEED
) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": seed,
            "headers": {"Authorization": f"Token {token}"},
            "workers": 1,
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "mode": "all",
            },
            "checks": {"enabled": True},
            # Stateful sequences need links between operations, which the schema has not.
            "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": coverage}},
            "operations": [
                {
                    "include-operation-id": operation_id,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_400}},
                }
                for operation_id in RULES_BEYOND_THE_SCHEMA
            ],
        }
    )


def fuzz(
    document: dict[str, Any],
    *,
    base_url: str,
    role: str,
    token: str,
    max_examples: int,
    coverage: bool = True,
    seed: int = SEED,
) -> FuzzReport:
    """Run the phases over every operation as ``role``; collect what happened.

    The phases: ``examples`` (the schema's examples: the seeded ids), ``coverage``
    (deterministic boundary and invalid values of every parameter and field, unexpected
    methods) unless ``coverage`` is off, and ``fuzzing`` (``max_examples`` generated
    cases per operation, valid and invalid)."""
    config = fuzz_config(
        base_url=base_url, max_examples=max_examples, token=token, coverage=coverage, seed=seed
    )
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document), config=config)
    report = FuzzReport()
    started = time.perf_counter()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            report.cases[f"{role} {recorder.label}"] += len(recorder.cases)
            report.phases[str(event.phase.value)] += len(recorder.cases)
            for nodes in recorder.checks.values():
                for node in nodes:
                    report.checks[node.name] += 1
                    if node.failure_info is not None:
                        report.failures[node.name] += 1
                        report.failure_details.append(
                            f"{role} {recorder.label} [{node.name}] "
                            f"{node.failure_info.failure.title}: "
                            f"{node.failure_info.failure.message[:300]}\n"
                            f"{node.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{role} {event.label}: {event.info.format()[:500]}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"{role}: fatal {event.exception!r}")
    report.seconds = time.perf_counter() - started
    return report
