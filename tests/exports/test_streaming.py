"""Exports stream: trees are read in batches with a fixed number of queries per batch,
and the batch size never changes the output."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest
from django.db import connection

from backend.exports.options import export_options_build
from backend.exports.services import export_write
from tests.exports.builders import label, make_message, make_tree, rank, react

pytestmark = pytest.mark.django_db


@pytest.fixture
def forest(make_project, make_user):
    project = make_project(slug="forest")
    voter = make_user()
    for number in range(7):
        tree = make_tree(project)
        root = make_message(tree, None, f"prompt {number}")
        replies = [
            make_message(tree, root, f"reply {number}.{index}", rank=index) for index in range(3)
        ]
        make_message(tree, replies[0], f"follow-up {number}")
        rank(root, voter, replies)
        label(replies[0], voter, "quality", 0.75)
        react(replies[1], voter, "+1")
    return project


@pytest.mark.parametrize(
    "format", ["oasst-trees", "oasst-messages", "preferences", "sft", "parquet"]
)
def test_batch_size_does_not_change_the_output(forest, run_export, format):
    _, whole, whole_path = run_export(forest, format, secret="same-secret", with_events=True)
    _, batched, batched_path = run_export(
        forest, format, secret="same-secret", with_events=True, batch_trees=2
    )
    assert whole.sha256 == batched.sha256
    assert whole_path.read_bytes() == batched_path.read_bytes()
    assert whole.tree_count == batched.tree_count == 7


@pytest.mark.parametrize(
    ("filters", "per_batch"),
    [
        # trees, messages, label means, imported labels, emoji counts, imported emojis,
        # ranking results, label results, quality objects
        ({}, 9),
        # + raw label votes, raw reactions, ranking votes
        ({"with_events": True}, 12),
        # no labels and no PII check: no label queries
        ({"with_labels": False, "pii": "keep"}, 7),
        # no consensus: no result queries
        ({"with_consensus": False}, 7),
        # no quality key and no PII check: no quality query either
        ({"with_labels": False, "pii": "keep", "with_quality": False}, 6),
    ],
)
def test_queries_per_batch_are_fixed(
    forest, run_export, django_assert_num_queries, filters, per_batch
):
    batches = 4  # 7 trees, 2 per batch
    # PostgreSQL: SET and RESET work_mem around the batches.
    session = 2 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(1 + batches * per_batch + 1 + session):  # count, …, empty page
        run_export(forest, "oasst-trees", batch_trees=2, **filters)


@pytest.mark.django_db(transaction=True)
def test_the_reader_thread_gives_the_same_file(forest, run_export):
    _, direct, _ = run_export(forest, "oasst-trees", secret="s", with_events=True, batch_trees=2)
    options = export_options_build(
        project=forest, format="oasst-trees", filters={"with_events": True}
    )
    with tempfile.TemporaryDirectory() as directory:
        threaded = export_write(
            options=options,
            destination=Path(directory) / "t.jsonl",
            secret="s",
            batch_trees=2,
            prefetch=True,
        )
    assert threaded.sha256 == direct.sha256
    assert not [thread for thread in threading.enumerate() if thread.name == "export-reader"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failing", ["reader", "writer"])
def test_a_failure_on_either_side_stops_both(forest, tmp_path, monkeypatch, failing):
    calls = {"n": 0}

    def fail_on_second(original):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError(f"{failing} broke")
            return original(*args, **kwargs)

        return wrapped

    if failing == "reader":
        from backend.exports import selectors

        monkeypatch.setattr(selectors, "_fetch", fail_on_second(selectors._fetch))
    else:
        from backend.exports.services import exports

        monkeypatch.setattr(exports, "build_trees", fail_on_second(exports.build_trees))
    options = export_options_build(project=forest, format="sft", filters={})
    with pytest.raises(RuntimeError, match=f"{failing} broke"):
        export_write(
            options=options, destination=tmp_path / "x.jsonl", batch_trees=2, prefetch=True
        )
    assert not [thread for thread in threading.enumerate() if thread.name == "export-reader"]
