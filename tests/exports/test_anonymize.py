"""Anonymised ids: keyed, stable for one secret, unlinkable across secrets."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest

from backend.exports.formats.anonymize import IdMapper, uuid_text
from tests.exports.oasst_schema import check_tree

pytestmark = pytest.mark.django_db


def all_ids(lines):
    """Every id in an oasst-trees export, events included."""
    found = set()

    def walk(node):
        for key in ("message_id", "parent_id", "user_id"):
            if key in node:
                found.add(node[key])
        for events in node.get("events", {}).values():
            for event in events:
                found.add(event["user_id"])
                found.update(event.get("ranked_message_ids", []))
                for key in ("ranking_parent_id", "message_tree_id"):
                    if key in event:
                        found.add(event[key])
        for reply in node["replies"]:
            walk(reply)

    for line in lines:
        found.add(line["message_tree_id"])
        walk(line["prompt"])
    return found


def test_every_id_is_a_keyed_uuid_and_none_is_arbor_s(world, run_export):
    lines, _, path = run_export(
        world.project, "oasst-trees", with_events=True, secret="first secret"
    )

    ids = all_ids(lines)
    assert len(ids) == 1 + 6 + 6  # the tree, six messages, six people
    for value in ids:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    check_tree(lines[0], uuid_ids=True)
    arbor_ids = {str(message.pk) for message in world.messages.values()}
    arbor_ids |= {str(user.pk) for user in world.users.values()} | {str(world.tree.pk)}
    assert not ids & arbor_ids
    text = path.read_text()
    assert not any(user.username in text for user in world.users.values())
    # The keyed hash, computed independently.
    digest = hmac.new(
        b"first secret", f"message:{world.pk('m1')}".encode(), hashlib.sha256
    ).digest()
    assert lines[0]["prompt"]["message_id"] == uuid_text(digest)


def test_ids_are_consistent_inside_one_export(world, run_export):
    lines, _, _ = run_export(world.project, "oasst-trees", with_events=True, secret="k" * 16)
    prompt = lines[0]["prompt"]
    m2, m3, m4 = prompt["replies"]
    m5 = m2["replies"][0]
    m6 = m5["replies"][0]
    assert m2["parent_id"] == prompt["message_id"]
    assert m6["parent_id"] == m5["message_id"]
    assert m2["user_id"] == m6["user_id"]  # bob wrote both
    assert prompt["user_id"] == m5["user_id"]  # alice
    erin_ranking, frank_ranking = prompt["events"]["ranking"]
    assert erin_ranking["ranked_message_ids"] == [
        m2["message_id"],
        m3["message_id"],
        m4["message_id"],
    ]
    assert erin_ranking["ranking_parent_id"] == prompt["message_id"]
    assert erin_ranking["message_tree_id"] == lines[0]["message_tree_id"]
    erin_labels = [
        event for event in m2["events"]["label"] if event["user_id"] == erin_ranking["user_id"]
    ]
    assert [event["label"] for event in erin_labels] == ["spam", "quality"]
    assert frank_ranking["user_id"] == m3["events"]["emoji"][0]["user_id"]


def test_same_secret_same_file_different_secret_unlinkable(world, run_export):
    first, first_result, first_path = run_export(
        world.project, "oasst-trees", with_events=True, secret="alpha-secret"
    )
    _, again_result, again_path = run_export(
        world.project, "oasst-trees", with_events=True, secret="alpha-secret"
    )
    other, other_result, _ = run_export(
        world.project, "oasst-trees", with_events=True, secret="omega-secret"
    )
    random_one, _, _ = run_export(world.project, "oasst-trees", with_events=True)
    random_two, _, _ = run_export(world.project, "oasst-trees", with_events=True)

    assert first_path.read_bytes() == again_path.read_bytes()
    assert first_result.sha256 == again_result.sha256 != other_result.sha256
    assert not all_ids(first) & all_ids(other)
    # Without a secret each export draws its own: two of them share no id either.
    assert not all_ids(random_one) & all_ids(random_two)
    assert not all_ids(random_one) & all_ids(first)
    # Only the ids differ: the same content.
    assert first[0]["prompt"]["text"] == other[0]["prompt"]["text"]


def test_kinds_are_separated_and_no_secret_passes_ids_through():
    mapper = IdMapper("key")
    assert mapper("user", "7") != mapper("message", "7") != mapper("tree", "7")
    assert IdMapper(None)("message", "7") == "7"
    assert not IdMapper(None).is_anonymising


def test_every_format_anonymises(world, run_export):
    secret = "shared-secret"
    trees, _, _ = run_export(world.project, "oasst-trees", secret=secret)
    messages, _, _ = run_export(world.project, "oasst-messages", secret=secret)
    preferences, _, _ = run_export(world.project, "preferences", secret=secret)
    sft, _, _ = run_export(world.project, "sft", secret=secret)
    tree_ids = all_ids(trees)
    assert {line["message_id"] for line in messages} <= tree_ids
    assert {line["message_tree_id"] for line in messages} == {trees[0]["message_tree_id"]}
    for line in preferences:
        assert {
            line["parent_id"],
            line["chosen_id"],
            line["rejected_id"],
            line["message_tree_id"],
        } <= tree_ids
    assert sft[0]["message_tree_id"] == trees[0]["message_tree_id"]
