"""Export benchmark: N synthetic messages on PostgreSQL, exported as oasst-trees JSONL.

    python bench/export_bench.py                    # 1,000,000 messages (the target)
    python bench/export_bench.py --messages 100000  # quicker

Creates a fresh database (``arbor_bench_export`` on the server ``DATABASE_URL`` names,
default ``postgresql://postgres@127.0.0.1:5432/postgres``), migrates it, fills it with
COPY and runs ``manage.py export`` in a child process, whose wall time and peak RSS
(``wait4``'s ``ru_maxrss``) are the export's figures. Generation is timed separately.
The database is dropped at the end (``--keep`` keeps it).

The data is shaped like Open-Assistant's: trees of 10 messages, five levels deep, every
sibling group ranked (3 rankings each), 3 reviews per message with ``spam`` and
``quality`` labels (6 label votes per message), an emoji on one message in five, prompts
of ~120 characters and assistant replies of ~600 (some non-ASCII). The export is the
default one — ready_for_export trees, labels aggregated, ids anonymised — so it reads
the label votes too. Target (DESIGN): 1M messages in ≤ 60 s within 300 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
MESSAGES_PER_TREE = 10
# (parent index within the tree or None, role, rank among siblings or None); depth 0–5.
SHAPE = [
    (None, "prompter", None),  # 0
    (0, "assistant", 0),  # 1
    (0, "assistant", 1),  # 2
    (0, "assistant", 2),  # 3
    (1, "prompter", 0),  # 4
    (1, "prompter", 1),  # 5
    (4, "assistant", 0),  # 6
    (4, "assistant", 1),  # 7
    (6, "prompter", None),  # 8
    (8, "assistant", None),  # 9
]
RANKED_GROUPS = {0: [1, 2, 3], 1: [4, 5], 4: [6, 7]}
USERS = 1000
REVIEWERS_PER_MESSAGE = 3
RANKINGS_PER_GROUP = 3
_VOCABULARY = (
    "the of and to in is that it for as with was on be by this are or from at an which "
    "model tree answer question data reply rank label export stream python database "
    "naïve café résumé über straße 東京 данные"
)
WORDS = _VOCABULARY.split(" ")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def server_url() -> str:
    return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def recreate(url: str, name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def manage(*args: str, database_url: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        capture_output=True,
        **kwargs,  # type: ignore[arg-type]
    )


def text_pool(rng: random.Random, size: int, mean_words: int) -> list[str]:
    pool = []
    for _ in range(size):
        count = max(3, int(rng.gauss(mean_words, mean_words / 3)))
        pool.append(" ".join(rng.choice(WORDS) for _ in range(count)).capitalize() + ".")
    return pool


SETUP = """
from backend.accounts.models import User
from backend.projects.services import project_create
project = project_create(slug="bench", settings={"goal_tree_size": 10})
User.objects.bulk_create([User(username=f"bench{n}", password="!") for n in range(%d)])
print(project.pk, User.objects.order_by("pk").first().pk)
"""


def generate(database_url: str, messages: int) -> dict[str, int]:
    """The project and people through Django, the rest with COPY; returns row counts."""
    printed = manage("shell", "-c", SETUP % USERS, database_url=database_url).stdout
    project_id, first_user = map(int, printed.strip().splitlines()[-1].split())
    rng = random.Random(42)
    trees = messages // MESSAGES_PER_TREE
    prompts = text_pool(rng, 500, 20)
    answers = text_pool(rng, 2000, 100)
    counts = {"trees": trees, "messages": trees * MESSAGES_PER_TREE}
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        # The rows are consistent by construction: skip the per-row foreign-key triggers
        # (needs a superuser, as the postgres role is here) so 8M rows load in minutes.
        cursor.execute("SET session_replication_role = replica")
        with cursor.copy(
            "COPY trees_tree (id, project_id, lang, state, halted_from_state, root_id, created_at,"
            " state_changed_at, origin_id, scoring_failures) FROM STDIN"
        ) as copy:
            for tree in range(trees):
                created = T0 + timedelta(seconds=tree)
                root = tree * MESSAGES_PER_TREE + 1
                copy.write_row(
                    (
                        tree + 1,
                        project_id,
                        "en",
                        "ready_for_export",
                        "",
                        root,
                        created,
                        created,
                        "",
                        0,
                    )
                )
        with cursor.copy(
            "COPY trees_message (id, tree_id, parent_id, depth, role, text, text_digest, lang,"
            " author_id, synthetic, model_name, review_count, review_result, rank, is_deleted,"
            " created_at, origin_id) FROM STDIN"
        ) as copy:
            for tree in range(trees):
                base = tree * MESSAGES_PER_TREE
                created = T0 + timedelta(seconds=tree)
                depths: list[int] = []
                for index, (parent, role, rank) in enumerate(SHAPE):
                    depth = 0 if parent is None else depths[parent] + 1
                    depths.append(depth)
                    pool = prompts if role == "prompter" else answers
                    text = pool[(base + index * 7919) % len(pool)]
                    copy.write_row(
                        (
                            base + index + 1,
                            tree + 1,
                            None if parent is None else base + parent + 1,
                            depth,
                            role,
                            text,
                            hashlib.sha256(f"{base + index}".encode()).hexdigest(),
                            "en",
                            first_user + rng.randrange(USERS),
                            False,
                            "",
                            REVIEWERS_PER_MESSAGE,
                            True,
                            rank,
                            False,
                            created + timedelta(milliseconds=index),
                            "",
                        )
                    )
        label_votes = 0
        with cursor.copy(
            "COPY consensus_labelvote (message_id, user_id, label, value, created_at) FROM STDIN"
        ) as copy:
            for message_id in range(1, counts["messages"] + 1):
                first = first_user + (message_id * 37) % (USERS - REVIEWERS_PER_MESSAGE)
                for reviewer in range(first, first + REVIEWERS_PER_MESSAGE):
                    copy.write_row((message_id, reviewer, "spam", 0.0, T0))
                    copy.write_row(
                        (message_id, reviewer, "quality", rng.choice((0.5, 0.75, 1.0)), T0)
                    )
                    label_votes += 2
        counts["label_votes"] = label_votes
        rankings = 0
        with cursor.copy(
            "COPY consensus_rankingvote (parent_id, user_id, ranking, created_at) FROM STDIN"
        ) as copy:
            for tree in range(trees):
                base = tree * MESSAGES_PER_TREE + 1
                for parent, group in RANKED_GROUPS.items():
                    first = first_user + (tree * 11 + parent) % (USERS - RANKINGS_PER_GROUP)
                    order = [base + index for index in group]
                    for ranker in range(first, first + RANKINGS_PER_GROUP):
                        copy.write_row((base + parent, ranker, str(order).replace(" ", ""), T0))
                        rankings += 1
        counts["ranking_votes"] = rankings
        with cursor.copy(
            "COPY trees_reaction (message_id, user_id, emoji, created_at) FROM STDIN"
        ) as copy:
            for message_id in range(1, counts["messages"] + 1, 5):
                copy.write_row((message_id, first_user + message_id % USERS, "+1", T0))
        counts["reactions"] = (counts["messages"] + 4) // 5
        for table in ("trees_tree", "trees_message"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        connection.commit()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return counts


def existing_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        counts = {}
        for name, table in (("trees", "trees_tree"), ("messages", "trees_message")):
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[name] = row[0] if row else 0
        return counts


def run_export(
    database_url: str, output: Path, export_format: str
) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in bytes, the command's summary line) of one export.

    Run as in production: ``DJANGO_DEBUG`` off (debug mode records every query).
    """
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "0"}
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "export",
            "--project",
            "bench",
            "--format",
            export_format,
            "--output",
            str(output),
            "--secret",
            "bench-secret",
            "--no-progress",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"export failed ({process.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss * 1024, stdout.strip()  # ru_maxrss: KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--format", default="oasst-trees")
    parser.add_argument("--database", default="arbor_bench_export")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="export from the database a --keep run left (no generation)",
    )
    parser.add_argument("--output", help="export file (default: a temporary file, removed)")
    arguments = parser.parse_args()

    url = server_url()
    database_url = with_database(url, arguments.database)
    print(
        f"export bench: {arguments.messages:,} messages, format {arguments.format}, "
        f"database {arguments.database}"
    )
    if not arguments.reuse:
        recreate(url, arguments.database)
    try:
        started = time.perf_counter()
        manage("migrate", "--verbosity", "0", database_url=database_url)
        migrated = time.perf_counter() - started
        if arguments.reuse:
            counts = existing_counts(database_url)
            print("reusing: " + ", ".join(f"{value:,} {name}" for name, value in counts.items()))
        else:
            started = time.perf_counter()
            counts = generate(database_url, arguments.messages)
            generated = time.perf_counter() - started
            print(
                f"generated in {generated:.1f} s (+ {migrated:.1f} s migrate): "
                + ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in counts.items())
            )
        with tempfile.TemporaryDirectory(prefix="arbor-export-bench-") as directory:
            suffix = {"parquet": ".parquet", "hf-dataset": ".zip"}.get(arguments.format, ".jsonl")
            output = (
                Path(arguments.output) if arguments.output else Path(directory) / f"export{suffix}"
            )
            elapsed, cpu, peak_rss, summary = run_export(database_url, output, arguments.format)
            size = output.stat().st_size
        rate = counts["messages"] / elapsed
        print(f"export: {summary}")
        print(
            f"export time {elapsed:.1f} s, {rate:,.0f} messages/s, "
            f"peak RSS {peak_rss / 2**20:.0f} MB, file {size / 2**20:.0f} MB; "
            f"CPU time of the export process {cpu:.1f} s (user + system)"
        )
        if counts["messages"] >= 1_000_000:
            time_ok = elapsed <= 60 * counts["messages"] / 1_000_000
            print(
                f"target (1M messages ≤ 60 s, ≤ 300 MB): time {'met' if time_ok else 'MISSED'}, "
                f"memory {'met' if peak_rss <= 300 * 2**20 else 'MISSED'}"
            )
        print(
            "machine load (1/5/15 min): "
            + " ".join(f"{value:.1f}" for value in os.getloadavg())
            + f" on {os.cpu_count()} cores"
        )
        self_usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(bench process itself, generation included: peak RSS {self_usage:.0f} MB)")
    finally:
        if not arguments.keep and not arguments.reuse:
            recreate(url, arguments.database, drop_only=True)


if __name__ == "__main__":
    main()
