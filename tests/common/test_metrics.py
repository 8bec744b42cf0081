"""GET /metrics: who may scrape it, and that each figure says what happened.

Counted figures are compared before and after an action (the process's counters are
shared by every test); figures read from the database at scrape time are compared
with the database itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from backend.assignments.metrics import trees_stuck
from backend.assignments.models import WorkItem, WorkItemState
from backend.assignments.sweep import sweep_run
from backend.common import metrics
from backend.common.models import OutboxMessage
from backend.projects.api import ProjectListView
from backend.trees.models import Tree, TreeState
from tests.factories import growing_tree as make_growing_tree
from tests.factories import people, small_project, write_prompt
from tests.helpers import answer_for, claim, submit

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def scraping(settings):  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client: Client | None = None) -> Samples:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def changed(before: Samples, after: Samples, prefix: str) -> dict[tuple, float]:
    """The series named ``prefix…`` whose value moved, and by how much."""
    names = {key for key in (*before, *after) if key[0].startswith(prefix)}
    moved = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in names}
    return {key: delta for key, delta in moved.items() if delta}


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


# --- Access -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_unconfigured_the_endpoint_does_not_exist(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.django_db
def test_production_settings_leave_it_off():
    # The test settings are production's (DEBUG off, nothing set): no token, no networks.
    assert django_settings.METRICS_TOKEN == ""
    assert django_settings.METRICS_ALLOWED_NETWORKS == []


@pytest.mark.django_db
def test_scraping_needs_the_token(scraping):
    missing = Client().get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"arbor_" not in missing.content
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    other_scheme = Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}")
    assert other_scheme.status_code == 401
    not_ascii = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer caf\u00e9")
    assert not_ascii.status_code == 401
    right = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200
    assert b"# TYPE arbor_http_request_duration_seconds histogram" in right.content


@pytest.mark.django_db
def test_allowed_networks_alone_admit_clients_inside_them(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.1").get("/metrics").status_code == 404


@pytest.mark.django_db
def test_with_both_set_a_client_needs_both(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "::1/128"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", **bearer).status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics", **bearer).status_code == 200
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="172.16.0.1").get("/metrics", **bearer).status_code == 404


@pytest.mark.django_db
def test_only_get(scraping):
    response = Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


# --- Counted in the web process ---------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_and_a_submit_through_the_api_move_their_counters_by_one(scraping, make_user):
    project = small_project()
    client = APIClient()
    client.force_authenticate(make_user())
    before = scrape()

    claimed = claim(client, project.slug, "initial_prompt")
    assert claimed.status_code == 201
    done = submit(client, claimed.json()["id"], {"text": "Why is the sky blue at noon?"})
    assert done.status_code == 200

    after = scrape()
    assert changed(before, after, "arbor_claims") == {
        ("arbor_claims_total", labels(kind="initial_prompt", outcome="claimed")): 1.0
    }
    assert changed(before, after, "arbor_submits") == {
        ("arbor_submits_total", labels(kind="initial_prompt", outcome="submitted")): 1.0
    }


@pytest.mark.django_db
def test_refused_claims_and_submits_count_under_their_error_code(scraping, make_user):
    project = small_project()
    client = APIClient()
    client.force_authenticate(make_user())
    before = scrape()

    assert claim(client, project.slug, "initial_prompt", lang="xx").status_code == 400
    assert submit(client, 987654, {"text": "Nothing to answer."}).status_code == 404

    after = scrape()
    assert changed(before, after, "arbor_claims") == {
        ("arbor_claims_total", labels(kind="initial_prompt", outcome="invalid_language")): 1.0
    }
    assert changed(before, after, "arbor_submits") == {
        ("arbor_submits_total", labels(kind="unknown", outcome="assignment_not_found")): 1.0
    }


@pytest.mark.django_db
def test_a_claim_with_nothing_to_offer_counts_as_none_available(scraping, make_user):
    # Reviews only, and there is nothing to review yet.
    project = small_project()
    client = APIClient()
    client.force_authenticate(make_user())
    before = scrape()
    assert claim(client, project.slug, "label_initial_prompt").status_code == 204
    assert changed(before, scrape(), "arbor_claims") == {
        ("arbor_claims_total", labels(kind="label_initial_prompt", outcome="none_available")): 1.0
    }


@pytest.mark.django_db
def test_every_request_is_timed_under_its_route_method_and_status_class(scraping, make_user):
    client = APIClient()
    client.force_authenticate(make_user())
    before = scrape()
    assert client.get("/api/v1/users/me").status_code == 200
    assert client.get("/api/v1/no-such-route").status_code == 404
    after = scrape()
    counts = changed(before, after, "arbor_http_request_duration_seconds_count")
    assert counts == {
        (
            "arbor_http_request_duration_seconds_count",
            labels(view="users-me", method="GET", status="2xx"),
        ): 1.0,
        (
            "arbor_http_request_duration_seconds_count",
            labels(view="not-found", method="GET", status="4xx"),
        ): 1.0,
        # The scrape before this one.
        (
            "arbor_http_request_duration_seconds_count",
            labels(view="metrics", method="GET", status="2xx"),
        ): 1.0,
    }
    assert changed(before, after, "arbor_http_server_errors") == {}


@pytest.mark.django_db
def test_a_500_increments_the_5xx_counter(scraping, make_user, monkeypatch):
    def broken(self, request):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(ProjectListView, "get", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(make_user())
    before = scrape()
    response = client.get("/api/v1/projects/")
    assert response.status_code == 500
    after = scrape()
    assert changed(before, after, "arbor_http_server_errors") == {
        ("arbor_http_server_errors_total", labels(view="projects", method="GET")): 1.0
    }
    assert (
        value(
            after,
            "arbor_http_request_duration_seconds_count",
            view="projects",
            method="GET",
            status="5xx",
        )
        - value(
            before,
            "arbor_http_request_duration_seconds_count",
            view="projects",
            method="GET",
            status="5xx",
        )
        == 1.0
    )


# --- Read at scrape time ----------------------------------------------------------------


@pytest.mark.django_db
def test_outbox_depth_and_oldest_age_reflect_the_rows_written(scraping):
    samples = scrape()
    assert value(samples, "arbor_outbox_depth") == 0
    assert value(samples, "arbor_outbox_oldest_age_seconds") == 0
    now = timezone.now()
    for task in ("tasks.trees.score_tree", "tasks.trees.activate_waiting_trees"):
        OutboxMessage.objects.create(task_name=task, args=[1], kwargs={}, available_at=now)
    OutboxMessage.objects.filter(task_name="tasks.trees.score_tree").update(
        created_at=now - timedelta(minutes=10)
    )
    samples = scrape()
    assert value(samples, "arbor_outbox_depth") == 2
    assert 600 <= value(samples, "arbor_outbox_oldest_age_seconds") < 3600


@pytest.mark.django_db
def test_trees_per_state_match_the_database(scraping):
    project = small_project()
    author, *reviewers = people(4)
    growing, _ = make_growing_tree(project, author, reviewers)
    write_prompt(project, author)  # a second tree, in prompt_review
    halted = Tree.objects.create(project=project, lang="en", state=TreeState.SCORING_FAILED)
    samples = scrape()
    expected = {state: 0 for state in TreeState.values}
    expected.update({"growing": 1, "prompt_review": 1, "scoring_failed": 1})
    assert {state: value(samples, "arbor_trees", state=state) for state in TreeState.values} == (
        expected
    )
    assert expected == {
        state: Tree.objects.filter(state=state).count() for state in TreeState.values
    }
    assert {growing.state, halted.state} == {"growing", "scoring_failed"}


@pytest.mark.django_db
def test_stuck_trees_are_zero_normally_and_counted_when_a_tree_cannot_move(scraping):
    project = small_project()
    author, *reviewers = people(4)
    tree, _ = make_growing_tree(project, author, reviewers)
    write_prompt(project, author)  # in prompt_review, its review item waiting
    assert value(scrape(), "arbor_trees_stuck") == 0

    # Nothing left for anyone to do, yet the tree is growing: nothing can move it.
    WorkItem.objects.filter(tree=tree).update(state=WorkItemState.CLOSED)
    assert value(scrape(), "arbor_trees_stuck") == 1
    assert list(trees_stuck()) == [tree]

    # The sweep re-derives what the tree needs: it is moving again.
    sweep_run()
    assert value(scrape(), "arbor_trees_stuck") == 0


@pytest.mark.django_db(transaction=True)
def test_stuck_stays_zero_while_volunteers_take_trees_through_their_whole_life(make_user):
    # Every state a tree passes on its way to export, through the API, in the order the
    # engine hands work out, with the follow-up work (lottery, scoring) run on commit;
    # after each claim and each submit nothing is stuck.
    project = small_project()
    clients = []
    for _ in range(4):
        client = APIClient()
        client.force_authenticate(make_user())
        clients.append(client)
    seen_states: set[str] = set()
    for round_number in range(40):
        client = clients[round_number % len(clients)]
        claimed = claim(client, project.slug, "initial_prompt" if round_number < 2 else "any")
        assert not trees_stuck().exists()
        if claimed.status_code == 204:
            continue
        assert claimed.status_code == 201, claimed.content
        assignment = claimed.json()
        assert submit(client, assignment["id"], answer_for(assignment)).status_code == 200
        assert not trees_stuck().exists()
        seen_states.update(Tree.objects.values_list("state", flat=True))
    assert {"prompt_review", "growing", "ranking", "ready_for_export"} <= seen_states


@pytest.mark.django_db
def test_a_tree_left_in_scoring_past_the_retry_time_is_stuck(scraping):
    project = small_project()
    recent = Tree.objects.create(project=project, lang="en", state=TreeState.SCORING)
    stale = Tree.objects.create(project=project, lang="en", state=TreeState.SCORING)
    Tree.objects.filter(pk=stale.pk).update(state_changed_at=timezone.now() - timedelta(minutes=6))
    assert value(scrape(), "arbor_trees_stuck") == 1
    assert list(trees_stuck()) == [stale]
    assert recent not in trees_stuck()


@pytest.mark.django_db
def test_a_scrape_runs_three_statements(scraping):
    project = small_project()
    author, *reviewers = people(4)
    make_growing_tree(project, author, reviewers)
    client = Client()
    scrape(client)  # anything loaded once per process is loaded
    with CaptureQueriesContext(connection) as queries:
        scrape(client)
    # The outbox's depth and age; trees per state; stuck trees.
    assert len(queries) == 3, [query["sql"] for query in queries]


@pytest.mark.django_db
def test_the_celery_queue_length_is_absent_in_eager_mode(scraping):
    assert (not django_settings.REDIS_URL) == django_settings.CELERY_TASK_ALWAYS_EAGER
    if django_settings.REDIS_URL:
        pytest.skip("the broker is Redis here: the next test covers it")
    samples = scrape()
    assert not [key for key in samples if key[0] == "arbor_celery_queue_length"]
    assert metrics.celery_queue_length() is None


@pytest.mark.django_db
def test_the_celery_queue_length_is_the_broker_lists_length(scraping, settings):
    if not django_settings.REDIS_URL:
        pytest.skip("needs a real Redis broker: set REDIS_URL=redis://... to run it; CI does")
    import redis

    queue = f"arbor-metrics-test-{os.getpid()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        assert value(scrape(), "arbor_celery_queue_length") == 0
        client.rpush(queue, "one", "two")
        client.rpush(f"{queue}\x06\x163", "three")  # a priority step's list
        assert value(scrape(), "arbor_celery_queue_length") == 3
    finally:
        client.delete(queue, f"{queue}\x06\x163")


@pytest.mark.django_db
def test_a_failing_collector_is_reported_and_the_rest_still_answer(scraping, monkeypatch):
    def broken() -> Iterator:
        raise RuntimeError("the source is down")

    monkeypatch.setitem(metrics._scrape_collectors, "broken", broken)
    samples = scrape()
    assert value(samples, "arbor_scrape_collector_up", collector="broken") == 0
    assert value(samples, "arbor_scrape_collector_up", collector="trees") == 1
    assert value(samples, "arbor_scrape_collector_up", collector="outbox") == 1
    assert ("arbor_outbox_depth", frozenset()) in samples


# --- Several web processes --------------------------------------------------------------

COUNT_ONE_CLAIM = """
import django
django.setup()
from backend.common.metrics import claim_counted, request_observe
claim_counted(kind="initial_prompt", outcome="claimed")
"""


@pytest.mark.django_db
def test_a_scrape_adds_up_the_counts_of_every_web_process(scraping, tmp_path, monkeypatch):
    directory = metrics.multiprocess_directory_prepare(tmp_path / "metrics")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        metrics.MULTIPROCESS_ENVIRONMENT_VARIABLE: str(directory),
    }
    for _ in range(2):  # two processes, one claim each
        subprocess.run(
            [sys.executable, "-c", COUNT_ONE_CLAIM], cwd=ROOT, env=environment, check=True
        )
    monkeypatch.setenv(metrics.MULTIPROCESS_ENVIRONMENT_VARIABLE, str(directory))
    samples = scrape()
    assert value(samples, "arbor_claims_total", kind="initial_prompt", outcome="claimed") == 2
    # The scrape-time figures come along.
    assert value(samples, "arbor_outbox_depth") == 0

    # A new server starts from nothing.
    metrics.multiprocess_directory_prepare(directory)
    assert list(directory.iterdir()) == []
    assert value(scrape(), "arbor_claims_total", kind="initial_prompt", outcome="claimed") == 0
