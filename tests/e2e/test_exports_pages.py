"""The export and import pages in a real browser: a phone's width (390 px) never
scrolls sideways, with jobs listed; an upload shows its outcome live, including the
trees that were already here."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from backend.exports.services import (
    export_job_create,
    export_job_run,
    import_job_create,
    import_job_run,
)
from tests.e2e.conftest import no_sideways_scroll

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"

TREE = {
    "message_tree_id": "e2e-tree-1",
    "prompt": {
        "message_id": "e2e-tree-1",
        "text": "What is a good name for a small orange cat?",
        "role": "prompter",
        "lang": "en",
        "replies": [
            {
                "message_id": "e2e-reply-1",
                "parent_id": "e2e-tree-1",
                "text": "Marmalade, Pumpkin or Clementine.",
                "role": "assistant",
                "lang": "en",
            }
        ],
    },
}


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def seed_jobs(user) -> None:
    export = export_job_create(
        user=user, project_slug="lab", format="oasst-trees", filters={"states": "all"}
    )
    export_job_run(job_id=export.pk)
    failed = export_job_create(user=user, project_slug="lab", format="sft", filters={})
    export_job_run(job_id=failed.pk)
    line = json.dumps(TREE) + "\n"
    for name, content in (
        ("a-rather-long-file-name-of-conversations-from-somewhere-else.jsonl", line),
        ("again.jsonl", line + "this line is not json at all and goes on and on\n"),
        ("broken.jsonl", "not json\n"),
    ):
        job = import_job_create(
            user=user,
            project_slug="lab",
            format="oasst-trees",
            upload=SimpleUploadedFile(name, content.encode()),
        )
        import_job_run(job_id=job.pk)


def test_both_pages_fit_a_phone_with_jobs_listed(new_page, log_in, make_user, make_project):
    make_project(slug="lab")
    user = make_user("researcher")
    seed_jobs(user)
    page = new_page(mobile=True)
    log_in(page, user)

    page.goto("/exports/")
    expect(page.locator("h1")).to_have_text("Export data")
    expect(page.locator("#jobs .job")).to_have_count(2)
    no_sideways_scroll(page)
    screenshot(page, "exports-390")

    page.click(".exports-tabs >> text=Import data")
    expect(page.locator("h1")).to_have_text("Import data")
    expect(page.locator("#imports .job")).to_have_count(3)
    expect(page.locator("#imports")).to_contain_text("1 tree was already here (skipped)")
    expect(page.locator("#imports")).to_contain_text("nothing imported")
    no_sideways_scroll(page)
    screenshot(page, "imports-390")


def test_an_upload_shows_its_outcome(page, log_in, make_user, make_project, tmp_path):
    make_project(slug="lab")
    user = make_user("researcher")
    log_in(page, user)
    upload = tmp_path / "trees.jsonl"
    upload.write_text(json.dumps(TREE) + "\n")

    page.goto("/imports/")
    page.set_input_files("#import-form input[type=file]", str(upload))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-status")).to_contain_text("Done · 1 trees imported")

    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-status")).to_contain_text(
        "0 trees imported · 1 trees were already here (skipped)"
    )
    screenshot(page, "imports-upload")
