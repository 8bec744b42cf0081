"""The moderators' quality panel and the researchers' eval-set page."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.moderation.models import QueueItem
from backend.quality.models import EvalSet, QualityJob
from backend.quality.services import message_quality_compute
from tests.factories import committed
from tests.quality.conftest import EMAIL_AND_PHONE, EVAL_PROMPT


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_item_shows_the_quality_panel_with_pii_highlighted(make_user, prompt):
    message = prompt(EMAIL_AND_PHONE)
    message_quality_compute(message_id=message.pk)
    item = QueueItem.objects.get(message=message)

    page = signed_in(make_user("moderator")).get(f"/moderation/items/{item.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "data-quality-panel" in html
    assert 'data-quality-flag="pii"' in html
    assert '<mark data-pii="email" title="email">jane.roe@example.com</mark>' in html
    assert 'data-pii="phone"' in html


def test_the_eval_set_page_uploads_lists_and_deletes(make_user, project):
    client = signed_in(make_user("researcher"))
    url = f"/quality/projects/{project.slug}/eval-sets/"
    assert client.get(url).status_code == 200

    content = json.dumps({"prompt": EVAL_PROMPT}).encode()
    with committed():
        response = client.post(
            url, {"name": "stories", "file": SimpleUploadedFile("s.jsonl", content)}
        )

    assert response.status_code == 302
    eval_set = EvalSet.objects.get()
    assert (eval_set.name, eval_set.prompt_count) == ("stories", 1)
    assert QualityJob.objects.get().state == "succeeded"
    listed = client.get(url).content.decode()
    assert 'data-eval-set="stories"' in listed

    bad = client.post(url, {"file": SimpleUploadedFile("bad.jsonl", b"not json")}, follow=True)
    assert "A line of the file is not a JSON object." in bad.content.decode()
    assert EvalSet.objects.count() == 1

    deleted = client.post(f"/quality/projects/{project.slug}/eval-sets/{eval_set.pk}/delete")
    assert deleted.status_code == 302
    assert not EvalSet.objects.exists()


def test_volunteers_may_not_open_the_eval_set_page(make_user, project):
    page = signed_in(make_user("volunteer")).get(f"/quality/projects/{project.slug}/eval-sets/")
    assert page.status_code == 403
