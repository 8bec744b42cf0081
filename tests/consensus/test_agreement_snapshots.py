"""Agreement snapshots: per label and task kind, for rankings over sibling pairs and by
Kendall's W; equal to the reference functions on the same votes; in the API."""

from __future__ import annotations

import pytest

from backend.assignments.models import LabelVote, RankingVote
from backend.consensus.algorithms.agreement import (
    kendalls_w,
    krippendorff_alpha,
    pairwise_agreement,
)
from backend.consensus.models import AgreementSnapshot
from backend.consensus.services import project_agreement_snapshot, project_rescore
from tests.consensus.test_rescore import store_ballots, store_votes, world

pytestmark = pytest.mark.django_db


def dense(votes: list[tuple[int, int, float]]) -> list[list[float | None]]:
    """coder × unit matrix from (unit, coder, value) triples, None where missing."""
    units = sorted({unit for unit, _, _ in votes})
    coders = sorted({coder for _, coder, _ in votes})
    matrix: list[list[float | None]] = [[None] * len(units) for _ in coders]
    for unit, coder, value in votes:
        matrix[coders.index(coder)][units.index(unit)] = value
    return matrix


def test_snapshots_match_the_reference_functions_on_the_stored_votes():
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    project = data["project"]

    project_rescore(project_id=project.pk)

    rows = {
        (row.task_kind, row.label): row for row in AgreementSnapshot.objects.filter(project=project)
    }
    # Labels: every reply is an assistant reply here, so "all" and that kind agree.
    for label, level in (
        ("spam", "nominal"),
        ("lang_mismatch", "nominal"),
        ("quality", "interval"),
    ):
        votes = list(
            LabelVote.objects.filter(label=label).values_list("message_id", "user_id", "value")
        )
        matrix = dense(votes)
        for scope in ("", "label_assistant_reply"):
            row = rows[(scope, label)]
            assert row.level == level
            expected = krippendorff_alpha(matrix, level)  # type: ignore[arg-type]
            assert row.alpha == pytest.approx(expected, abs=1e-9)
            assert row.pairwise_agreement == pytest.approx(pairwise_agreement(matrix), abs=1e-9)
            assert (row.unit_count, row.judgement_count) == (36, 72)  # two reviewers each
        assert ("label_initial_prompt", label) not in rows

    # Rankings: a unit is one pair of replies of a group; a judgement, one ballot's
    # verdict on it.
    verdicts: list[tuple[tuple[int, int, int], int, float]] = []
    concordances = []
    for item_id in RankingVote.objects.order_by().values_list("work_item_id", flat=True).distinct():
        ballots = list(
            RankingVote.objects.filter(work_item_id=item_id)
            .order_by("created_at", "user_id")
            .values_list("user_id", "ranking")
        )
        first = ballots[0][1]
        for user, ranking in ballots:
            for i, a in enumerate(first):
                for b in first[i + 1 :]:
                    verdicts.append(
                        ((item_id, a, b), user, float(ranking.index(a) < ranking.index(b)))
                    )
        concordances.append(
            kendalls_w([[ranking.index(c) for c in first] for _, ranking in ballots])
        )
    row = rows[("", "")]
    matrix = dense(verdicts)  # type: ignore[arg-type]
    assert row.level == "nominal"
    assert row.alpha == pytest.approx(krippendorff_alpha(matrix, "nominal"), abs=1e-9)
    assert row.pairwise_agreement == pytest.approx(pairwise_agreement(matrix), abs=1e-9)
    assert row.kendalls_w == pytest.approx(sum(concordances) / len(concordances), abs=1e-9)
    assert rows[("rank_assistant_replies", "")].alpha == row.alpha
    assert ("rank_prompter_replies", "") not in rows


def test_snapshots_form_a_time_series_in_the_api(client_for, make_user):
    data = world()
    store_ballots(data["ballots"])
    store_votes(data["votes"])
    project = data["project"]
    client = client_for(make_user())
    assert client.get(f"/api/v1/projects/{project.slug}/stats").json()["agreement"] is None
    assert client.get(f"/api/v1/projects/{project.slug}/agreement").json() == []

    project_rescore(project_id=project.pk)
    project_agreement_snapshot(project_id=project.pk)

    history = client.get(f"/api/v1/projects/{project.slug}/agreement").json()
    assert len(history) == 2
    assert history[0]["taken_at"] < history[1]["taken_at"]
    assert history[0]["labels"] == history[1]["labels"]
    spam = history[1]["labels"]["spam"]
    assert set(spam) == {"all", "label_assistant_reply"}
    assert set(spam["all"]) == {
        "alpha", "level", "pairwise_agreement", "kendalls_w", "units", "judgements"
    }  # fmt: skip
    assert spam["all"]["kendalls_w"] is None
    assert history[1]["rankings"]["all"]["kendalls_w"] is not None

    stats = client.get(f"/api/v1/projects/{project.slug}/stats").json()
    assert stats["agreement"] == history[1]

    latest_only = client.get(f"/api/v1/projects/{project.slug}/agreement?limit=1").json()
    assert latest_only == history[1:]
    assert (
        client.get(f"/api/v1/projects/{project.slug}/agreement?since=2999-01-01T00:00:00Z").json()
        == []
    )


@pytest.mark.parametrize(
    ("query", "field"), [("since=yesterday", "since"), ("limit=0", "limit"), ("limit=x", "limit")]
)
def test_bad_agreement_queries_are_refused(client_for, make_user, query, field):
    data = world()
    client = client_for(make_user())
    response = client.get(f"/api/v1/projects/{data['project'].slug}/agreement?{query}")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_agreement_of_an_unknown_project_is_404(client_for, make_user):
    response = client_for(make_user()).get("/api/v1/projects/nothing/agreement")
    assert (response.status_code, response.json()["code"]) == (404, "project_not_found")
