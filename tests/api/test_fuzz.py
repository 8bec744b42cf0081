"""Schemathesis over the whole published OpenAPI schema, as each role, against a live
server on a database seeded with a project, a ranked tree, a report and a note:
every check on (server errors, status codes, content types, headers, response-schema
conformance, schema-valid input accepted, schema-invalid input refused, ignored auth,
unsupported methods), and none fails.

Bounded so that it runs in a couple of minutes on two cores: a fixed seed,
derandomised generation, ``MAX_EXAMPLES`` generated cases per operation and role, and
the deterministic coverage phase (every boundary and invalid value) as the admin, who
passes every permission and so reaches every handler. ``bench/fuzz.py`` runs the large
profile (every phase as every role, many more cases); docs/security.md has its figures.
"""

from __future__ import annotations

import pytest

from tests.api.fuzzing import ROLES, fuzz, published_schema_document, seed_fuzz_world, with_examples

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 5
COVERAGE_ROLES = {"admin"}


@pytest.mark.parametrize("role", ROLES)
def test_the_whole_api_passes_every_check(live_server, role):
    world = seed_fuzz_world()
    document = with_examples(published_schema_document(), world)
    report = fuzz(
        document,
        base_url=live_server.url,
        role=role,
        token=world.tokens[role],
        max_examples=MAX_EXAMPLES,
        coverage=role in COVERAGE_ROLES,
    )
    print(report.summary())
    # Every operation ran, and none failed a check.
    operations = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert {label.partition(" ")[2] for label in report.cases} == operations
    assert report.errors == []
    assert report.failure_details == []
