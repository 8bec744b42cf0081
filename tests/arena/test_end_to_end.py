"""Models in the loop end to end over HTTP, with two fake models on a real local
server: model replies appear in a tree and get ranked; lopsided arena votes rank the
favoured model first with intervals that exclude the other; the arena-battles export
round-trips (and gives the same leaderboard when read back as the Arena notebooks do)."""

from __future__ import annotations

import json

import pytest

from backend.accounts.models import Role
from backend.arena import bradley_terry
from backend.arena.models import Battle
from backend.common.outbox import outbox_relay
from backend.trees.models import Message
from tasks.arena import request_model_replies
from tests.factories import committed, growing_tree, people, review, small_project
from tests.helpers import claim, submit

pytestmark = pytest.mark.django_db

GOOD, MEH = "fast-good", "slow-meh"


def relay() -> None:
    with committed():
        outbox_relay()


def test_models_in_the_loop_over_http(fake_models, make_user, client_for) -> None:
    researcher = client_for(make_user(Role.RESEARCHER))
    for name in (GOOD, MEH):
        created = researcher.post(
            "/api/v1/models/",
            {"name": name, "base_url": fake_models.base_url, "model": name},
            format="json",
        )
        assert created.status_code == 201, created.content
    project = small_project()
    author, reviewer = people(2)
    roots = [growing_tree(project, author, [reviewer])[1] for _ in range(4)]
    with committed():
        settings = researcher.patch(
            f"/api/v1/projects/{project.slug}/arena",
            {
                "arena_models": [GOOD, MEH],
                "arena_pool_size": 3,
                "model_reply_models": [GOOD, MEH],
                "model_replies_per_parent": 2,
            },
            format="json",
        )
    assert settings.status_code == 200, settings.content

    # --- Model replies in a tree, reviewed and ranked by volunteers -----------------
    with committed():
        assert request_model_replies.apply().get() == 8  # two under each of 4 prompts
    root = roots[0]
    replies = {m.model_name: m for m in Message.objects.filter(parent=root)}
    assert set(replies) == {GOOD, MEH}
    assert all(m.synthetic and m.author_id is None for m in replies.values())
    tree = client_for(make_user()).get(f"/api/v1/trees/{root.tree_id}").json()
    assert {m["text"] for m in tree["messages"]} >= {m.text for m in replies.values()}
    # Volunteers never learn who wrote a reply; researchers do.
    assert GOOD not in json.dumps(tree)
    assert all("synthetic" not in m and "model_name" not in m for m in tree["messages"])
    for_researcher = researcher.get(f"/api/v1/trees/{root.tree_id}").json()
    assert {m["model_name"] for m in for_researcher["messages"] if m["synthetic"]} == {GOOD, MEH}

    for reply in replies.values():  # reviewed like any reply
        review(reply, [make_user()])
    ranker = client_for(make_user())
    ranking = claim(ranker, project.slug, kind="rank_assistant_replies")
    assert ranking.status_code == 201, ranking.content
    shown = ranking.json()
    assert shown["conversation"][0]["id"] == root.pk
    with committed():
        answer = submit(ranker, shown["id"], {"ranking": [replies[GOOD].pk, replies[MEH].pk]})
    assert answer.status_code == 200, answer.content
    ranks = dict(Message.objects.filter(parent=root).values_list("model_name", "rank"))
    assert ranks == {GOOD: 0, MEH: 1}
    from_rankings = researcher.get(
        f"/api/v1/projects/{project.slug}/model-leaderboard", {"sources": "rankings"}
    ).json()
    assert [(row["model"], row["wins"], row["losses"]) for row in from_rankings] == [
        (GOOD, 1, 0),
        (MEH, 0, 1),
    ]

    # --- The arena: lopsided votes for GOOD ------------------------------------------
    relay()
    voters = [client_for(make_user()) for _ in range(3)]
    votes = 0
    while votes < 36:
        voter = voters[votes % 3]
        claimed = claim(voter, project.slug, kind="compare_model_replies")
        assert claimed.status_code == 201, (votes, claimed.content)
        assignment = claimed.json()
        assert [c["role"] for c in assignment["candidates"]] == ["assistant", "assistant"]
        battle = Battle.objects.get(work_item__assignments=assignment["id"])
        good_side = "a" if battle.model_a.name == GOOD else "b"
        preference = good_side if votes % 9 else "tie"  # 32 wins for GOOD, 4 ties
        with committed():
            answer = submit(voter, assignment["id"], {"preference": preference})
        assert answer.status_code == 200, answer.content
        outcome = answer.json()["outcome"]
        assert {outcome["model_a"], outcome["model_b"]} == {GOOD, MEH}
        votes += 1
        relay()  # the pool is refilled off the request path
    board = researcher.get(
        f"/api/v1/projects/{project.slug}/model-leaderboard", {"lang": "en", "sources": "arena"}
    ).json()
    assert [row["model"] for row in board] == [GOOD, MEH]
    good, meh = board
    assert (good["rank"], meh["rank"]) == (1, 2)
    assert (good["battles"], good["wins"], good["losses"], good["ties"]) == (36, 32, 0, 4)
    assert good["ci_low"] > meh["ci_high"]
    both = researcher.get(f"/api/v1/projects/{project.slug}/model-leaderboard").json()
    assert both[0]["battles"] == 37  # 36 votes and the ranked pair

    # --- The export round-trips ------------------------------------------------------
    response = researcher.get(f"/api/v1/projects/{project.slug}/arena-battles.jsonl")
    records = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert len(records) == 36
    voted = list(Battle.objects.filter(state="voted").order_by("voted_at", "pk"))
    assert [(r["model_a"], r["model_b"]) for r in records] == [
        (b.model_a.name, b.model_b.name) for b in voted
    ]
    assert {r["winner"] for r in records} == {"model_a", "model_b", "tie"}
    # Read back as the Arena notebooks do: the same scores as the API's.
    names = sorted({r["model_a"] for r in records} | {r["model_b"] for r in records})
    index = {name: position for position, name in enumerate(names)}
    outcome_of = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
    battles = [(index[r["model_a"]], index[r["model_b"]], outcome_of[r["winner"]]) for r in records]
    again = bradley_terry.leaderboard(len(names), battles, rounds=200)
    assert [(names[s.index], round(s.score, 1)) for s in again] == [
        (row["model"], row["score"]) for row in board
    ]
