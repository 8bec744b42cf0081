"""The demo ``make run`` starts with: log-ins for every role, a project with trees at
several stages, and a moderation queue with something in it; seeding twice adds nothing."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.accounts.services import roles_of
from backend.moderation.models import QueueItem
from backend.trees.models import Message
from backend.web.demo import DEMO_PASSWORD_SUFFIX, demo_summary, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)  # the lottery runs on commit


def test_the_demo_has_every_role_trees_and_a_moderation_queue():
    project, logins, created = seed_demo()

    assert created
    assert [(login.role, login.username) for login in logins] == [
        ("volunteer", "volunteer"),
        ("moderator", "moderator"),
        ("researcher", "researcher"),
        ("admin", "admin"),
    ]
    for login in logins:
        user = User.objects.get(username=login.username)
        assert user.check_password(f"{login.username}{DEMO_PASSWORD_SUFFIX}")
        assert login.role in roles_of(user) or (login.role == "volunteer" and not roles_of(user))
    summary = demo_summary(project)
    assert sum(summary.values()) >= 4
    assert summary.get("growing", 0) + summary.get("ranking", 0) >= 1
    assert Message.objects.filter(tree__project=project).count() >= 20
    assert sorted(
        QueueItem.objects.filter(project=project, reason__in=["report", "red_flag"]).values_list(
            "reason", "state", "occurrences"
        )
    ) == [("red_flag", "open", 2), ("report", "open", 1), ("report", "open", 1)]


def test_seeding_again_changes_nothing():
    seed_demo()
    messages, items = Message.objects.count(), QueueItem.objects.count()
    _project, logins, created = seed_demo()
    assert not created
    assert len(logins) == 4
    assert (Message.objects.count(), QueueItem.objects.count()) == (messages, items)


def test_the_demo_has_practice_and_gold_items():
    from backend.onboarding.models import TrainingItem

    project, _logins, _created = seed_demo()

    assert sorted(TrainingItem.objects.filter(project=project).values_list("kind", "use")) == [
        ("assistant_reply", "practice"),
        ("label_assistant_reply", "gold"),
        ("label_assistant_reply", "practice"),
        ("rank_assistant_replies", "both"),
    ]


def test_the_demo_arena_takes_accepted_and_written_prompts():
    from backend.arena.services import arena_settings_of
    from backend.assignments.registry import get_kind

    project, _logins, _created = seed_demo()

    arena = arena_settings_of(project)
    assert (arena.arena_models, arena.arena_prompt_source) == (
        ["demo-canned-a", "demo-canned-b"],
        "both",
    )
    for kind in ("compare_model_replies", "write_arena_prompt"):
        spec = get_kind(kind)
        assert spec is not None and spec.is_offered(project)
