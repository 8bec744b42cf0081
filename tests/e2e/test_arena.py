"""The arena in the browser: a volunteer votes on two model replies with the keyboard
(side by side, stacked on a phone) and learns the models' names; the model leaderboard
page shows the table and both matrices."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backend.accounts.services import user_create
from backend.arena.fake_server import FakeModelServer
from backend.arena.models import Battle, BattleReply
from backend.arena.services import (
    arena_settings_update,
    battle_generate,
    battle_pool_fill,
    model_endpoint_create,
)
from tests.e2e.conftest import no_sideways_scroll, ready, shot
from tests.factories import UserFactory, growing_tree, people, small_project


@pytest.fixture
def fake_models() -> Iterator[FakeModelServer]:
    server = FakeModelServer()
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_volunteer_votes_with_the_keyboard_and_sees_the_names(
    new_page, log_in, fake_models
) -> None:
    project = small_project()
    author, reviewer = people(2)
    growing_tree(project, author, [reviewer])
    for name in ("fast-left", "fast-right"):
        model_endpoint_create(name=name, base_url=fake_models.base_url, model=name)
    arena_settings_update(
        project=project,
        changes={"arena_models": ["fast-left", "fast-right"], "arena_pool_size": 1},
        actor_id=None,
    )
    assert battle_pool_fill(project_id=project.pk, lang="en") == 1
    battle = Battle.objects.get(project=project)
    assert battle_generate(battle_id=battle.pk) == "ready"

    page = new_page(mobile=True)
    log_in(page, UserFactory())
    page.goto(f"/dashboard/?project={project.slug}")
    page.click("[data-nav-item][value='compare_model_replies']")
    ready(page)
    replies = page.locator(".battle-reply")
    expect(replies).to_have_count(2)
    first, second = replies.nth(0).bounding_box(), replies.nth(1).bounding_box()
    assert first and second and second["y"] >= first["y"] + first["height"] - 1  # stacked
    expect(page.locator("#task")).not_to_contain_text("fast-left")
    shot(page, "arena-battle-390")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("b")
    expect(page.locator("input[name=preference][value=b]")).to_be_checked()
    page.keyboard.press("Control+Enter")
    battle.refresh_from_db()
    expect(page.locator(".notice")).to_have_text(
        f"Thank you! A was {battle.model_a.name}, B was {battle.model_b.name}."
    )
    battle.refresh_from_db()
    assert (battle.state, battle.preference) == ("voted", "b")

    # Side by side on a wide screen: a second battle on the same prompt.
    battle_two = Battle.objects.create(
        project=project, lang="en", prompt=battle.prompt, model_a=battle.model_b,
        model_b=battle.model_a,
    )  # fmt: skip
    assert battle_generate(battle_id=battle_two.pk) == "ready"
    wide = new_page()
    log_in(wide, UserFactory())
    wide.goto(f"/dashboard/?project={project.slug}")
    wide.click("[data-nav-item][value='compare_model_replies']")
    ready(wide)
    boxes = [wide.locator(".battle-reply").nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and abs(boxes[0]["y"] - boxes[1]["y"]) < 2  # side by side
    assert boxes[1]["x"] > boxes[0]["x"]


def test_the_model_leaderboard_page(new_page, log_in) -> None:
    project = small_project()
    author, reviewer, judge = people(3)
    _, prompt = growing_tree(project, author, [reviewer])
    strong = model_endpoint_create(name="strong", base_url="http://127.0.0.1:9/v1", model="s")
    weak = model_endpoint_create(name="weak", base_url="http://127.0.0.1:9/v1", model="w")
    for index in range(12):
        battle = Battle.objects.create(
            project=project,
            lang="en",
            prompt=prompt,
            model_a=strong,
            model_b=weak,
            state="voted",
            preference="a" if index < 10 else "tie",
            voter=judge,
            voted_at=timezone.now(),
        )
        BattleReply.objects.create(battle=battle, side="a", text="good")
        BattleReply.objects.create(battle=battle, side="b", text="bad")
    page = new_page()
    log_in(page, user_create(username="rita", password="pw-for-tests-9", role="researcher"))
    page.goto(f"/projects/{project.slug}/models/")
    rows = page.locator("[data-model-leaderboard] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("strong")
    expect(rows.nth(0).locator("td").nth(4)).to_have_text("12")
    expect(page.locator("[data-win-rates]")).to_contain_text("92 %")
    expect(page.locator("[data-battle-counts] tbody tr").nth(0)).to_contain_text("12")
    shot(page, "model-leaderboard")
    mobile = new_page(mobile=True)
    log_in(mobile, UserFactory())
    mobile.goto(f"/projects/{project.slug}/models/?sources=rankings")
    expect(mobile.locator("[data-empty-leaderboard]")).to_be_visible()


def test_a_volunteer_writes_a_prompt_for_the_arena_and_judges_its_battle(
    new_page, log_in, fake_models
) -> None:
    project = small_project()
    for name in ("fast-left", "fast-right"):
        model_endpoint_create(name=name, base_url=fake_models.base_url, model=name)
    arena_settings_update(
        project=project,
        changes={"arena_models": ["fast-left", "fast-right"], "arena_prompt_source": "written"},
        actor_id=None,
    )
    text = "Which is the longest river in Europe, and how long is it?"
    page = new_page(mobile=True)
    log_in(page, UserFactory())
    page.goto(f"/dashboard/?project={project.slug}")
    page.click("[data-nav-item][value='write_arena_prompt']")
    ready(page)
    expect(page.get_by_role("heading", name="Write a prompt for two models")).to_be_visible()
    page.get_by_role("textbox", name="Your prompt").fill(text)
    page.keyboard.press("Control+Enter")
    expect(page.locator(".notice")).to_have_text(
        "Thank you! Two models are answering your prompt; the battle comes to the arena "
        "as soon as both replies are in."
    )
    no_sideways_scroll(page)
    battle = Battle.objects.get(project=project, is_written=True)
    assert battle.prompt.text == text
    assert fake_models.calls == {}  # the page did not wait on a model
    # What the worker does next (here by hand): both models answer, the battle is offered.
    assert battle_generate(battle_id=battle.pk) == "ready"
    page.goto(f"/dashboard/?project={project.slug}")
    page.click("[data-nav-item][value='compare_model_replies']")
    ready(page)
    expect(page.locator("#task")).to_contain_text(text)
    expect(page.locator(".battle-reply")).to_have_count(2)
    shot(page, "arena-written-prompt-battle-390")
