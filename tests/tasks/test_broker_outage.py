"""A Redis outage loses no accepted submission.

Everything runs as separate processes against a private Redis on its own port: the
ASGI server (uvicorn) and, later, a Celery worker with beat. The test kills Redis
while volunteers submit, checks that every submission was answered 200 and stored,
then brings Redis back and checks that the sweep finishes the tree that was waiting
for scoring when the broker was down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.services import user_create, user_token
from backend.assignments.models import RankingVote
from backend.projects.services import project_create
from backend.trees.models import Tree, TreeState
from tests.helpers import answer_for
from tests.private_servers import PrivateRedis
from tests.private_servers import free_port as _free_port
from tests.private_servers import wait_for_port as _wait_for_port

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]

ROOT = Path(__file__).resolve().parents[2]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def stack(transactional_db) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary to run a private Redis")
    redis = PrivateRedis()
    redis.start()
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgresql://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": redis.url,
        "ARBOR_SWEEP_INTERVAL_SECONDS": "1",
    }
    web_port = _free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    processes = [web]
    try:
        _wait_for_port(web_port)
        yield {
            "redis": redis,
            "env": env,
            "base": f"http://127.0.0.1:{web_port}",
            "processes": processes,
        }
    finally:
        for process in processes:
            _stop(process)
        if redis.process and redis.process.poll() is None:
            redis.kill()


def test_submissions_survive_a_redis_outage_and_the_sweep_finishes_the_tree(stack, tmp_path):
    project = project_create(
        slug="outage",
        settings={
            "goal_tree_size": 3,
            "max_depth": 1,
            "max_children": 2,
            "num_reviews_initial_prompt": 1,
            "num_reviews_reply": 1,
            "num_required_rankings": 1,
            "replies_per_minute": 1000,
            "requests_per_minute": 1000,
        },
    )
    clients = []
    for index in range(3):
        user = user_create(username=f"outage{index}", password="pw-for-tests")
        clients.append(
            httpx.Client(
                base_url=str(stack["base"]),
                headers={"Authorization": f"Token {user_token(user=user)}"},
                timeout=30,
            )
        )

    def claim(client: httpx.Client, kind: str = "any") -> dict | None:
        response = client.post(
            "/api/v1/assignments/", json={"project": project.slug, "lang": "en", "kind": kind}
        )
        assert response.status_code in (201, 204), response.text
        return response.json() if response.status_code == 201 else None

    # Grow one tree up to its last missing ranking with Redis up (the lottery runs in
    # the web process's on-commit hook only as a Celery task, so no worker = no
    # lottery: activate by running the sweep in a worker below instead).
    first = claim(clients[0], "initial_prompt")
    assert first is not None
    assert (
        clients[0]
        .post(f"/api/v1/assignments/{first['id']}/submit", json=answer_for(first))
        .status_code
        == 200
    )
    review = claim(clients[1], "label_initial_prompt")
    assert review is not None
    assert (
        clients[1]
        .post(f"/api/v1/assignments/{review['id']}/submit", json=answer_for(review))
        .status_code
        == 200
    )
    tree = Tree.objects.get(project=project)
    assert tree.state == TreeState.BACKLOG  # accepted; the lottery task sits in Redis

    redis = stack["redis"]
    redis.kill()  # type: ignore[attr-defined]
    # With the broker down the lottery cannot run in Celery; the sweep's own lottery
    # (run here directly, as beat would) activates the tree, then volunteers work on.
    from backend.assignments.lottery import trees_activate_waiting

    assert trees_activate_waiting(project_id=project.pk, lang="en") == [tree.pk]
    answered = []
    for _ in range(30):
        for client in clients:
            assignment = claim(client)
            if assignment is None or assignment["kind"] == "initial_prompt":
                if assignment is not None:
                    client.post(f"/api/v1/assignments/{assignment['id']}/skip", json={})
                continue
            response = client.post(
                f"/api/v1/assignments/{assignment['id']}/submit", json=answer_for(assignment)
            )
            answered.append(response.status_code)
        tree.refresh_from_db()
        if tree.state == TreeState.SCORING:
            break
    assert answered and set(answered) == {200}
    tree.refresh_from_db()
    assert tree.state == TreeState.SCORING  # the scoring task could not be queued
    assert RankingVote.objects.filter(parent=tree.root).count() == 1

    # Redis comes back (empty, as after a crash) and a worker with beat starts: the
    # sweep re-queues the scoring of a tree left in ``scoring`` too long.
    redis.start()  # type: ignore[attr-defined]
    Tree.objects.filter(pk=tree.pk).update(state_changed_at=timezone.now() - timedelta(minutes=10))
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "--beat",
            "--pool=solo",
            "--loglevel=warning",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=stack["env"],  # type: ignore[arg-type]
    )
    stack["processes"].append(worker)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tree.refresh_from_db()
        if tree.state == TreeState.READY_FOR_EXPORT:
            break
        time.sleep(0.5)
    assert tree.state == TreeState.READY_FOR_EXPORT
    ranks = sorted(tree.messages.filter(parent=tree.root).values_list("rank", flat=True))
    assert ranks == [0, 1]
