"""Migration moderation.0003/0004: live items that older versions kept per reason are
merged into one item per message (and per tree without a message)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.moderation.builders import flat_tree

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("moderation", "0002_bans_and_scoring_failed_reason")]
AFTER = [("moderation", "0004_queueitem_one_live_per_subject_constraints")]


def migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():  # type: ignore[no-untyped-def]
    """Leave the database at the latest migrations: the tests that follow (in any
    order) expect every table and column."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_live_duplicates_are_merged_into_the_oldest_item():
    built = flat_tree("one_reply")
    reply = built.replies["a"]
    old = migrate(BEFORE)
    Item = old.get_model("moderation", "QueueItem")
    common = {"project_id": built.project.pk, "lang": "en", "tree_id": built.tree.pk}
    reported = Item.objects.create(
        **common, message_id=reply.pk, reason="report", details={"reports": 1}, occurrences=1
    )
    flagged = Item.objects.create(
        **common, message_id=reply.pk, reason="red_flag", details={"red_flags": 3}, occurrences=3
    )
    done = Item.objects.create(
        **common, message_id=reply.pk, reason="red_flag", state="resolved", resolution="dismiss"
    )
    skips = Item.objects.create(**common, reason="many_skips", details={"reply_skips": 10})

    new = migrate(AFTER)
    Item = new.get_model("moderation", "QueueItem")
    Reason = new.get_model("moderation", "QueueItemReason")

    keeper = Item.objects.get(pk=reported.pk)
    assert (keeper.state, keeper.occurrences, keeper.details) == (
        "open",
        4,
        {"reports": 1, "red_flags": 3},
    )
    assert list(
        Reason.objects.filter(item_id=keeper.pk).order_by("pk").values_list("reason", flat=True)
    ) == ["report", "red_flag"]
    merged = Item.objects.get(pk=flagged.pk)
    assert (merged.state, merged.resolution, merged.note) == (
        "resolved",
        "merged",
        f"merged into queue item #{keeper.pk}",
    )
    assert Item.objects.get(pk=done.pk).resolution == "dismiss"
    assert list(Reason.objects.filter(item_id=skips.pk).values_list("reason", flat=True)) == [
        "many_skips"
    ]
