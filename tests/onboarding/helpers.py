"""Training items for tests: a review and a ranking with known answers."""

from __future__ import annotations

from typing import Any

from backend.onboarding.models import TrainingItem
from backend.onboarding.services import training_item_create
from backend.projects.models import Project

REVIEW_ITEM: dict[str, Any] = {
    "kind": "label_assistant_reply",
    "lang": "en",
    "use": "practice",
    "conversation": [
        {"role": "prompter", "text": "What is the capital of France?"},
        {"role": "assistant", "text": "Buy cheap watches at example.com!!!"},
    ],
    "answer_labels": {"spam": 1, "quality": 0},
    "explanation": "The reply is an advertisement, not an answer: spam.",
}

REPLY_ITEM: dict[str, Any] = {
    "kind": "assistant_reply",
    "lang": "en",
    "use": "practice",
    "conversation": [{"role": "prompter", "text": "How do I boil an egg so the yolk stays soft?"}],
    "answer_text": "Put the egg into boiling water for six minutes, then into cold water.",
    "explanation": "A good reply answers the question directly, with the time that matters.",
}

RANKING_ITEM: dict[str, Any] = {
    "kind": "rank_assistant_replies",
    "lang": "en",
    "use": "practice",
    "conversation": [{"role": "prompter", "text": "How many legs does a spider have?"}],
    "candidates": [
        {"text": "Eight."},
        {"text": "Spiders have eight legs, unlike insects, which have six."},
        {"text": "Six."},
    ],
    "answer_ranking": [2, 1, 3],
    "explanation": "The full answer is best; the wrong one is worst.",
}


def make_item(project: Project, base: dict[str, Any], **changes: Any) -> TrainingItem:
    return training_item_create(project=project, data={**base, **changes}, actor_id=None)
