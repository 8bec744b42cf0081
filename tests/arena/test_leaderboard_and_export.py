"""The model leaderboard API and page, and the arena-battles export, from votes."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.arena.exporting import judge_name
from backend.arena.models import Battle, BattleReply
from backend.arena.services import model_endpoint_create
from tests.factories import growing_tree, people, small_project

pytestmark = pytest.mark.django_db


def voted(project, prompt, model_a, model_b, preference, voter, side_texts=("A text", "B text")):
    battle = Battle.objects.create(
        project=project,
        lang="en",
        prompt=prompt,
        model_a=model_a,
        model_b=model_b,
        state="voted",
        preference=preference,
        voter=voter,
        voted_at=timezone.now(),
    )
    BattleReply.objects.create(battle=battle, side="a", text=side_texts[0])
    BattleReply.objects.create(battle=battle, side="b", text=side_texts[1])
    return battle


@pytest.fixture
def arena(db):
    project = small_project()
    author, reviewer, judge = people(3)
    _, prompt = growing_tree(project, author, [reviewer])
    strong = model_endpoint_create(name="strong", base_url="http://127.0.0.1:9/v1", model="s")
    weak = model_endpoint_create(name="weak", base_url="http://127.0.0.1:9/v1", model="w")
    for index in range(30):
        a, b = (strong, weak) if index % 2 else (weak, strong)
        strong_side = "a" if a == strong else "b"
        preference = strong_side if index < 26 else ("tie" if index < 28 else "both_bad")
        voted(project, prompt, a, b, preference, judge)
    return project, prompt, judge


def test_the_leaderboard_ranks_the_favoured_model_first(arena, make_user, client_for) -> None:
    project, _, _ = arena
    response = client_for(make_user()).get(f"/api/v1/projects/{project.slug}/model-leaderboard")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [row["model"] for row in rows] == ["strong", "weak"]
    strong, weak = rows
    assert (strong["rank"], weak["rank"]) == (1, 2)
    assert (strong["battles"], strong["wins"], strong["losses"], strong["ties"]) == (30, 26, 0, 4)
    assert (weak["battles"], weak["wins"], weak["losses"], weak["ties"]) == (30, 0, 26, 4)
    assert strong["ci_low"] > weak["ci_high"]
    assert strong["score"] + weak["score"] == pytest.approx(2000, abs=0.2)
    assert set(strong) == {
        "model",
        "score",
        "ci_low",
        "ci_high",
        "rank",
        "battles",
        "wins",
        "losses",
        "ties",
    }


def test_sources_and_language_are_checked(arena, make_user, client_for) -> None:
    project, _, _ = arena
    client = client_for(make_user())
    url = f"/api/v1/projects/{project.slug}/model-leaderboard"
    assert client.get(url, {"sources": "rankings"}).json() == []
    assert len(client.get(url, {"sources": "arena", "lang": "en"}).json()) == 2
    bad = client.get(url, {"sources": "votes"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert client.get(url, {"lang": "xx"}).status_code == 400
    assert client.get("/api/v1/projects/nope/model-leaderboard").status_code == 404


def test_the_page_shows_the_table_and_matrices(arena, make_user, client) -> None:
    project, _, _ = arena
    client.force_login(make_user())
    page = client.get(f"/projects/{project.slug}/models/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-model="strong"' in html
    assert "data-win-rates" in html and "data-battle-counts" in html
    assert "93 %" in html  # strong wins 26 + 4/2 of 30 against weak


def test_the_export_round_trips(arena, make_user, client_for) -> None:
    project, prompt, judge = arena
    response = client_for(make_user(Role.RESEARCHER)).get(
        f"/api/v1/projects/{project.slug}/arena-battles.jsonl"
    )
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 30
    battles = list(Battle.objects.filter(project=project).order_by("voted_at", "pk"))
    winners = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}
    for record, battle in zip(records, battles, strict=True):
        assert record["model_a"] == battle.model_a.name
        assert record["model_b"] == battle.model_b.name
        assert record["winner"] == winners[battle.preference]
        assert record["conversation_a"] == [
            {"role": "user", "content": prompt.text},
            {"role": "assistant", "content": "A text"},
        ]
        assert record["conversation_b"][1] == {"role": "assistant", "content": "B text"}
        assert record["language"] == "English"
        assert record["judge"] == judge_name(judge.pk)
        assert record["tstamp"] == pytest.approx(battle.voted_at.timestamp())
    assert {record["winner"] for record in records} == {
        "model_a",
        "model_b",
        "tie",
        "tie (bothbad)",
    }
    # Read back the way the Arena notebooks do: the same battles and outcomes.
    back = [(r["model_a"], r["model_b"], r["winner"]) for r in records]
    assert back == [(b.model_a.name, b.model_b.name, winners[b.preference]) for b in battles]


def test_volunteers_may_not_export(arena, make_user, client_for) -> None:
    project, _, _ = arena
    response = client_for(make_user()).get(f"/api/v1/projects/{project.slug}/arena-battles.jsonl")
    assert response.status_code == 403


def test_the_export_format_registry_runs_arena_battles_as_a_job(
    arena, make_user, client_for, django_capture_on_commit_callbacks, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # the export file lands in this test's own
    project, _, judge = arena
    client = client_for(make_user(Role.RESEARCHER))
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/exports/",
            {"project": project.slug, "format": "arena-battles", "languages": ["en"]},
            format="json",
        )
    assert created.status_code == 202, created.content
    body = client.get(f"/api/v1/exports/{created.json()['id']}").json()
    assert body["state"] == "succeeded", body
    assert (body["row_count"], body["tree_count"]) == (30, 0)
    assert body["file_name"].endswith(f"-arena-battles-{created.json()['id']}.jsonl")
    download = client.get(body["download_url"])
    lines = b"".join(download.streaming_content).decode().splitlines()
    streamed = client.get(f"/api/v1/projects/{project.slug}/arena-battles.jsonl")
    assert lines == b"".join(streamed.streaming_content).decode().splitlines()
    assert json.loads(lines[0])["judge"] == judge_name(judge.pk)


def test_the_exports_page_offers_arena_battles(make_user, client) -> None:
    client.force_login(make_user(Role.RESEARCHER))
    page = client.get("/exports/")
    assert page.status_code == 200
    assert 'value="arena-battles"' in page.content.decode()
