"""Open-Assistant's own data in and out again: the same trees.

Imports ``en_100_tree.jsonl`` (100 real trees, 1,167 messages) and exports oasst-trees
with synthetic messages included and ids kept: every tree comes back with the same ids,
texts, roles, structure and reply order, ranks, review results and counts, deletion,
synthetic flags, model names and emoji counts. Only ``created_date`` is new (the file
has none: Arbor records when it imported them) and an empty ``emojis: {}`` comes back
absent (both mean "no emoji"). The round trip keeps PII (``pii="keep"``): by default
the PII detector's finds are masked, in imported texts too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend.exports.services import import_file
from backend.quality.signals.pii import find_pii
from tests.exports.conftest import SHARED_OASST
from tests.exports.oasst_schema import check_tree

SAMPLE = SHARED_OASST / "en_100_tree.jsonl"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not SAMPLE.is_file(),
        reason=f"needs Open-Assistant's sample data at {SAMPLE} "
        "(../shared beside the checkout; CI has it)",
    ),
]


def comparable(node: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    node.pop("created_date", None)
    if node.get("emojis") == {}:
        del node["emojis"]
    node["replies"] = [comparable(reply) for reply in node.get("replies", [])]
    return node


def test_import_then_export_gives_the_same_trees(make_project, run_export):
    project = make_project(slug="oasst")
    report = import_file(
        path=str(SAMPLE),
        project_slug="oasst",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    assert (report.trees_created, report.messages_created, report.error_count) == (100, 1167, 0)

    # pii="keep": the default masks what the PII detector finds in the sample (a few
    # IP addresses and a token-like URL path), and a round trip gives the texts back.
    lines, result, _ = run_export(
        project, "oasst-trees", anonymize=False, include_synthetic=True, pii="keep"
    )

    originals = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert (result.row_count, result.message_count) == (100, 1167)
    assert sorted(line["message_tree_id"] for line in lines) == sorted(
        tree["message_tree_id"] for tree in originals
    )
    by_id = {tree["message_tree_id"]: tree for tree in originals}
    for line in lines:
        original = by_id[line["message_tree_id"]]
        assert line["tree_state"] == original["tree_state"]
        assert comparable(line["prompt"]) == comparable(original["prompt"])
    # Every original line is itself valid for the schema checker, and so is every export.
    assert sum(check_tree(tree) for tree in originals) == 1167
    assert sum(check_tree(line) for line in lines) == 1167

    again = import_file(path=str(SAMPLE), project_slug="oasst", format="oasst-trees")
    assert (again.trees_created, again.trees_duplicate) == (0, 100)


def test_default_export_of_the_sample_leaves_synthetic_out_and_anonymises(make_project, run_export):
    project = make_project(slug="oasst")
    import_file(
        path=str(SAMPLE),
        project_slug="oasst",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    lines, result, _ = run_export(project, "oasst-trees", secret="round-trip")
    originals = {json.loads(line)["message_tree_id"] for line in SAMPLE.read_text().splitlines()}
    assert 0 < result.tree_count < 100  # trees with a synthetic prompt are left out
    assert not {line["message_tree_id"] for line in lines} & originals
    for line in lines:
        check_tree(line, uuid_ids=True)
    # Imported messages have no stored signals: the export scans them for PII itself.
    texts = []
    stack = [line["prompt"] for line in lines]
    while stack:
        node = stack.pop()
        texts.append(node["text"])
        stack.extend(node["replies"])
    assert [text for text in texts if find_pii(text)] == []
    assert any("[IP_ADDRESS]" in text for text in texts)


def test_a_rescore_keeps_the_imported_ranks_and_the_round_trip(make_project, run_export):
    """Imported trees were never ranked in Arbor (no ranking work items, no ballots): a
    rescore leaves their ranks alone, and with no result to show the export (consensus
    on, the default) is still exactly Open-Assistant's trees."""
    from backend.consensus.services import project_rescore
    from backend.trees.models import Message

    project = make_project(slug="oasst")
    import_file(
        path=str(SAMPLE),
        project_slug="oasst",
        format="oasst-trees",
        target_state="ready_for_export",
    )
    ranks = dict(Message.objects.filter(tree__project=project).values_list("pk", "rank"))

    run = project_rescore(project_id=project.pk)

    assert run.counts["ranks_changed"] == 0
    assert dict(Message.objects.filter(tree__project=project).values_list("pk", "rank")) == ranks
    lines, _, _ = run_export(
        project, "oasst-trees", anonymize=False, include_synthetic=True, pii="keep"
    )
    by_id = {
        tree["message_tree_id"]: tree
        for tree in (json.loads(line) for line in SAMPLE.read_text().splitlines())
    }
    assert len(lines) == 100
    for line in lines:
        assert comparable(line["prompt"]) == comparable(by_id[line["message_tree_id"]]["prompt"])
