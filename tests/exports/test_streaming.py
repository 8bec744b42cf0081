"""Exports stream: trees are read in batches with a fixed number of queries per batch,
and the batch size never changes the output."""

from __future__ import annotations

import pytest
from django.db import connection

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
        # trees, messages, label means, imported labels, emoji counts, imported emojis
        ({}, 6),
        # + raw label votes, raw reactions, ranking votes
        ({"with_events": True}, 9),
        # no labels and no PII check: no label queries
        ({"with_labels": False, "pii": "keep"}, 4),
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
