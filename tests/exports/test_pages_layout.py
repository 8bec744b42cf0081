"""The export and import pages: in the site's layout, human words, the import outcomes."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.exports.services import import_job_create, import_job_run
from tests.exports.test_imports import OA_TREE, other_tree

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_import(user, content: str, name: str = "trees.jsonl"):
    job = import_job_create(
        user=user,
        project_slug="lab",
        format="oasst-trees",
        upload=SimpleUploadedFile(name, content.encode()),
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_both_pages_are_in_the_layout_with_a_tab_to_the_other(make_project, make_user):
    make_project(slug="lab")
    client = signed_in(make_user("researcher"))
    for path, current in (("/exports/", "Export data"), ("/imports/", "Import data")):
        page = client.get(path).content.decode()
        assert 'class="site-header"' in page and "Log out" in page  # base.html
        assert 'href="/exports/"' in page and 'href="/imports/"' in page
        assert f'aria-current="page">{current}</a>' in page


def test_the_export_page_speaks_human(make_project, make_user):
    make_project(slug="lab")
    page = signed_in(make_user("researcher")).get("/exports/").content.decode()
    assert '<option value="oasst-trees">Open-Assistant trees (JSONL)</option>' in page
    assert "One conversation tree per line, as in oasst1." in page
    assert 'value="aborted_low_grade"> Stopped: low quality' in page
    assert "> aborted_low_grade" not in page


def test_the_import_page_shows_skips_bad_lines_and_failures(make_project, make_user):
    make_project(slug="lab")
    user = make_user("researcher")
    content = json.dumps(OA_TREE) + "\n" + json.dumps(other_tree(1)) + "\n"
    first = run_import(user, content)
    second = run_import(user, content + "not json\n")
    failed = run_import(user, "not json\n", name="broken.jsonl")

    page = signed_in(user).get("/imports/").content.decode()

    assert (first.state, second.state, failed.state) == ("succeeded", "succeeded", "failed")
    assert "2 trees were already here (skipped)" in page
    assert "1 bad line</strong>" in page and "line 3: invalid JSON" in page
    assert "nothing imported: all 1 line(s) are bad" in page
    assert ">Done<" in page and ">Failed<" in page
    assert ">succeeded<" not in page


def test_the_pages_are_translated(make_project, make_user):
    make_project(slug="lab")
    client = signed_in(make_user("researcher"))
    client.cookies["django_language"] = "de"
    exports = client.get("/exports/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    imports = client.get("/imports/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Daten exportieren" in exports and "Daten importieren" in imports
    assert "Bereit für den Export" in exports
