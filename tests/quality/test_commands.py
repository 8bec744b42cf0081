"""``manage.py quality_rerun`` and ``manage.py eval_set_add``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backend.quality.models import EvalSet, MessageQuality, MinHashSignature, QualityJob
from tests.factories import committed
from tests.quality.conftest import EMAIL_AND_PHONE, EVAL_PROMPT


def test_rerun_computes_every_signal_of_every_message(project, prompt):
    messages = [prompt(EMAIL_AND_PHONE), prompt("What should I pack for a week of hiking?")]
    out = StringIO()

    call_command("quality_rerun", "--project", project.slug, stdout=out)

    job = QualityJob.objects.get()
    assert (job.kind, job.state, job.total, job.done) == ("rerun", "succeeded", 2, 2)
    rows = {row.message_id: row for row in MessageQuality.objects.all()}
    assert rows[messages[0].pk].flags == ["pii"]
    assert rows[messages[1].pk].flags == []
    assert MinHashSignature.objects.count() == 2
    assert f"Recomputed 2 messages of {project.slug}" in out.getvalue()
    assert "1 carry flags" in out.getvalue()


def test_rerun_of_one_signal(project, prompt):
    message = prompt(EMAIL_AND_PHONE)

    call_command("quality_rerun", "--project", project.slug, "--signal", "pii", stdout=StringIO())

    row = MessageQuality.objects.get(message=message)
    assert row.versions.keys() == {"pii"}
    assert row.flags == ["pii"]
    assert row.lang_detected == ""


def test_rerun_of_an_unknown_project_fails(db):
    with pytest.raises(CommandError, match="No such project"):
        call_command("quality_rerun", "--project", "nope", stdout=StringIO())


def test_eval_set_add(project, prompt, tmp_path):
    leaked = prompt(EVAL_PROMPT)
    path = tmp_path / "mt-bench.jsonl"
    path.write_text(json.dumps({"prompt": EVAL_PROMPT}) + "\n")
    out = StringIO()

    with committed():
        call_command("eval_set_add", "--project", project.slug, str(path), stdout=out)

    eval_set = EvalSet.objects.get()
    assert (eval_set.name, eval_set.prompt_count) == ("mt-bench", 1)
    assert "Added eval set 'mt-bench' (1 prompts)" in out.getvalue()
    row = MessageQuality.objects.get(message=leaked)
    assert row.flags == ["leakage"]
    assert row.leakage_eval_set_id == eval_set.pk


def test_eval_set_add_refuses_a_bad_file(project, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")

    with pytest.raises(CommandError, match="Line 1 is not a JSON object"):
        call_command("eval_set_add", "--project", project.slug, "--name", "x", str(path))
    assert not EvalSet.objects.exists()
