"""Project stats: how many messages have quality signals, and per flag how many raised
it and at what rate, over the project and per message language (API and page)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from backend.community.stats import quality_flag_rates
from backend.quality.models import MessageQuality
from tests.exports.builders import make_message, make_tree

pytestmark = pytest.mark.django_db


def store(message, flags):
    MessageQuality.objects.create(
        message=message, project=message.tree.project, computed_at=timezone.now(), flags=flags
    )


@pytest.fixture
def project(make_project):
    project = make_project(slug="rates")
    english = make_tree(project, lang="en")
    root = make_message(english, None, "an English prompt")
    replies = [make_message(english, root, f"reply {index}") for index in range(3)]
    store(root, [])
    store(replies[0], ["toxicity", "pii"])
    store(replies[1], ["pii"])
    make_message(english, root, "not computed yet")  # no row: not counted
    german = make_tree(project, lang="de")
    prompt = make_message(german, None, "eine deutsche Frage")
    store(prompt, ["lang_mismatch", "near_duplicate"])
    other = make_project(slug="elsewhere")
    store(make_message(make_tree(other), None, "other project"), ["pii"])
    return project


def flag_counts(rates):
    return {flag: (value["count"], value["rate"]) for flag, value in rates["flags"].items()}


def test_flag_rates_per_signal_and_language(project):
    rates = quality_flag_rates(project=project)
    assert rates["computed"] == 4
    assert flag_counts(rates) == {
        "lang_mismatch": (1, 0.25),
        "toxicity": (1, 0.25),
        "pii": (2, 0.5),
        "near_duplicate": (1, 0.25),
        "exact_duplicate": (0, 0.0),
        "leakage": (0, 0.0),
    }
    assert list(rates["by_language"]) == ["de", "en"]
    assert rates["by_language"]["en"]["computed"] == 3
    assert flag_counts(rates["by_language"]["en"])["pii"] == (2, 0.6667)
    assert flag_counts(rates["by_language"]["de"])["lang_mismatch"] == (1, 1.0)


def test_a_project_without_signals_has_no_rates(make_project):
    rates = quality_flag_rates(project=make_project(slug="empty"))
    assert rates["computed"] == 0
    assert rates["by_language"] == {}
    assert all(value == {"count": 0, "rate": None} for value in rates["flags"].values())


def test_the_stats_api_and_page_show_them(project, make_user, client_for):
    user = make_user()
    body = client_for(user).get(f"/api/v1/projects/{project.slug}/stats").json()
    assert body["quality"]["computed"] == 4
    assert body["quality"]["flags"]["pii"] == {"count": 2, "rate": 0.5}
    assert body["quality"]["by_language"]["de"]["flags"]["near_duplicate"]["count"] == 1

    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/projects/{project.slug}/stats/").content.decode()
    assert "data-quality-flags" in page
    assert '<tr data-lang="en"><td>en</td><td class="num">3</td>' in page
    assert '<td class="num" data-flag="pii">2 (67 %)</td>' in page
