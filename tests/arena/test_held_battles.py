"""Battles whose model replies a quality signal flagged: held out of tasks, put in the
moderation queue, and decided by a moderator (the REST API, the item page's buttons,
or the resolution of the prompt's queue item)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.arena.fake_server import PII_SENTENCE, RUDE_SENTENCE
from backend.arena.models import Battle, BattleReply
from backend.arena.services import battle_generate
from backend.assignments.models import WorkItem
from backend.audit.models import AuditAction, AuditEvent
from backend.moderation.models import QueueItem
from backend.moderation.services import report_create
from tests.arena.test_battles import arena_project, relay
from tests.factories import committed
from tests.helpers import claim, submit

pytestmark = pytest.mark.django_db

LEAKY = ("fast-alpha", "pii-leaky")


def decide(client, battle_id, decision, note=""):
    return client.post(
        f"/api/v1/arena/battles/{battle_id}/decision",
        {"decision": decision, "note": note},
        format="json",
    )


def flagged_side(battle: Battle) -> str:
    return "a" if battle.model_a.name.startswith(("pii", "rude")) else "b"


def held_setup(fake_models, make_user, client_for, *, models=LEAKY, prompts=1, pool=1):
    researcher = client_for(make_user(Role.RESEARCHER))
    project, roots = arena_project(
        fake_models, researcher, models=models, prompts=prompts, pool=pool
    )
    return project, roots, researcher


def test_a_flagged_battle_is_held_and_queued(fake_models, make_user, client_for) -> None:
    project, roots, researcher = held_setup(fake_models, make_user, client_for)

    battle = Battle.objects.get(project=project)
    side = flagged_side(battle)
    other = "b" if side == "a" else "a"
    assert battle.state == "held"
    assert battle.work_item_id is None
    assert battle.flags == {side: ["pii"], other: []}
    assert PII_SENTENCE in BattleReply.objects.get(battle=battle, side=side).text
    assert not WorkItem.objects.filter(kind="compare_model_replies").exists()
    # Nothing to compare for a volunteer.
    assert (
        claim(client_for(make_user()), project.slug, kind="compare_model_replies").status_code
        == 204
    )

    item = QueueItem.objects.get(message=roots[0])
    assert (item.state, item.reasons) == ("open", ["quality_flag"])
    assert item.details == {"held_battles": [{"battle": battle.pk, side: ["pii"], other: []}]}
    event = AuditEvent.objects.get(action=AuditAction.ARENA_BATTLE_HELD)
    assert (event.target_type, event.target_id, event.is_automatic) == (
        "battle",
        str(battle.pk),
        True,
    )
    assert event.after == {"state": "held", "flags": battle.flags}
    # A held battle is not live: the settings show it apart from the pool.
    assert researcher.get(f"/api/v1/projects/{project.slug}/arena").json()["pools"] == {
        "en": {"held": 1}
    }


def test_a_rude_reply_is_held_too(fake_models, make_user, client_for) -> None:
    project, _, _ = held_setup(
        fake_models, make_user, client_for, models=("fast-alpha", "rude-grumpy")
    )
    battle = Battle.objects.get(project=project)
    side = flagged_side(battle)
    assert battle.state == "held"
    assert battle.flags[side] == ["toxicity"]
    assert RUDE_SENTENCE in BattleReply.objects.get(battle=battle, side=side).text


def test_a_clean_battle_is_offered_as_before(fake_models, make_user, client_for) -> None:
    project, _roots, _ = held_setup(
        fake_models, make_user, client_for, models=("fast-alpha", "fast-beta")
    )
    battle = Battle.objects.get(project=project)
    assert battle.state == "ready"
    assert battle.flags == {"a": [], "b": []}
    assert battle.work_item is not None
    assert not QueueItem.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ARENA_BATTLE_HELD).exists()
    assert (
        claim(client_for(make_user()), project.slug, kind="compare_model_replies").status_code
        == 201
    )


def test_generating_a_held_battle_again_changes_nothing(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)

    assert battle_generate(battle_id=battle.pk) == "held"

    assert sum(fake_models.calls.values()) == 2
    item = QueueItem.objects.get(message=roots[0])
    assert item.occurrences == 1
    assert AuditEvent.objects.filter(action=AuditAction.ARENA_BATTLE_HELD).count() == 1
    assert not WorkItem.objects.filter(kind="compare_model_replies").exists()


def test_held_battles_do_not_keep_the_pool_from_filling(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for, prompts=3, pool=1)
    # Each held battle left its place to another prompt; one battle per prompt.
    battles = list(Battle.objects.filter(project=project).order_by("pk"))
    assert [battle.state for battle in battles] == ["held", "held", "held"]
    assert sorted(battle.prompt_id for battle in battles) == sorted(root.pk for root in roots)
    assert QueueItem.objects.filter(reason="quality_flag").count() == 3


def test_release_offers_the_battle(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    moderator = make_user(Role.MODERATOR)

    with committed():
        answer = decide(client_for(moderator), battle.pk, "release", note="the address is fake")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"id": battle.pk, "state": "ready", "flags": battle.flags}
    battle.refresh_from_db()
    assert battle.state == "ready"
    event = AuditEvent.objects.get(action=AuditAction.ARENA_BATTLE_RELEASED)
    assert (event.actor_id, event.target_id, event.reason) == (
        moderator.pk,
        str(battle.pk),
        "the address is fake",
    )
    assert (event.before, event.after) == (
        {"state": "held", "flags": battle.flags},
        {"state": "ready"},
    )
    # The queue item was raised only for this battle: it is resolved with it.
    item = QueueItem.objects.get(message=roots[0])
    assert (item.state, item.resolution, item.resolved_by_id, item.note) == (
        "resolved",
        "dismiss",
        moderator.pk,
        "the address is fake",
    )
    # A volunteer now gets it, replies A and B as the battle fixed them.
    volunteer = client_for(make_user())
    claimed = claim(volunteer, project.slug, kind="compare_model_replies")
    assert claimed.status_code == 201, claimed.content
    texts = [reply.text for reply in battle.replies.order_by("side")]
    assert [candidate["text"] for candidate in claimed.json()["candidates"]] == texts
    # Deciding again is refused.
    again = decide(client_for(moderator), battle.pk, "discard")
    assert again.status_code == 409
    assert again.json()["code"] == "battle_not_held"


def test_discard_drops_the_battle_and_refills_the_pool(fake_models, make_user, client_for) -> None:
    project, _roots, researcher = held_setup(fake_models, make_user, client_for, prompts=2)
    first, second = Battle.objects.filter(project=project).order_by("pk")
    admin = client_for(make_user(Role.ADMIN))

    with committed():
        answer = decide(admin, first.pk, "discard")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "discarded"
    assert sum(fake_models.calls.values()) == 4  # no model was asked in the request
    relay()

    first.refresh_from_db()
    assert first.state == "discarded"
    assert first.work_item_id is None
    assert AuditEvent.objects.filter(
        action=AuditAction.ARENA_BATTLE_DISCARDED, target_id=str(first.pk)
    ).exists()
    # The pool refilled: the prompt is free again and got a new battle (held again, the
    # same model leaks again).
    third = Battle.objects.filter(project=project).exclude(pk__in=[first.pk, second.pk]).get()
    assert third.prompt_id == first.prompt_id
    assert third.state == "held"
    assert researcher.get(f"/api/v1/projects/{project.slug}/arena").json()["pools"] == {
        "en": {"held": 2, "discarded": 1}
    }


def test_who_may_decide(fake_models, make_user, client_for) -> None:
    project, _, researcher = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)

    assert decide(client_for(make_user()), battle.pk, "release").status_code == 403
    assert decide(researcher, battle.pk, "release").status_code == 403
    assert decide(client_for(None), battle.pk, "release").status_code in (401, 403)
    moderator = client_for(make_user(Role.MODERATOR))
    missing = decide(moderator, 999999, "release")
    assert (missing.status_code, missing.json()["code"]) == (404, "battle_not_found")
    wrong = decide(moderator, battle.pk, "keep")
    assert wrong.status_code == 400
    assert wrong.json()["fields"]["decision"][0]["code"] == "invalid_choice"
    missing_field = moderator.post(f"/api/v1/arena/battles/{battle.pk}/decision", {}, format="json")
    assert missing_field.json()["fields"]["decision"][0]["code"] == "required"
    battle.refresh_from_db()
    assert battle.state == "held"


def test_a_queue_item_with_other_reasons_stays(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    reporter = make_user()
    report_create(message_id=roots[0].pk, reporter_id=reporter.pk, reason="spam")
    moderator = make_user(Role.MODERATOR)

    with committed():
        assert decide(client_for(moderator), battle.pk, "discard").status_code == 200

    item = QueueItem.objects.get(message=roots[0])
    assert item.state == "open"
    assert sorted(item.reasons) == ["quality_flag", "report"]


def test_an_item_another_moderator_holds_is_left_to_them(
    fake_models, make_user, client_for
) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    item = QueueItem.objects.get(message=roots[0])
    other = make_user(Role.MODERATOR)
    claimed = client_for(other).post(f"/api/v1/moderation/queue/{item.pk}/claim", format="json")
    assert claimed.status_code == 200, claimed.content

    with committed():
        answer = decide(client_for(make_user(Role.MODERATOR)), battle.pk, "discard")

    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "discarded"
    item.refresh_from_db()
    assert (item.state, item.claimed_by_id) == ("claimed", other.pk)


def resolve(client, item_id, action):
    claimed = client.post(f"/api/v1/moderation/queue/{item_id}/claim", format="json")
    assert claimed.status_code == 200, claimed.content
    with committed():
        resolved = client.post(
            f"/api/v1/moderation/queue/{item_id}/resolve",
            {"action": action, "note": "checked"},
            format="json",
        )
    assert resolved.status_code == 200, resolved.content
    return resolved


def test_dismissing_the_prompts_queue_item_releases(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    item = QueueItem.objects.get(message=roots[0])
    moderator = make_user(Role.MODERATOR)

    resolve(client_for(moderator), item.pk, "dismiss")

    battle.refresh_from_db()
    assert battle.state == "ready"
    event = AuditEvent.objects.get(action=AuditAction.ARENA_BATTLE_RELEASED)
    assert (event.actor_id, event.reason) == (
        moderator.pk,
        f"queue item {item.pk} resolved: dismiss",
    )
    assert (
        claim(client_for(make_user()), project.slug, kind="compare_model_replies").status_code
        == 201
    )


def test_other_resolutions_discard(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    item = QueueItem.objects.get(message=roots[0])

    resolve(client_for(make_user(Role.MODERATOR)), item.pk, "halt_tree")

    battle.refresh_from_db()
    assert battle.state == "discarded"
    assert not WorkItem.objects.filter(kind="compare_model_replies").exists()


def test_held_and_discarded_battles_never_count(fake_models, make_user, client_for) -> None:
    project, _roots, researcher = held_setup(fake_models, make_user, client_for, prompts=2)
    first, second = Battle.objects.filter(project=project).order_by("pk")
    moderator = client_for(make_user(Role.MODERATOR))
    board = f"/api/v1/projects/{project.slug}/model-leaderboard?sources=arena"
    export = f"/api/v1/projects/{project.slug}/arena-battles.jsonl"

    def exported() -> list[dict]:
        response = researcher.get(export)
        return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]

    assert researcher.get(board).json() == []
    assert exported() == []

    with committed():
        assert decide(moderator, first.pk, "discard").status_code == 200
        assert decide(moderator, second.pk, "release").status_code == 200
    volunteer = client_for(make_user())
    assignment = claim(volunteer, project.slug, kind="compare_model_replies").json()
    with committed():
        assert submit(volunteer, assignment["id"], {"preference": "a"}).status_code == 200

    lines = exported()
    assert [line["question_id"] for line in lines] == [f"{project.slug}-{second.pk}"]
    assert (lines[0]["model_a"], lines[0]["model_b"]) == (second.model_a.name, second.model_b.name)
    assert [row["battles"] for row in researcher.get(board).json()] == [1, 1]


# --- The moderation item page -------------------------------------------------------


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_item_page_shows_the_battle_and_decides(fake_models, make_user, client_for) -> None:
    project, roots, _ = held_setup(fake_models, make_user, client_for)
    battle = Battle.objects.get(project=project)
    item = QueueItem.objects.get(message=roots[0])
    page_url = f"/moderation/items/{item.pk}/"
    moderator = make_user(Role.MODERATOR)
    client = browser(moderator)

    page = client.get(page_url)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-held-battle="{battle.pk}"' in html
    for reply in battle.replies.all():
        assert f'data-held-reply="{reply.side}"' in html
    assert "jane.roe@example.com" in html
    assert 'data-quality-flag="pii"' in html
    assert "Release the battle" in html
    assert "Discard the battle" in html
    assert f"/arena/battles/{battle.pk}/decision" in html
    assert f"arena battle #{battle.pk} held: A " in html  # the item's details in words

    # A volunteer may not post the decision.
    refused = browser(make_user()).post(
        f"/arena/battles/{battle.pk}/decision", {"decision": "release", "next": page_url}
    )
    assert refused.status_code == 403
    with committed():
        answer = client.post(
            f"/arena/battles/{battle.pk}/decision", {"decision": "release", "next": page_url}
        )
    assert answer.status_code == 302
    assert answer["Location"] == page_url
    battle.refresh_from_db()
    assert battle.state == "ready"
    after = client.get(page_url).content.decode()
    assert "data-held-battles" not in after
    assert f"Battle #{battle.pk} is released to volunteers." in after


def test_the_item_page_in_german(fake_models, make_user, client_for) -> None:
    _project, roots, _ = held_setup(fake_models, make_user, client_for)
    item = QueueItem.objects.get(message=roots[0])
    client = browser(make_user(Role.MODERATOR))

    html = client.get(f"/moderation/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Duell freigeben" in html
    assert "Duell verwerfen" in html


def test_a_decision_page_post_for_an_unknown_battle_is_404(make_user) -> None:
    client = browser(make_user(Role.MODERATOR))
    assert client.post("/arena/battles/999999/decision", {"decision": "release"}).status_code == 404
