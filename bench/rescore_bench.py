"""Rescore benchmark: 100,000 ranking groups and 1,000,000 label votes on PostgreSQL.

    python bench/rescore_bench.py                       # the target size
    python bench/rescore_bench.py --groups 10000 --label-votes 100000   # quicker

Creates a fresh database (``arbor_bench_rescore`` on the server ``DATABASE_URL`` names,
default ``postgresql://postgres@127.0.0.1:5432/postgres``) with psycopg, migrates it,
fills it with COPY and runs ``manage.py rescore --project bench`` in a child process,
whose wall time and peak RSS (``wait4``'s ``ru_maxrss``) are the rescore's figures.
Generation is timed separately. A second rescore then shows the idempotent case
(nothing changed, nothing written). The database is dropped at the end (``--keep``
keeps it).

The data: trees of 13 messages, ready for export, each with four ranked sibling
groups of 3, 2, 3 and 4 replies, every group ranked by 3 people
through a closed ranking work item, each ballot with the shuffled order its voter was
shown; 2,000 people: most rank by a noisy view of each reply's latent quality and label
accurately, some flip every flag, some vote at random, some always put the first (or
last) reply shown on top. A third of the messages are reviewed by 3 people answering
``spam``, ``lang_mismatch`` and ``quality`` (9 votes a message), 500 of them with a
gold ``spam`` answer. Message ranks are preset as ``tree_score`` leaves them, computed
with the per-group reference ``ranked_pairs``, so the rescore (vectorised) must report
``ranks_changed=0``; ``--unranked`` leaves them empty (every rank written: the worst
case). Target (DESIGN): a full rescore in ≤ 60 s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DATABASE_NAME = "arbor_bench_rescore"
T0 = datetime(2025, 1, 1, tzinfo=UTC)

# (parent index within the tree or None, role); groups are the parents with replies.
SHAPE = [
    (None, "prompter"),  # 0: the prompt
    (0, "assistant"),  # 1
    (0, "assistant"),  # 2
    (0, "assistant"),  # 3   group under 0: 3 replies
    (1, "prompter"),  # 4
    (1, "prompter"),  # 5   group under 1: 2 replies
    (2, "prompter"),  # 6
    (2, "prompter"),  # 7
    (2, "prompter"),  # 8   group under 2: 3 replies
    (4, "assistant"),  # 9
    (4, "assistant"),  # 10
    (4, "assistant"),  # 11
    (4, "assistant"),  # 12  group under 4: 4 replies
]
GROUPS = {0: [1, 2, 3], 1: [4, 5], 2: [6, 7, 8], 4: [9, 10, 11, 12]}
RANKERS_PER_GROUP = 3
REVIEWERS_PER_MESSAGE = 3
LABELS = ("spam", "lang_mismatch", "quality")
GOLD_MESSAGES = 500
PEOPLE = 2000
# Kinds of people and their shares.
KINDS = [("good", 0.85), ("flipper", 0.05), ("random", 0.04), ("first", 0.03), ("last", 0.03)]


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


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        capture_output=True,
    )


def measured_rescore(database_url: str) -> tuple[float, float, str]:
    """Run the rescore command in a child; (seconds, peak RSS in MB, its output)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "rescore", "--project", "bench"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rescore failed:\n{output}")
    return elapsed, usage.ru_maxrss / 1024.0, output


# --- Generation (inside Django, against the bench database) ----------------------------


def copy_rows(model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into ``model``'s table; columns not given get the field's default."""
    from django.db import connection, models
    from psycopg.types.json import Jsonb

    fields = {field.column: field for field in model._meta.concrete_fields}
    # Unlisted columns get their default; an unlisted id comes from its sequence.
    missing = [
        column for column in fields if column not in columns and column != model._meta.pk.column
    ]
    defaults = [fields[column].get_default() for column in missing]
    is_json = [isinstance(fields[column], models.JSONField) for column in (*columns, *missing)]
    table = model._meta.db_table
    names = ", ".join(f'"{column}"' for column in (*columns, *missing))
    count = 0
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            values = (*row, *defaults)
            copy.write_row(
                [
                    Jsonb(value) if json else value
                    for value, json in zip(values, is_json, strict=True)
                ]
            )
            count += 1
    return count


def reset_sequences(models: Iterable[Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
            )


def generate(
    groups_wanted: int, label_votes_wanted: int, seed: int, *, preset_ranks: bool
) -> dict[str, int]:
    from backend.accounts.models import User
    from backend.assignments.models import Assignment, LabelVote, RankingVote, WorkItem
    from backend.consensus.models import GoldLabel
    from backend.projects.services import project_create
    from backend.trees.models import Message, Tree

    rng = random.Random(seed)
    project = project_create(slug="bench", settings={"goal_tree_size": len(SHAPE)})
    User.objects.bulk_create(
        [User(username=f"bench{number}", password="!") for number in range(PEOPLE)]
    )
    people = list(User.objects.order_by("pk").values_list("pk", flat=True))
    kind_of = {person: draw_kind(rng) for person in people}

    groups_per_tree = len(GROUPS)
    trees = -(-groups_wanted // groups_per_tree)
    messages_per_tree = len(SHAPE)
    counts: dict[str, int] = {}

    def tree_rows() -> Iterable[Sequence[Any]]:
        for tree in range(trees):
            created = T0 + timedelta(seconds=tree)
            yield (
                tree + 1,
                project.pk,
                "en",
                "ready_for_export",
                tree * messages_per_tree + 1,
                created,
                created,
            )

    counts["trees"] = copy_rows(
        Tree,
        ("id", "project_id", "lang", "state", "root_id", "created_at", "state_changed_at"),
        tree_rows(),
    )

    quality = [rng.gauss(0.0, 1.0) for _ in range(trees * messages_per_tree + 1)]

    # Ranking: one closed work item per group, an assignment per ballot (with the
    # shuffled order shown), the ballot itself.
    items: list[tuple[int, int, int, str, list[int]]] = []
    ballots: list[tuple[int, int, int, int, list[int], list[int], datetime]] = []
    for tree in range(trees):
        base = tree * messages_per_tree
        for parent, replies in GROUPS.items():
            if len(items) >= groups_wanted:
                break
            parent_pk = base + parent + 1
            candidates = [base + reply + 1 for reply in replies]
            kind = (
                "rank_assistant_replies"
                if SHAPE[parent][1] == "prompter"
                else ("rank_prompter_replies")
            )
            item_id = len(items) + 1
            items.append((item_id, tree + 1, parent_pk, kind, candidates))
            for ranker in rng.sample(people, RANKERS_PER_GROUP):
                shown = candidates[:]
                rng.shuffle(shown)
                ballots.append(
                    (
                        item_id,
                        parent_pk,
                        ranker,
                        tree + 1,
                        shown,
                        ranking_by(kind_of[ranker], shown, quality, rng),
                        T0 + timedelta(seconds=rng.randrange(10**7)),
                    )
                )

    # Ranks as the lifecycle leaves them (``tree_score``: ranked pairs over each group's
    # ballots, earliest first), computed with the per-group reference implementation;
    # the rescore must agree with it. ``--unranked`` leaves them empty instead.
    ranks: dict[int, int] = {}
    if preset_ranks:
        from backend.consensus.algorithms.ranked_pairs import ranked_pairs

        by_item: dict[int, list[tuple[datetime, int, list[int]]]] = {}
        for item, _, ranker, _, _, ranking, created in ballots:
            by_item.setdefault(item, []).append((created, ranker, ranking))
        for group in by_item.values():
            group.sort(key=lambda ballot: (ballot[0], ballot[1]))
            for position, pk in enumerate(ranked_pairs([ballot[2] for ballot in group]).order):
                ranks[pk] = position

    def message_rows() -> Iterable[Sequence[Any]]:
        for tree in range(trees):
            base = tree * messages_per_tree
            depths: list[int] = []
            for index, (parent, role) in enumerate(SHAPE):
                pk = base + index + 1
                depth = 0 if parent is None else depths[parent] + 1
                depths.append(depth)
                text = f"message {pk}: a {role} turn of depth {depth}."
                yield (
                    pk,
                    tree + 1,
                    None if parent is None else base + parent + 1,
                    depth,
                    role,
                    text,
                    hashlib.sha256(text.encode()).hexdigest(),
                    "en",
                    people[pk % len(people)],
                    REVIEWERS_PER_MESSAGE,
                    True,
                    ranks.get(pk),
                    T0 + timedelta(seconds=tree, milliseconds=index),
                )

    counts["messages"] = copy_rows(
        Message,
        (
            "id",
            "tree_id",
            "parent_id",
            "depth",
            "role",
            "text",
            "text_digest",
            "lang",
            "author_id",
            "review_count",
            "review_result",
            "rank",
            "created_at",
        ),
        message_rows(),
    )

    counts["ranking_groups"] = copy_rows(
        WorkItem,
        (
            "id",
            "project_id",
            "tree_id",
            "target_id",
            "kind",
            "lang",
            "state",
            "required",
            "open_slots",
            "completed_count",
            "candidate_ids",
            "created_at",
        ),
        (
            (
                item,
                project.pk,
                tree,
                target,
                kind,
                "en",
                "closed",
                RANKERS_PER_GROUP,
                0,
                RANKERS_PER_GROUP,
                candidates,
                T0,
            )
            for item, tree, target, kind, candidates in items
        ),
    )
    kind_by_item = {item: kind for item, _, _, kind, _ in items}
    copy_rows(
        Assignment,
        (
            "id",
            "project_id",
            "user_id",
            "work_item_id",
            "kind",
            "lang",
            "state",
            "created_at",
            "expires_at",
            "finished_at",
            "candidate_ids",
        ),
        (
            (
                number + 1,
                project.pk,
                ranker,
                item,
                kind_by_item[item],
                "en",
                "submitted",
                created,
                created + timedelta(hours=1),
                created,
                shown,
            )
            for number, (item, _, ranker, _, shown, _, created) in enumerate(ballots)
        ),
    )
    counts["ranking_votes"] = copy_rows(
        RankingVote,
        ("parent_id", "work_item_id", "user_id", "assignment_id", "ranking", "created_at"),
        (
            (parent, item, ranker, number + 1, ranking, created)
            for number, (item, parent, ranker, _, _, ranking, created) in enumerate(ballots)
        ),
    )

    # Reviews: a random third of the messages, 3 people, 3 labels each.
    message_ids = list(range(1, trees * messages_per_tree + 1))
    rng.shuffle(message_ids)
    per_message = REVIEWERS_PER_MESSAGE * len(LABELS)
    reviewed = message_ids[: label_votes_wanted // per_message + 1]
    truth = {pk: (rng.random() < 0.08, rng.random() < 0.04, likert(quality[pk])) for pk in reviewed}

    def label_rows() -> Iterable[Sequence[Any]]:
        written = 0
        for pk in reviewed:
            spam, mismatch, scale = truth[pk]
            for reviewer in rng.sample(people, REVIEWERS_PER_MESSAGE):
                kind = kind_of[reviewer]
                created = T0 + timedelta(seconds=rng.randrange(10**7))
                answers = (
                    ("spam", flag_vote(kind, spam, rng)),
                    ("lang_mismatch", flag_vote(kind, mismatch, rng)),
                    ("quality", scale_vote(kind, scale, rng)),
                )
                for label, value in answers:
                    if written == label_votes_wanted:
                        return
                    yield (pk, reviewer, label, value, created)
                    written += 1

    counts["label_votes"] = copy_rows(
        LabelVote, ("message_id", "user_id", "label", "value", "created_at"), label_rows()
    )
    counts["gold"] = copy_rows(
        GoldLabel,
        ("message_id", "label", "value", "created_at"),
        ((pk, "spam", 1.0 if truth[pk][0] else 0.0, T0) for pk in reviewed[:GOLD_MESSAGES]),
    )
    reset_sequences([Tree, Message, WorkItem, Assignment, LabelVote, RankingVote, GoldLabel])
    return counts


def draw_kind(rng: random.Random) -> str:
    draw, total = rng.random(), 0.0
    for kind, share in KINDS:
        total += share
        if draw < total:
            return kind
    return KINDS[-1][0]


def ranking_by(kind: str, shown: list[int], quality: list[float], rng: random.Random) -> list[int]:
    if kind == "first":
        return shown[:]
    if kind == "last":
        return [shown[-1], *shown[:-1]]
    if kind == "random":
        ranking = shown[:]
        rng.shuffle(ranking)
        return ranking
    return sorted(shown, key=lambda pk: -(quality[pk] + rng.gauss(0.0, 0.7)))


def likert(latent: float) -> float:
    return min(4, max(0, round(latent + 2.0))) / 4.0


def flag_vote(kind: str, truth: bool, rng: random.Random) -> float:
    if kind == "flipper":
        return 0.0 if truth else 1.0
    if kind == "random":
        return float(rng.random() < 0.5)
    return float(truth if rng.random() < 0.95 else not truth)


def scale_vote(kind: str, truth: float, rng: random.Random) -> float:
    if kind == "random":
        return rng.choice((0.0, 0.25, 0.5, 0.75, 1.0))
    noisy = truth + rng.choice((-0.25, 0.0, 0.0, 0.0, 0.25))
    return min(1.0, max(0.0, noisy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--label-votes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1987)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--unranked",
        action="store_true",
        help="leave Message.rank empty, so the rescore writes every rank (the worst case)",
    )
    arguments = parser.parse_args()

    url = with_database(server_url(), DATABASE_NAME)
    print(f"database: {DATABASE_NAME} (fresh)")
    recreate(server_url(), DATABASE_NAME)
    try:
        started = time.perf_counter()
        manage("migrate", "--noinput", "-v", "0", database_url=url)
        migrated = time.perf_counter() - started

        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections, transaction

        started = time.perf_counter()
        # One transaction: foreign keys are checked at commit (trees point at their
        # roots, which are copied after the trees).
        with transaction.atomic():
            counts = generate(
                arguments.groups,
                arguments.label_votes,
                arguments.seed,
                preset_ranks=not arguments.unranked,
            )
        with connections["default"].cursor() as cursor:
            cursor.execute("ANALYZE")
        generated = time.perf_counter() - started

        connections.close_all()
        print(f"migrate: {migrated:.1f} s; generation (COPY): {generated:.1f} s")
        print("data: " + ", ".join(f"{name}={value:,}" for name, value in counts.items()))

        elapsed, peak, output = measured_rescore(url)
        print("\n--- manage.py rescore --project bench (first run) ---")
        print(output.rstrip())
        print(
            f"RESCORE: {elapsed:.1f} s wall, peak RSS {peak:.0f} MB "
            f"({counts['ranking_groups']:,} groups, {counts['label_votes']:,} label votes; "
            f"target <= 60 s)"
        )

        again, again_peak, again_output = measured_rescore(url)
        print("\n--- manage.py rescore --project bench (second run: nothing changed) ---")
        print(again_output.rstrip().splitlines()[-1])
        print(f"RESCORE (idempotent re-run): {again:.1f} s wall, peak RSS {again_peak:.0f} MB")
        print(
            f"bench process peak RSS (generation): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
    finally:
        if not arguments.keep:
            from django.db import connections

            connections.close_all()
            recreate(server_url(), DATABASE_NAME, drop_only=True)


if __name__ == "__main__":
    main()
