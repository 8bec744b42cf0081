"""The researchers' exports page."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.exports.services import export_job_create, export_job_run

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_people_are_sent_to_log_in():
    response = Client().get("/exports/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["volunteer", "moderator"])
def test_other_roles_are_refused(make_user, role):
    assert signed_in(make_user(role)).get("/exports/").status_code == 403


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_researchers_see_the_form_and_their_past_exports(world, make_user, role):
    user = make_user(role)
    job = export_job_create(user=user, project_slug="lab", format="sft", filters={})
    export_job_run(job_id=job.pk)
    other = export_job_create(
        user=make_user("researcher"), project_slug="lab", format="sft", filters={}
    )

    response = signed_in(user).get("/exports/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="export-form"' in page and '<progress id="progress"' in page
    assert '<option value="lab">' in page
    for format in ("oasst-trees", "oasst-messages", "preferences", "sft", "parquet"):
        assert f'<option value="{format}">' in page
    assert f'href="/api/v1/exports/{job.pk}/download"' in page
    assert f'data-job="{other.pk}"' not in page  # someone else's
    # The page's script is a static file (no inline script); it reads the token here.
    assert 'data-csrf-token="' in page and 'src="/static/arbor/exports.js"' in page
    assert "<script>" not in page and "<style>" not in page
