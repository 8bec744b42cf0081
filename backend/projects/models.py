from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Open-Assistant's label names. ``spam`` is always asked and mandatory.
DEFAULT_FLAGS = (
    "spam",
    "fails_task",
    "lang_mismatch",
    "pii",
    "not_appropriate",
    "hate_speech",
    "sexual_content",
    "moral_judgement",
    "political_content",
)
DEFAULT_SCALES = ("quality", "toxicity", "humor", "helpfulness", "creativity", "violence")
# What "simple" labelling asks: the flags that decide acceptance plus one quality scale.
SIMPLE_LABELS = ("spam", "lang_mismatch", "fails_task", "not_appropriate", "pii", "quality")


def default_label_schema() -> list[dict[str, Any]]:
    return [
        {"name": name, "kind": "flag", "mandatory": name == "spam"} for name in DEFAULT_FLAGS
    ] + [{"name": name, "kind": "likert", "mandatory": False} for name in DEFAULT_SCALES]


def default_kind_weights() -> dict[str, float]:
    # Open-Assistant's deployed preference: finish what is started (rank, review)
    # before growing, and growing before new prompts.
    return {
        "initial_prompt": 0.1,
        "prompter_reply": 1.0,
        "assistant_reply": 1.0,
        "label_initial_prompt": 1.0,
        "label_prompter_reply": 1.0,
        "label_assistant_reply": 1.0,
        "rank_prompter_replies": 1.0,
        "rank_assistant_replies": 1.0,
    }


def default_languages() -> list[str]:
    return ["en"]


class LabellingMode(models.TextChoices):
    FULL = "full"
    SIMPLE = "simple"


class AcceptanceRule(models.TextChoices):
    """How review votes decide acceptance (docs/consensus.md)."""

    # Open-Assistant's: 1 − mean(spam) − mean(lang_mismatch) > threshold.
    MEAN = "mean"
    # The same with Dawid–Skene posteriors P(spam), P(lang_mismatch) instead of means.
    DAWID_SKENE = "dawid_skene"


class VoteWeighting(models.TextChoices):
    """Whether label means weight each vote by its annotator's measured reliability."""

    NONE = "none"
    RELIABILITY = "reliability"


class AccountDeletionPolicy(models.TextChoices):
    """What happens to a deleted account's messages in this project (docs/accounts.md)."""

    # The messages stay, with no author; the person's data is gone.
    ANONYMISE = "anonymise"
    # The messages are deleted as a moderator deletes them (with their replies).
    REMOVE = "remove"


OWN_EDIT_WINDOW_MAX_MINUTES = 1440


class Project(models.Model):
    """A data-collection project: its guidelines, tree settings and label schema.

    The tree settings are columns (typed, validated, visible in the admin); their
    names are the ones ``create_project --settings``, the API and exports use, listed
    in ``TREE_SETTING_NAMES``.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    guidelines = models.TextField(blank=True)
    # Guidelines in other interface languages ({"de": "…"}); ``guidelines`` is the
    # fallback. Per-kind instructions replace a kind's built-in one: {kind: {lang: text}}
    # with "" as the fallback language (docs/projects.md).
    guidelines_translations = models.JSONField(default=dict, blank=True)
    kind_instructions = models.JSONField(default=dict, blank=True)
    languages = models.JSONField(default=default_languages)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    goal_tree_size = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1)])
    max_depth = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1)])
    max_children = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    num_reviews_initial_prompt = models.PositiveIntegerField(
        default=3, validators=[MinValueValidator(1)]
    )
    num_reviews_reply = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    acceptance_threshold = models.FloatField(
        default=0.6, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    num_required_rankings = models.PositiveIntegerField(
        default=3, validators=[MinValueValidator(1)]
    )
    max_active_trees = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    lonely_children_count = models.PositiveIntegerField(default=2)
    p_lonely_child_extension = models.FloatField(
        default=0.75, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    reservation_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    max_open_assignments = models.PositiveIntegerField(default=8, validators=[MinValueValidator(1)])
    max_message_length = models.PositiveIntegerField(
        default=2000, validators=[MinValueValidator(1)]
    )
    # Prompts and replies shorter than this (after trimming) are refused: "i" is not a
    # prompt anyone can answer.
    min_message_length = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    requests_per_minute = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    replies_per_minute = models.PositiveIntegerField(default=6, validators=[MinValueValidator(1)])
    duplicate_text_window_hours = models.PositiveIntegerField(default=24)
    max_prompt_lottery_waiting = models.PositiveIntegerField(default=1000)
    assignment_weights = models.JSONField(default=default_kind_weights)
    # Auto-moderation (Open-Assistant's deployed values): this many red flags delete a
    # reply's subtree or abort a tree at its root; this many skipped replies halt a tree.
    auto_delete_red_flags = models.PositiveIntegerField(
        default=4, validators=[MinValueValidator(1)]
    )
    auto_halt_reply_skips = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1)]
    )
    queue_reply_skips = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    # Volunteers may edit their own message this long after writing it, even when it
    # has been reviewed; 0 allows edits only while nobody has reviewed it.
    own_edit_window_minutes = models.PositiveIntegerField(
        default=10, validators=[MaxValueValidator(OWN_EDIT_WINDOW_MAX_MINUTES)]
    )
    on_account_deletion = models.CharField(
        max_length=16,
        choices=AccountDeletionPolicy.choices,
        default=AccountDeletionPolicy.ANONYMISE,
    )

    # Quality signals (docs/quality.md): a message is flagged when its toxicity score
    # exceeds the first, a prompt's MinHash Jaccard similarity to an earlier prompt
    # reaches the second, or its BLEU against an eval prompt reaches the third; a
    # language mismatch counts only when the detector is at least this confident.
    quality_toxicity_threshold = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    quality_near_duplicate_threshold = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(1.0)]
    )
    quality_leakage_threshold = models.FloatField(
        default=20.0, validators=[MinValueValidator(1.0), MaxValueValidator(100.0)]
    )
    quality_lang_min_confidence = models.FloatField(
        default=0.9, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )

    # Kinds a volunteer must qualify for first: {kind: {"items": N, "min_accuracy": x}}
    # — answer N of the project's gold items of that kind, at least x of them right
    # (docs/onboarding.md). Kinds not named are open to everyone.
    qualification = models.JSONField(default=dict, blank=True)
    # Gold items in the stream: this share of label and ranking claims is answered with
    # one of the project's gold items instead (it looks like real work); a person whose
    # recent gold answers of a kind fall below ``gold_min_accuracy`` is paused from that
    # kind until they redo the practice (docs/onboarding.md).
    gold_rate = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    gold_min_accuracy = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )

    label_schema = models.JSONField(default=default_label_schema)
    labelling_mode = models.CharField(
        max_length=16, choices=LabellingMode.choices, default=LabellingMode.FULL
    )
    acceptance_rule = models.CharField(
        max_length=16, choices=AcceptanceRule.choices, default=AcceptanceRule.MEAN
    )
    vote_weighting = models.CharField(
        max_length=16, choices=VoteWeighting.choices, default=VoteWeighting.NONE
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


TREE_SETTING_NAMES = (
    "goal_tree_size",
    "max_depth",
    "max_children",
    "num_reviews_initial_prompt",
    "num_reviews_reply",
    "acceptance_threshold",
    "num_required_rankings",
    "max_active_trees",
    "lonely_children_count",
    "p_lonely_child_extension",
    "reservation_minutes",
    "max_open_assignments",
    "max_message_length",
    "min_message_length",
    "requests_per_minute",
    "replies_per_minute",
    "duplicate_text_window_hours",
    "max_prompt_lottery_waiting",
    "assignment_weights",
    "labelling_mode",
    "auto_delete_red_flags",
    "auto_halt_reply_skips",
    "queue_reply_skips",
    "acceptance_rule",
    "vote_weighting",
    "own_edit_window_minutes",
    "on_account_deletion",
    "quality_toxicity_threshold",
    "quality_near_duplicate_threshold",
    "quality_leakage_threshold",
    "quality_lang_min_confidence",
    "qualification",
    "gold_rate",
    "gold_min_accuracy",
)
