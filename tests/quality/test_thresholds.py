"""The quality thresholds are project settings with validated ranges."""

from __future__ import annotations

import pytest

from backend.common.errors import ArborError
from backend.projects.models import Project
from backend.projects.services import project_create


def test_defaults(db):
    project = project_create(slug="defaults")

    assert (
        project.quality_toxicity_threshold,
        project.quality_near_duplicate_threshold,
        project.quality_leakage_threshold,
        project.quality_lang_min_confidence,
    ) == (0.8, 0.8, 20.0, 0.9)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("quality_toxicity_threshold", 1.5),
        ("quality_toxicity_threshold", -0.1),
        ("quality_near_duplicate_threshold", 0.2),
        ("quality_near_duplicate_threshold", 1.01),
        ("quality_leakage_threshold", 0.5),
        ("quality_leakage_threshold", 101.0),
        ("quality_lang_min_confidence", 2.0),
    ],
)
def test_out_of_range_values_are_refused(db, name, value):
    with pytest.raises(ArborError) as refused:
        project_create(slug="bad", settings={name: value})

    assert refused.value.code == "invalid_project"
    assert name in refused.value.fields
    assert not Project.objects.filter(slug="bad").exists()


def test_the_project_api_shows_them(db, client_for, make_user):
    project_create(slug="shown", settings={"quality_leakage_threshold": 35.0})

    body = client_for(make_user()).get("/api/v1/projects/shown").json()

    assert body["settings"]["quality_leakage_threshold"] == 35.0
    assert body["settings"]["quality_toxicity_threshold"] == 0.8
