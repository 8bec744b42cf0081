"""Demo data: a small project, one user per role and trees in every stage.

Trees are grown by a few demo volunteers through the same services the API uses, so
the demo shows real states, reviews and ranks rather than hand-set fields.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from django.conf import settings

from backend.accounts.models import Role, User
from backend.accounts.services import user_create, user_token
from backend.arena.models import ModelEndpoint
from backend.arena.services import COMPARE_KIND as ARENA_KIND
from backend.arena.services import arena_settings_update, model_endpoint_create
from backend.assignments.selectors import assignment_context
from backend.assignments.services import assignment_claim_next, assignment_submit
from backend.common.errors import ArborError
from backend.onboarding.services import training_item_create
from backend.projects.models import Project, default_kind_weights
from backend.projects.services import project_create
from backend.trees.models import Tree, TreeState

DEMO_SLUG = "demo"
DEMO_PASSWORD_SUFFIX = "-demo-password"
DEMO_ROLES = (Role.VOLUNTEER, Role.MODERATOR, Role.RESEARCHER, Role.ADMIN)

DEMO_PROMPTS = (
    "How do I keep basil alive on a windowsill through the winter?",
    "Explain the difference between a list and a tuple in Python, with an example.",
    "Write a short poem about the first snow of the year.",
    "What should I check before buying a second-hand bicycle?",
    "Why does bread go stale, and can stale bread be saved?",
    "Give me three ideas for a rainy-day activity with two young children.",
    "How do noise-cancelling headphones work?",
    "Summarise the rules of chess castling in plain words.",
    "What is a good way to start learning to draw as an adult?",
    "Can you explain what compound interest is with a small example?",
)

ASSISTANT_OPENINGS = (
    "Here is a practical answer.",
    "Good question; the short version first.",
    "Let me walk through it step by step.",
    "There are a few things to consider.",
)
PROMPTER_FOLLOW_UPS = (
    "Thanks! Could you give a concrete example?",
    "That helps. What is the most common mistake people make here?",
    "Can you make that shorter, in two sentences?",
    "Interesting. Is there anything I should avoid?",
)


# Quality signals (docs/quality.md): a demo eval set, and prompts that trigger each
# flag — personal data, another language than the project's, a near copy of a demo
# prompt, a toxic line and a prompt copied from the eval set.
DEMO_EVAL_SET = "demo-eval"
DEMO_EVAL_PROMPTS = (
    "Write a limerick about a cat who is afraid of cucumbers and hides under the sofa.",
    "List five practical tips for reducing food waste in a shared student kitchen.",
    "Explain to a ten-year-old why the moon looks different every night of the month.",
)
QUALITY_PROMPTS = (
    "My email is maria.lopez@example.com and my phone is +1 415 555 0132, "
    "can you write me a polite reminder for my landlord about the broken heater?",
    "Kannst du mir bitte erklären, wie ich im Winter Basilikum auf der Fensterbank am Leben halte?",
    # A demo prompt the bots may not have drawn, then a near copy of it.
    DEMO_PROMPTS[0],
    "How do I keep basil alive on a windowsill through the winter months?",
    "You are a stupid useless idiot, answer me properly this time.",
    "Explain to a ten-year-old why the moon looks different every night of the month.",
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    token: str


def _demo_text(kind: str, conversation: list[str], rng: random.Random, serial: int) -> str:
    if kind == "initial_prompt":
        return DEMO_PROMPTS[serial % len(DEMO_PROMPTS)]
    topic = conversation[0].rstrip("?.!") if conversation else "that"
    if kind == "assistant_reply":
        return (
            f"{rng.choice(ASSISTANT_OPENINGS)} On “{topic}”: start with the basics, "
            f"check one thing at a time and keep notes of what works (demo reply {serial})."
        )
    return f"{rng.choice(PROMPTER_FOLLOW_UPS)} (demo follow-up {serial})"


def _ensure_user(role: str, username: str) -> tuple[User, str]:
    password = f"{username}{DEMO_PASSWORD_SUFFIX}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            username=username, password=password, role=role, email=f"{username}@example.org"
        )
    return user, password


def _drive(project: Project, bots: list[User], *, rounds: int, rng: random.Random) -> None:
    serial = 0
    for _ in range(rounds):
        for bot in bots:
            kind = "any"
            try:
                assignment = assignment_claim_next(
                    user=bot, project=project, lang="en", kind=kind, rng=rng
                )
            except ArborError:
                continue
            if assignment is None:
                continue
            context = assignment_context(assignment)
            conversation = [message.text for message in context["conversation"]]
            serial += 1
            if assignment.kind in ("initial_prompt", "prompter_reply", "assistant_reply"):
                payload: dict[str, object] = {
                    "text": _demo_text(assignment.kind, conversation, rng, serial)
                }
            elif assignment.kind.startswith("label_"):
                payload = {
                    "labels": {
                        "spam": 1.0 if rng.random() < 0.05 else 0.0,
                        "lang_mismatch": 0.0,
                        "quality": rng.choice([0.5, 0.75, 1.0]),
                    }
                }
            else:
                ranking = [candidate.pk for candidate in context["candidates"]]
                ranking.sort(key=lambda pk: (pk % 3, rng.random()))
                payload = {"ranking": ranking}
            try:
                assignment_submit(user=bot, assignment_id=assignment.pk, payload=payload)
            except ArborError:
                continue


def _moderation_examples(project: Project, bots: list[User]) -> None:
    """Something for the demo moderator: two reported replies and a red-flagged one."""
    from backend.moderation.services import report_create
    from backend.trees.models import Emoji, Message
    from backend.trees.services import message_react

    replies = list(
        Message.objects.filter(tree__project=project, parent__isnull=False, is_deleted=False)
        .exclude(author__in=bots[:2])
        .order_by("pk")[:3]
    )
    examples = [
        ("spam", "Looks like an advertisement."),
        ("wrong", "The facts in this answer are not right."),
    ]
    for reply, (reason, text) in zip(replies, examples, strict=False):
        report_create(message_id=reply.pk, reporter_id=bots[0].pk, reason=reason, text=text)
    if len(replies) == 3:
        for bot in bots[:2]:
            message_react(message_id=replies[2].pk, user_id=bot.pk, emoji=Emoji.RED_FLAG)


def _quality_examples(project: Project, bots: list[User], researcher: User) -> None:
    """A demo eval set, and prompts that raise each quality flag (computed after each
    commit, like every message's signals)."""
    from backend.quality.services import eval_set_create

    eval_set_create(
        project=project,
        name=DEMO_EVAL_SET,
        prompts=list(DEMO_EVAL_PROMPTS),
        actor_id=researcher.pk,
    )
    for bot, text in zip(itertools.cycle(bots), QUALITY_PROMPTS):
        try:
            assignment = assignment_claim_next(
                user=bot, project=project, lang="en", kind="initial_prompt"
            )
            if assignment is not None:
                assignment_submit(user=bot, assignment_id=assignment.pk, payload={"text": text})
        except ArborError:
            continue


# The two demo models: canned, templated text from the fake OpenAI-compatible server
# that ``manage.py serve`` starts (``fake_models_serve``); never a real model.
DEMO_MODELS = (("demo-canned-a", "fast-demo-canned-a"), ("demo-canned-b", "fast-demo-canned-b"))


def _arena_demo(project: Project) -> None:
    """Two clearly labelled demo models, battling in the arena and replying in trees."""
    for name, model in DEMO_MODELS:
        if not ModelEndpoint.objects.filter(name=name).exists():
            model_endpoint_create(
                name=name,
                base_url=settings.ARBOR_DEMO_MODELS_URL,
                model=model,
                params={"system_prompt": "Demo model: canned replies, not a real model."},
            )
    names = [name for name, _ in DEMO_MODELS]
    project.assignment_weights = {**project.assignment_weights, ARENA_KIND: 0.5}
    project.save(update_fields=["assignment_weights"])
    arena_settings_update(
        project=project,
        changes={
            "arena_models": names,
            "arena_pool_size": 3,
            # Battles on accepted prompts, and on prompts people write for the arena.
            "arena_prompt_source": "both",
            "model_reply_models": names,
            "model_replies_per_parent": 1,
        },
        actor_id=None,
    )


def _onboarding_examples(project: Project, researcher: User) -> None:
    """Practice items for the tour (a reply, a review and a ranking) and gold items of
    both gradeable kinds, so a new volunteer meets the tour and, now and then, a gold
    item."""
    review = {
        "kind": "label_assistant_reply",
        "lang": "en",
        "conversation": [
            {"role": "prompter", "text": "What is the boiling point of water at sea level?"},
            {"role": "assistant", "text": "Great deals on kettles at example.shop!"},
        ],
        "answer_labels": {"spam": 1},
    }
    ranking = {
        "kind": "rank_assistant_replies",
        "lang": "en",
        "conversation": [{"role": "prompter", "text": "Why is the sky blue?"}],
        "candidates": [
            {"text": "Air scatters blue light more than red light (Rayleigh scattering)."},
            {"text": "Because it reflects the sea."},
            {"text": "Scattering."},
        ],
        "answer_ranking": [1, 3, 2],
    }
    training_item_create(
        project=project,
        data={
            **review,
            "use": "practice",
            "explanation": "An advertisement instead of an answer is **spam**: say yes.",
        },
        actor_id=researcher.pk,
    )
    training_item_create(
        project=project,
        data={
            **ranking,
            "use": "both",
            "explanation": "The correct, explained answer first; the short correct one next; "
            "the wrong one last.",
        },
        actor_id=researcher.pk,
    )
    training_item_create(
        project=project,
        data={
            "kind": "assistant_reply",
            "lang": "en",
            "use": "practice",
            "conversation": [{"role": "prompter", "text": "How do I keep basil fresh?"}],
            "answer_text": "Trim the stems and stand them in a glass of water at room "
            "temperature, like cut flowers; the fridge turns basil black.",
            "explanation": "A good reply answers the question itself, says why, and is "
            "short enough to read at a glance.",
        },
        actor_id=researcher.pk,
    )
    training_item_create(
        project=project,
        data={
            **review,
            "use": "gold",
            "conversation": [
                {"role": "prompter", "text": "How many days are in a leap year?"},
                {"role": "assistant", "text": "Click here to win a free phone!"},
            ],
        },
        actor_id=researcher.pk,
    )


def seed_demo(*, rng_seed: int = 7) -> tuple[Project, list[DemoLogin], bool]:
    """Create the demo (once) and return it with the log-ins; the flag says if it was new."""
    logins = []
    for role in DEMO_ROLES:
        user, password = _ensure_user(role, role)
        logins.append(
            DemoLogin(
                role=role, username=user.username, password=password, token=user_token(user=user)
            )
        )
    project = Project.objects.filter(slug=DEMO_SLUG).first()
    if project is not None:
        return project, logins, False
    project = project_create(
        slug=DEMO_SLUG,
        name="Demo: helpful conversations",
        guidelines=(
            "# Guidelines\n\n"
            "- Write as a helpful, honest assistant; say when you are unsure.\n"
            "- Prompts should be real questions a person might ask.\n"
            "- Flag spam, personal data and anything inappropriate.\n"
            "- Rank replies by how helpful, correct and kind they are."
        ),
        settings={
            "goal_tree_size": 6,
            "max_depth": 3,
            "num_reviews_initial_prompt": 2,
            "num_reviews_reply": 2,
            "num_required_rankings": 2,
            "max_active_trees": 4,
            "replies_per_minute": 1000,
            "requests_per_minute": 1000,
            "duplicate_text_window_hours": 0,
            # The bots below leave the arena alone (and draw the same work as before it
            # existed); ``_arena_demo`` weighs it in for people afterwards.
            "assignment_weights": {**default_kind_weights(), ARENA_KIND: 0.0},
        },
    )
    bots = [_ensure_user(Role.VOLUNTEER, f"demo-bot-{index}")[0] for index in range(1, 6)]
    _drive(project, bots, rounds=60, rng=random.Random(rng_seed))
    _moderation_examples(project, bots)
    _quality_examples(project, bots, User.objects.get(username=Role.RESEARCHER))
    _onboarding_examples(project, User.objects.get(username=Role.RESEARCHER))
    _arena_demo(project)
    project.replies_per_minute = 6
    project.requests_per_minute = 60
    project.duplicate_text_window_hours = 24
    project.save(
        update_fields=["replies_per_minute", "requests_per_minute", "duplicate_text_window_hours"]
    )
    return project, logins, True


def demo_summary(project: Project) -> dict[str, int]:
    summary: dict[str, int] = {state: 0 for state in TreeState.values}
    for state in Tree.objects.filter(project=project).values_list("state", flat=True):
        summary[state] += 1
    return {state: count for state, count in summary.items() if count}
