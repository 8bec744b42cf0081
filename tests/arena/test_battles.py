"""Arena battles through the REST contract: the pool is generated ahead by Celery, a
claim shows the prompt and the two replies A, B, the vote reveals the models."""

from __future__ import annotations

from collections import Counter

import pytest

from backend.accounts.models import Role
from backend.arena.models import Battle, BattleReply, ModelEndpoint
from backend.arena.services import battle_generate, battle_pool_fill, model_endpoint_create
from backend.assignments.models import WorkItem
from backend.common.outbox import outbox_relay
from tests.factories import committed, growing_tree, people, small_project
from tests.helpers import claim, submit

pytestmark = pytest.mark.django_db


def arena_project(fake_models, client, *, models=("fast-alpha", "fast-beta"), prompts=3, pool=2):
    project = small_project()
    author, reviewer = people(2)
    roots = [growing_tree(project, author, [reviewer])[1] for _ in range(prompts)]
    for name in models:
        model_endpoint_create(name=name, base_url=fake_models.base_url, model=name)
    with committed():
        response = client.patch(
            f"/api/v1/projects/{project.slug}/arena",
            {"arena_models": list(models), "arena_pool_size": pool},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert fake_models.calls == {}  # no model was asked inside the request
    relay()
    return project, roots


def relay() -> None:
    """What the outbox relay does on its next beat tick (Celery runs eagerly)."""
    with committed():
        outbox_relay()


def test_battles_are_ready_before_anyone_asks(fake_models, make_user, client_for) -> None:
    researcher = client_for(make_user(Role.RESEARCHER))
    project, roots = arena_project(fake_models, researcher)
    battles = list(Battle.objects.filter(project=project))
    assert [battle.state for battle in battles] == ["ready", "ready"]
    assert len({battle.prompt_id for battle in battles}) == 2
    assert {battle.prompt_id for battle in battles} <= {root.pk for root in roots}
    assert BattleReply.objects.count() == 4
    assert fake_models.calls == Counter({"fast-alpha": 2, "fast-beta": 2})
    settings = researcher.get(f"/api/v1/projects/{project.slug}/arena").json()
    assert settings["arena_models"] == ["fast-alpha", "fast-beta"]
    assert settings["pools"] == {"en": {"ready": 2}}


def test_a_volunteer_votes_and_learns_the_names(fake_models, make_user, client_for) -> None:
    project, _ = arena_project(fake_models, client_for(make_user(Role.RESEARCHER)))
    volunteer = make_user()
    client = client_for(volunteer)
    claimed = claim(client, project.slug, kind="compare_model_replies")
    assert claimed.status_code == 201, claimed.content
    assignment = claimed.json()
    battle = Battle.objects.get(work_item_id=WorkItem.objects.get(assignments=assignment["id"]).pk)
    replies = {reply.side: reply for reply in battle.replies.all()}
    assert assignment["kind"] == "compare_model_replies"
    assert assignment["conversation"] == [
        {"id": battle.prompt_id, "role": "prompter", "text": battle.prompt.text}
    ]
    assert assignment["candidates"] == [
        {"id": replies["a"].pk, "role": "assistant", "text": replies["a"].text},
        {"id": replies["b"].pk, "role": "assistant", "text": replies["b"].text},
    ]
    # Nothing in the assignment names the models.
    assert "fast-alpha" not in claimed.content.decode().replace(replies["a"].text, "").replace(
        replies["b"].text, ""
    )

    refused = submit(client, assignment["id"], {"preference": "c"})
    assert refused.status_code == 400
    assert refused.json()["fields"]["preference"][0]["code"] == "invalid_choice"
    battle.refresh_from_db()
    assert battle.state == "ready"

    with committed():
        answer = submit(client, assignment["id"], {"preference": "a"})
    assert answer.status_code == 200, answer.content
    assert sum(fake_models.calls.values()) == 4  # the vote asked no model
    relay()
    outcome = answer.json()["outcome"]
    assert outcome["preference"] == "a"
    assert outcome["winner"] == "model_a"
    assert outcome["model_a"] == battle.model_a.name
    assert outcome["model_b"] == battle.model_b.name
    battle.refresh_from_db()
    assert (battle.state, battle.preference, battle.voter_id) == ("voted", "a", volunteer.pk)
    # The pool was filled again with the third prompt.
    assert Battle.objects.filter(project=project, state="ready").count() == 2


def test_claims_of_other_kinds_carry_no_outcome(fake_models, make_user, client_for) -> None:
    project = small_project()
    author, reviewer = people(2)
    growing_tree(project, author, [reviewer])
    client = client_for(make_user())
    assignment = claim(client, project.slug, kind="assistant_reply").json()
    answer = submit(client, assignment["id"], {"text": "A reply that is long enough."})
    assert answer.status_code == 200
    assert set(answer.json()) == {"assignment", "message"}


def test_pairs_are_balanced(fake_models, make_user, client_for) -> None:
    researcher = client_for(make_user(Role.RESEARCHER))
    project, _ = arena_project(
        fake_models, researcher, models=("fast-a", "fast-b", "fast-c"), prompts=6, pool=6
    )
    pairs = Counter(
        frozenset((battle.model_a.name, battle.model_b.name))
        for battle in Battle.objects.filter(project=project)
    )
    assert sorted(pairs.values()) == [2, 2, 2]
    sides = Counter(battle.model_a.name for battle in Battle.objects.filter(project=project))
    assert sum(sides.values()) == 6


def test_a_failing_model_leaves_no_battle_waiting(fake_models, make_user, client_for) -> None:
    researcher = client_for(make_user(Role.RESEARCHER))
    project, _ = arena_project(fake_models, researcher, models=("fast-good", "error-bad"), pool=1)
    battles = list(Battle.objects.filter(project=project).order_by("pk"))
    assert battles[0].state == "failed"
    assert battles[0].failure_reason.startswith("error-bad: HTTP 500")
    assert not WorkItem.objects.filter(kind="compare_model_replies").exists()
    # Each failed battle was replaced until the breaker paused the model (3 failures).
    assert [battle.state for battle in battles] == ["failed", "failed", "failed"]
    assert ModelEndpoint.objects.get(name="error-bad").breaker_state == "open"
    assert battle_pool_fill(project_id=project.pk, lang="en") == 0
    listed = researcher.get("/api/v1/models/").json()
    bad = next(row for row in listed if row["name"] == "error-bad")
    assert bad["health"] == "paused"
    assert bad["breaker_reason"].startswith("3 failed calls in a row; last: HTTP 500")


def test_generating_twice_stores_each_reply_once(fake_models, make_user, client_for) -> None:
    researcher = client_for(make_user(Role.RESEARCHER))
    project, _ = arena_project(fake_models, researcher, pool=1)
    battle = Battle.objects.get(project=project)
    assert battle_generate(battle_id=battle.pk) == "ready"
    assert BattleReply.objects.filter(battle=battle).count() == 2
    assert WorkItem.objects.filter(kind="compare_model_replies").count() == 1
