"""Backups restore: a dump of a database with trees in it, restored into a fresh
database, exports the same bytes as the original (docs/operations.md, "Backups").

PostgreSQL: real ``pg_dump -Fc`` and ``pg_restore`` into a new database on the same
server. SQLite (the embedded mode): the online backup API (what ``sqlite3 .backup``
does) into a new file. Both export with ``manage.py export`` in a child process
pointed at the restored database, with a fixed anonymisation secret, so that ids come
out the same when the data is the same.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from backend.exports.services import import_file
from backend.projects.services import project_create
from tests.private_servers import ROOT, _postgres_binary

pytestmark = pytest.mark.django_db(transaction=True)

OASST = ROOT.parent / "shared" / "data" / "oasst" / "en_100_tree.jsonl"
SECRET = "backup-restore-fixed-secret"
EXPORTS = (
    ("oasst-trees", ["--state", "all", "--with-events"]),
    ("preferences", ["--state", "all"]),
)


@pytest.fixture
def imported(db: None) -> str:
    if not OASST.exists():
        pytest.skip(f"needs the Open-Assistant sample {OASST.name} (../shared/data/oasst/)")
    project_create(slug="backup", name="Backup check")
    report = import_file(
        path=str(OASST),
        project_slug="backup",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    assert report.trees_created == 100, report
    return "backup"


def _environment(**overrides: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH")
    }
    environment.update(REDIS_URL="", **overrides)
    return environment


def _export(environment: dict[str, str], project: str, directory: Path, tag: str) -> list[bytes]:
    files = []
    for format, options in EXPORTS:
        output = directory / f"{tag}-{format}.jsonl"
        subprocess.run(
            [
                sys.executable, "manage.py", "export", "--project", project, "--format", format,
                "--output", str(output), "--secret", SECRET, "--no-progress", *options,
            ],
            cwd=ROOT, env=environment, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        files.append(output.read_bytes())
    return files


def _postgres_url(name: str) -> str:
    options = connection.settings_dict
    credentials = options["USER"] + (f":{options['PASSWORD']}" if options["PASSWORD"] else "")
    return f"postgresql://{credentials}@{options['HOST']}:{options['PORT'] or 5432}/{name}"


def _pg_tool(name: str) -> str:
    path = _postgres_binary(name)
    if path is None:
        pytest.skip(f"needs PostgreSQL's {name}")
    return path


@pytest.mark.postgres
def test_a_pg_dump_restored_into_a_fresh_database_exports_the_same_bytes(imported, tmp_path):
    import psycopg

    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")
    original = connection.settings_dict["NAME"]
    before = _export(_environment(DATABASE_URL=_postgres_url(original)), imported, tmp_path, "a")
    assert all(before) and before[0].count(b"\n") >= 90  # trees, one per line

    dump = tmp_path / "arbor.dump"
    subprocess.run(
        [pg_dump, "--format=custom", "--file", str(dump), "--dbname", _postgres_url(original)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    restored = f"{original}_restored"
    with psycopg.connect(_postgres_url("postgres"), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", "--dbname", _postgres_url(restored),
             str(dump)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        after = _export(_environment(DATABASE_URL=_postgres_url(restored)), imported, tmp_path, "b")
    finally:
        with psycopg.connect(_postgres_url("postgres"), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    assert after == before


def test_a_sqlite_backup_exports_the_same_bytes(imported, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded mode's SQLite backup: the SQLite default only")
    original = Path(connection.settings_dict["NAME"])
    before = _export(_environment(SQLITE_PATH=str(original)), imported, tmp_path, "a")
    assert all(before) and before[0].count(b"\n") >= 90  # trees, one per line

    copy = tmp_path / "backup.sqlite3"
    with sqlite3.connect(original) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    restored = tmp_path / "restored.sqlite3"
    shutil.copy(copy, restored)  # what restoring is: the file put back in place
    after = _export(_environment(SQLITE_PATH=str(restored)), imported, tmp_path, "b")
    assert after == before
