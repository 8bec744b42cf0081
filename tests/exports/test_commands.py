"""``manage.py export`` and ``manage.py import_trees``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backend.audit.models import AuditEvent
from backend.trees.models import Tree
from tests.exports.conftest import read_jsonl

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_export_command_writes_the_file_and_audits_it(world, tmp_path):
    output = tmp_path / "trees.jsonl.gz"
    printed = run(
        "export",
        "--project",
        "lab",
        "--format",
        "oasst-trees",
        "--output",
        str(output),
        "--no-anonymize",
    )
    lines = read_jsonl(output)
    assert lines[0]["message_tree_id"] == str(world.tree.pk)
    assert output.read_bytes()[:2] == b"\x1f\x8b"
    assert printed.startswith(f"1 rows (6 messages, 1 trees) → {output}:")
    assert "Arbor ids" in printed
    audit = AuditEvent.objects.get(action="export.written")
    assert audit.after["filters"]["gzip"] is True
    assert audit.after["filters"]["anonymize"] is False
    assert audit.after["path"] == str(output)


def test_export_command_states_langs_flags_and_secret(world, make_project, tmp_path):
    Tree.objects.filter(pk=world.tree.pk).update(state="growing")
    first = tmp_path / "a.jsonl"
    second = tmp_path / "b.jsonl"
    none = tmp_path / "none.jsonl"
    common = ["--project", "lab", "--format", "oasst-messages", "--secret", "reproducible"]
    run(
        "export",
        *common,
        "--output",
        str(first),
        "--state",
        "growing",
        "ready_for_export",
        "--lang",
        "en",
    )
    run(
        "export", *common, "--output", str(second), "--state", "all", "--with-events", "--no-labels"
    )
    run("export", *common, "--output", str(none))  # default: ready_for_export only
    a, b = read_jsonl(first), read_jsonl(second)
    assert [line["message_id"] for line in a] == [line["message_id"] for line in b]
    assert "labels" in a[1] and "labels" not in b[1]
    assert "events" in b[0]
    assert read_jsonl(none) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--project", "nope", "--format", "sft"], "No project 'nope'."),
        (
            ["--project", "lab", "--format", "parquet", "--output", "x.parquet.gz"],
            "gzip: Parquet files",
        ),
        (
            ["--project", "lab", "--format", "sft", "--state", "done"],
            "states: Unknown tree state 'done'",
        ),
    ],
)
def test_export_command_refuses_bad_options(world, tmp_path, arguments, message):
    if "--output" not in arguments:
        arguments = [*arguments, "--output", str(tmp_path / "out.jsonl")]
    with pytest.raises(CommandError, match=message):
        run("export", *arguments)


def test_import_command_reports_bad_lines_and_strict_refuses(make_project, tmp_path):
    make_project(slug="lab")
    good = {
        "message_tree_id": "t-1",
        "prompt": {"message_id": "t-1", "text": "Hi", "role": "prompter"},
    }
    path = tmp_path / "trees.jsonl"
    path.write_text(json.dumps(good) + "\n{broken\n")
    with pytest.raises(CommandError, match="--strict: nothing imported"):
        run("import_trees", str(path), "--format", "oasst-trees", "--project", "lab", "--strict")
    assert Tree.objects.count() == 0

    errors = StringIO()
    out = StringIO()
    call_command(
        "import_trees",
        str(path),
        "--format",
        "oasst-trees",
        "--project",
        "lab",
        "--state",
        "ready_for_export",
        stdout=out,
        stderr=errors,
    )
    assert (
        out.getvalue().strip() == "2 lines: 1 trees imported (1 messages), 0 already there, 1 bad"
    )
    assert errors.getvalue().startswith("line 2: invalid JSON")
    assert Tree.objects.get().state == "ready_for_export"
    assert AuditEvent.objects.filter(action="import.refused").count() == 1
    assert AuditEvent.objects.get(action="import.finished").after["trees_created"] == 1

    again = run("import_trees", str(path), "--format", "oasst-trees", "--project", "lab")
    assert "0 trees imported (0 messages), 1 already there" in again


def test_import_command_missing_file_or_project(make_project, tmp_path):
    make_project(slug="lab")
    with pytest.raises(CommandError, match="No file"):
        run(
            "import_trees",
            str(tmp_path / "missing.jsonl"),
            "--format",
            "sharegpt",
            "--project",
            "lab",
        )
    path = tmp_path / "t.jsonl"
    path.write_text("")
    with pytest.raises(CommandError, match="No project 'other'"):
        run("import_trees", str(path), "--format", "sharegpt", "--project", "other")
