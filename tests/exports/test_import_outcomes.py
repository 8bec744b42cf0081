"""What an import ends as: already-here content is skipped and counted, a file from which
nothing could be read fails with the reason, a file with some bad lines succeeds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.exports.models import ImportedTreeHash
from backend.exports.services import import_file
from backend.trees.models import Message, Tree
from tests.exports.conftest import SHARED_OASST
from tests.exports.test_imports import OA_TREE, other_tree, write_lines

pytestmark = pytest.mark.django_db


def renamed(tree: dict, suffix: str) -> dict:
    """The same conversation under other ids (as an anonymised export gives it)."""
    text = json.dumps(tree)
    for old in ("11111111-1111-4111-8111-111111111111", "22222222", "33333333"):
        text = text.replace(old, f"{old}-{suffix}")
    return json.loads(text)


def test_the_same_content_under_other_ids_is_skipped(make_project, tmp_path):
    project = make_project(slug="imp")
    import_file(
        path=str(write_lines(tmp_path / "a.jsonl", [OA_TREE])),
        project_slug="imp",
        format="oasst-trees",
    )
    assert ImportedTreeHash.objects.filter(project=project).count() == 1

    again = import_file(
        path=str(write_lines(tmp_path / "b.jsonl", [renamed(OA_TREE, "x"), other_tree(5)])),
        project_slug="imp",
        format="oasst-trees",
    )

    assert (again.trees_created, again.trees_duplicate, again.imported_nothing) == (1, 1, False)
    assert Tree.objects.count() == 2
    assert Message.objects.count() == 4


def test_a_tree_with_more_content_is_not_skipped(make_project, tmp_path):
    make_project(slug="imp")
    import_file(
        path=str(write_lines(tmp_path / "a.jsonl", [OA_TREE])),
        project_slug="imp",
        format="oasst-trees",
    )
    longer = renamed(OA_TREE, "y")
    longer["prompt"]["replies"][0]["text"] = "Seven, or eleven."
    spaced = renamed(OA_TREE, "z")
    spaced["prompt"]["text"] = "  Name a   prime. "  # only whitespace differs: the same

    report = import_file(
        path=str(write_lines(tmp_path / "b.jsonl", [longer, spaced])),
        project_slug="imp",
        format="oasst-trees",
    )

    assert (report.trees_created, report.trees_duplicate) == (1, 1)


def test_a_part_of_a_tree_already_here_is_skipped(make_project, tmp_path):
    """An export without the deleted reply gives back part of the tree it came from."""
    make_project(slug="imp")
    import_file(
        path=str(write_lines(tmp_path / "a.jsonl", [OA_TREE])),
        project_slug="imp",
        format="oasst-trees",
    )
    part = renamed(OA_TREE, "p")
    del part["prompt"]["replies"][1]

    report = import_file(
        path=str(write_lines(tmp_path / "b.jsonl", [part])),
        project_slug="imp",
        format="oasst-trees",
    )

    assert (report.trees_created, report.trees_duplicate) == (0, 1)
    assert Tree.objects.count() == 1


def test_a_text_with_pii_masks_matches_the_original(make_project, tmp_path):
    make_project(slug="imp")
    original = copy.deepcopy(OA_TREE)
    original["prompt"]["text"] = "Name a prime; mail it to jane.doe@example.com please."
    original["prompt"]["replies"][0]["text"] = "Seven. Ask 10.0.0.7 for more."
    import_file(
        path=str(write_lines(tmp_path / "a.jsonl", [original])),
        project_slug="imp",
        format="oasst-trees",
    )
    masked = renamed(original, "m")
    masked["prompt"]["text"] = "Name a prime; mail it to [EMAIL] please."
    masked["prompt"]["replies"][0]["text"] = "Seven. Ask [IP_ADDRESS] for more."
    other = renamed(original, "o")
    other["prompt"]["text"] = "Name a prime; mail it to [EMAIL] today."

    report = import_file(
        path=str(write_lines(tmp_path / "b.jsonl", [masked, other])),
        project_slug="imp",
        format="oasst-trees",
    )

    assert (report.trees_created, report.trees_duplicate) == (1, 1)


def test_reimporting_arbors_own_anonymised_export_creates_nothing(world, run_export):
    trees_before = Tree.objects.filter(project=world.project).count()
    lines, _, path = run_export(world.project, "oasst-trees", states="all")
    assert lines, "the small world exports trees"

    report = import_file(path=str(path), project_slug="lab", format="oasst-trees")

    assert (report.trees_created, report.trees_duplicate) == (0, len(lines))
    assert report.imported_nothing is False
    assert Tree.objects.filter(project=world.project).count() == trees_before


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def import_job(make_project, make_user, client_for, django_capture_on_commit_callbacks):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))

    def run(name: str, content: bytes, format: str = "oasst-trees") -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            created = client.post(
                "/api/v1/imports/",
                {"file": upload(name, content), "format": format, "project": "lab"},
                format="multipart",
            )
        assert created.status_code == 202, created.content
        return client.get(f"/api/v1/imports/{created.json()['id']}").json()

    return run


def test_an_import_where_every_line_is_bad_fails(import_job):
    job = import_job("bad.jsonl", b'not json\n{"prompt": {}}\n')

    assert job["state"] == "failed"
    assert job["error"] == (
        "nothing imported: all 2 line(s) are bad — is this really a oasst-trees file?"
        " (first: line 1: invalid JSON: Expecting value: line 1 column 1 (char 0))"
    )
    assert job["error_count"] == 2 and job["trees_created"] == 0
    assert Tree.objects.count() == 0


def test_a_file_of_another_format_fails(import_job):
    sharegpt = {"id": "c1", "conversations": [{"from": "human", "value": "Hi"}]}
    job = import_job("chat.jsonl", (json.dumps(sharegpt) + "\n").encode())

    assert job["state"] == "failed"
    assert job["error"].startswith("nothing imported: all 1 line(s) are bad")
    assert "is this really a oasst-trees file?" in job["error"]


def test_an_empty_file_fails(import_job):
    job = import_job("empty.jsonl", b"\n")

    assert job["state"] == "failed"
    assert job["error"] == "nothing imported: the file holds no conversations"


def test_some_bad_lines_still_succeed_and_are_counted(import_job):
    good = json.dumps(other_tree(1))
    job = import_job("mixed.jsonl", f"{good}\nnot json\n".encode())

    assert job["state"] == "succeeded"
    assert (job["trees_created"], job["error_count"]) == (1, 1)
    assert job["errors"][0]["line"] == 2


def test_a_second_import_of_the_same_file_reports_the_skips(import_job):
    content = "".join(json.dumps(tree) + "\n" for tree in (OA_TREE, other_tree(1)))
    first = import_job("t.jsonl", content.encode())
    second = import_job("t.jsonl", content.encode())

    assert (first["state"], first["trees_created"], first["trees_duplicate"]) == ("succeeded", 2, 0)
    assert (second["state"], second["trees_created"], second["trees_duplicate"]) == (
        "succeeded",
        0,
        2,
    )
    assert Tree.objects.count() == 2


OASST_FILE = SHARED_OASST / "en_100_tree.jsonl"


@pytest.mark.skipif(not OASST_FILE.exists(), reason=f"{OASST_FILE.name} (real data) is missing")
def test_the_real_oasst_file_imports_once(make_project, run_export, tmp_path: Path):
    project = make_project(slug="real")
    first = import_file(path=str(OASST_FILE), project_slug="real", format="oasst-trees")
    assert first.trees_created > 0 and first.error_count == 0
    trees, messages = Tree.objects.count(), Message.objects.count()

    second = import_file(path=str(OASST_FILE), project_slug="real", format="oasst-trees")
    # The defaults: anonymised ids, detected PII masked.
    lines, _, exported = run_export(project, "oasst-trees", states="all", include_deleted=True)
    assert any("[IP_ADDRESS]" in line_text for line_text in map(json.dumps, lines))
    third = import_file(path=str(exported), project_slug="real", format="oasst-trees")

    assert (second.trees_created, second.trees_duplicate) == (0, first.trees_created)
    assert (third.trees_created, third.trees_duplicate) == (0, len(lines))
    assert (Tree.objects.count(), Message.objects.count()) == (trees, messages)


def test_strict_import_of_content_already_here_succeeds(make_project, tmp_path):
    make_project(slug="imp")
    path = write_lines(tmp_path / "a.jsonl", [copy.deepcopy(OA_TREE)])
    import_file(path=str(path), project_slug="imp", format="oasst-trees", strict=True)
    again = import_file(
        path=str(write_lines(tmp_path / "b.jsonl", [renamed(OA_TREE, "s")])),
        project_slug="imp",
        format="oasst-trees",
        strict=True,
    )
    assert (again.imported_nothing, again.trees_created, again.trees_duplicate) == (False, 0, 1)


def test_the_command_says_why_nothing_was_imported(make_project, tmp_path):
    from django.core.management import CommandError, call_command

    make_project(slug="imp")
    path = write_lines(tmp_path / "bad.jsonl", ["not json"])
    with pytest.raises(CommandError, match="nothing imported: all 1 line"):
        call_command("import_trees", str(path), "--project", "imp", "--format", "oasst-trees")
