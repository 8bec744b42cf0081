"""The command-line contract, run as an operator runs it: ``python manage.py …`` in a
fresh process on its own SQLite file (Django parses ``--settings`` before any command
runs, which only a real process shows)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manage(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    database = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env["SQLITE_PATH"] = str(database)

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("migrate", "--noinput", "-v0").returncode == 0
    run.database = database  # type: ignore[attr-defined]
    return run


def _project_row(database: Path, slug: str) -> tuple:  # type: ignore[type-arg]
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT goal_tree_size, max_depth, languages FROM projects_project WHERE slug = ?",
            (slug,),
        ).fetchone()


def test_create_project_applies_settings_json(manage):
    done = manage(
        "create_project",
        "chat",
        "--languages",
        "en,de",
        "--settings",
        '{"goal_tree_size": 3, "max_depth": 2}',
    )
    assert done.returncode == 0, done.stderr
    goal, depth, languages = _project_row(manage.database, "chat")
    assert (goal, depth, json.loads(languages)) == (3, 2, ["en", "de"])


def test_create_project_accepts_the_equals_spelling(manage):
    done = manage("create_project", "chat2", '--settings={"goal_tree_size": 5}')
    assert done.returncode == 0, done.stderr
    assert _project_row(manage.database, "chat2")[0] == 5


def test_create_project_refuses_bad_settings_and_creates_nothing(manage):
    unknown = manage("create_project", "bad1", "--settings", '{"goal_size": 3}')
    invalid = manage("create_project", "bad2", "--settings", '{"max_depth": 0}')
    not_json = manage("create_project", "bad3", "--settings", "{goal")
    assert unknown.returncode != 0 and "unknown_setting" in unknown.stderr
    assert invalid.returncode != 0 and "max_depth" in invalid.stderr
    assert not_json.returncode != 0 and "not JSON" in not_json.stderr
    for slug in ("bad1", "bad2", "bad3"):
        assert _project_row(manage.database, slug) is None


def test_create_user_with_token_prints_the_token_last(manage):
    done = manage(
        "create_user",
        "op",
        "--password",
        "long-enough-pw",
        "--role",
        "researcher",
        "--email",
        "op@example.org",
        "--token",
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    with sqlite3.connect(manage.database) as connection:
        stored = connection.execute(
            "SELECT t.key FROM authtoken_token t JOIN accounts_user u ON u.id = t.user_id "
            "WHERE u.username = 'op'"
        ).fetchone()
        verified = connection.execute(
            "SELECT verified FROM account_emailaddress WHERE email = 'op@example.org'"
        ).fetchone()
        group = connection.execute(
            "SELECT g.name FROM auth_group g JOIN accounts_user_groups ug ON ug.group_id = g.id "
            "JOIN accounts_user u ON u.id = ug.user_id WHERE u.username = 'op'"
        ).fetchone()
    assert stored == (token,)
    assert verified == (1,)
    assert group == ("researcher",)
