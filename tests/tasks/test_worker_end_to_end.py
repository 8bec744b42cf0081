"""The whole flow on PostgreSQL with a real Celery worker process (not eager).

Scoring and the prompt lottery run in the worker, so trees only reach
``ready_for_export`` if tasks really travel through Redis and the worker's own
database connection sees what the web side committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from backend.trees.models import Tree, TreeState
from tests.helpers import do_one

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker_process(transactional_db):  # type: ignore[no-untyped-def]
    if not settings.REDIS_URL:
        pytest.skip("needs a real Redis broker: set REDIS_URL=redis://... to run it; CI does")
    from tasks.celery import app

    app.control.purge()
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgresql://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "--pool=solo",
            "--loglevel=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.inspect(timeout=1).ping():
            break
        if worker.poll() is not None:
            pytest.fail(f"the Celery worker exited with {worker.returncode}")
    else:
        worker.kill()
        pytest.fail("the Celery worker did not answer a ping within 30 s")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def test_trees_complete_with_a_real_worker(
    celery_worker_process, make_user, make_project, client_for
):
    project = make_project(
        slug="worker-e2e",
        goal_tree_size=3,
        max_depth=1,
        max_children=2,
        num_reviews_initial_prompt=2,
        num_reviews_reply=2,
        num_required_rankings=2,
        max_active_trees=2,
        replies_per_minute=1000,
        requests_per_minute=1000,
    )
    clients = [client_for(make_user()) for _ in range(4)]
    for client in clients[:2]:
        do_one(client, project.slug, kind="initial_prompt")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for client in clients:
            do_one(client, project.slug, kind="any")
        if Tree.objects.filter(project=project, state=TreeState.READY_FOR_EXPORT).count() >= 2:
            break
        time.sleep(0.05)
    ready = list(Tree.objects.filter(project=project, state=TreeState.READY_FOR_EXPORT))
    assert len(ready) >= 2, dict(Tree.objects.filter(project=project).values_list("pk", "state"))
    for tree in ready:
        ranks = sorted(
            message.rank
            for message in tree.messages.filter(parent__isnull=False, review_result=True)
        )
        assert ranks == [0, 1]
    # The sweep also runs in the worker and finds nothing to fix.
    from celery.result import EagerResult

    from tasks.assignments import sweep

    async_result = sweep.apply_async(ignore_result=False)
    assert not isinstance(async_result, EagerResult)
    # The test process is no Celery task, but an earlier test may have left Celery's
    # process-wide "inside a task" flag set; waiting for a worker's result is safe here.
    assert async_result.get(timeout=60, disable_sync_subtasks=False)["expired"] == 0
