"""Label consensus through real votes: aggregates with intervals, the acceptance rules
(Open-Assistant's mean rule by default, Dawid–Skene where a project asks for it),
gold answers and reliability-weighted votes."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy import stats

from backend.consensus import versions
from backend.consensus.models import AnnotatorQuality, GoldLabel, LabelModel, MessageLabels
from backend.consensus.services import gold_label_remove, gold_label_set, project_rescore
from backend.projects.models import Project
from backend.trees.models import Message
from tests.factories import people, review, small_project, write_prompt

pytestmark = pytest.mark.django_db

Z = stats.norm.ppf(0.975)


def wilson(p: float, n: float) -> tuple[float, float]:
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


def test_aggregates_with_confidence_intervals_are_stored_when_the_review_ends():
    project = small_project(num_reviews_initial_prompt=3)
    author, *reviewers = people(4)
    prompt = write_prompt(project, author)
    review(
        prompt,
        reviewers,
        [
            {"spam": 0, "lang_mismatch": 0, "quality": 0.5},
            {"spam": 0, "lang_mismatch": 0, "quality": 0.75},
            {"spam": 1, "lang_mismatch": 0, "quality": 1.0},
        ],
    )

    stored = MessageLabels.objects.get(message=prompt)
    assert (stored.algorithm, stored.algorithm_version) == versions.LABEL_AGGREGATE
    assert (stored.acceptance_rule, stored.vote_count) == ("mean", 9)
    quality = stored.labels["quality"]
    half = stats.t.ppf(0.975, 2) * 0.25 / math.sqrt(3)  # sample sd 0.25, n = 3
    assert quality == {
        "kind": "likert",
        "count": 3,
        "mean": 0.75,
        "ci_low": pytest.approx(0.75 - half, abs=1e-9),
        "ci_high": 1.0,  # 0.75 + 0.621 clipped to the scale
    }
    assert quality["ci_low"] == pytest.approx(0.128966, abs=1e-6)
    spam = stored.labels["spam"]
    low, high = wilson(1 / 3, 3)
    assert spam["kind"] == "flag"
    assert (spam["count"], spam["mean"]) == (3, pytest.approx(1 / 3, abs=1e-9))
    assert (spam["ci_low"], spam["ci_high"]) == (
        pytest.approx(low, abs=1e-9),
        pytest.approx(high, abs=1e-9),
    )
    assert (round(low, 4), round(high, 4)) == (0.0615, 0.7923)
    # No fit yet: the posterior is the share of votes (what Dawid–Skene falls back to).
    assert (spam["posterior"], spam["posterior_method"]) == (
        pytest.approx(1 / 3, abs=1e-9),
        "majority",
    )
    # Open-Assistant's rule: 1 − 1/3 − 0 > 0.6, and the lifecycle took that decision.
    assert stored.acceptance_score == pytest.approx(2 / 3, abs=1e-9)
    assert stored.is_accepted is True
    assert Message.objects.get(pk=prompt.pk).review_result is True


# --- Dawid–Skene acceptance on an adversarial set ---------------------------------------


def adversarial_history(project: Project, honest: list[Any], flippers: list[Any]) -> None:
    """30 prompts, each reviewed by two honest people and one who flips the spam flag;
    a third of them are spam, none is in the wrong language."""
    author = people(1)[0]
    for number in range(30):
        prompt = write_prompt(project, author)
        spam = number % 3 == 0
        reviewers = [honest[number % 4], honest[(number + 1) % 4], flippers[number % 2]]
        review(
            prompt,
            reviewers,
            [
                {"spam": int(spam), "lang_mismatch": 0},
                {"spam": int(spam), "lang_mismatch": 0},
                {"spam": int(not spam), "lang_mismatch": 0},
            ],
        )


def contested(project: Project, honest: Any, flippers: list[Any], *, spam: bool) -> Message:
    """One honest reviewer against the two flippers: the majority is wrong."""
    prompt = write_prompt(project, people(1)[0])
    review(
        prompt,
        [honest, *flippers],
        [
            {"spam": int(spam), "lang_mismatch": 0},
            {"spam": int(not spam), "lang_mismatch": 0},
            {"spam": int(not spam), "lang_mismatch": 0},
        ],
    )
    prompt.refresh_from_db()
    return prompt


@pytest.mark.parametrize("rule", ["mean", "dawid_skene"])
def test_dawid_skene_acceptance_beats_the_mean_rule_on_adversarial_reviewers(rule: str):
    project = small_project(num_reviews_initial_prompt=3, acceptance_rule=rule)
    honest, flippers = people(4), people(2)
    adversarial_history(project, honest, flippers)
    project_rescore(project_id=project.pk)

    model = LabelModel.objects.get(project=project, label="spam")
    assert (model.method, model.algorithm, model.algorithm_version) == (
        "dawid_skene",
        *versions.DAWID_SKENE,
    )
    for flipper in flippers:
        quality = AnnotatorQuality.objects.get(project=project, user=flipper)
        assert quality.labels["spam"]["sensitivity"] < 0.2
        assert quality.labels["spam"]["specificity"] < 0.2
        assert quality.labels["spam"]["accuracy"] < 0.2
        assert quality.labels["lang_mismatch"]["accuracy"] > 0.9  # they only flip spam
    for person in honest:
        assert AnnotatorQuality.objects.get(project=project, user=person).ds_accuracy > 0.9

    spam = contested(project, honest[0], flippers, spam=True)
    clean = contested(project, honest[1], flippers, spam=False)

    spam_labels = MessageLabels.objects.get(message=spam)
    clean_labels = MessageLabels.objects.get(message=clean)
    if rule == "mean":
        # 1 − 1/3 > 0.6 accepts the spam; 1 − 2/3 rejects the clean prompt.
        assert (spam.review_result, clean.review_result) == (True, False)
        assert spam_labels.acceptance_score == pytest.approx(2 / 3, abs=1e-9)
    else:
        assert (spam.review_result, clean.review_result) == (False, True)
        assert spam_labels.labels["spam"]["posterior_method"] == "dawid_skene"
        assert spam_labels.labels["spam"]["posterior"] > 0.95
        assert clean_labels.labels["spam"]["posterior"] < 0.05
        assert spam_labels.acceptance_score < 0.6 < clean_labels.acceptance_score
    # The raw means are the same either way: only the rule differs.
    assert spam_labels.labels["spam"]["mean"] == pytest.approx(1 / 3, abs=1e-9)
    assert clean_labels.labels["spam"]["mean"] == pytest.approx(2 / 3, abs=1e-9)


def test_a_rescore_re_evaluates_history_and_counts_disagreements_with_decisions():
    """History decided before any fit went with the majority; after the fit the rule
    disagrees on some of them, which the rescore counts but does not overturn."""
    project = small_project(num_reviews_initial_prompt=3, acceptance_rule="dawid_skene")
    honest, flippers = people(4), people(2)
    adversarial_history(project, honest, flippers)
    spam = contested(project, honest[0], flippers, spam=True)  # decided without a fit
    assert spam.review_result is True

    run = project_rescore(project_id=project.pk)

    assert MessageLabels.objects.get(message=spam).is_accepted is False
    assert Message.objects.get(pk=spam.pk).review_result is True
    assert run.counts["acceptance_disagreements"] == 1


def test_reliability_weighting_silences_flippers_in_the_mean_rule():
    project = small_project(
        num_reviews_initial_prompt=3, acceptance_rule="mean", vote_weighting="reliability"
    )
    honest, flippers = people(4), people(2)
    adversarial_history(project, honest, flippers)
    project_rescore(project_id=project.pk)
    for flipper in flippers:
        quality = AnnotatorQuality.objects.get(project=project, user=flipper)
        assert quality.labels["spam"]["weight"] == 0.0
        assert quality.labels["lang_mismatch"]["weight"] > 0.8

    spam = contested(project, honest[0], flippers, spam=True)

    labels = MessageLabels.objects.get(message=spam).labels["spam"]
    # Only the honest vote carries weight: the weighted mean is 1 and the interval is
    # that of one vote.
    assert labels["mean"] == 1.0
    assert (labels["ci_low"], labels["ci_high"]) == (
        pytest.approx(wilson(1.0, 1)[0], abs=1e-9),
        1.0,
    )
    assert spam.review_result is False


# --- Gold answers -----------------------------------------------------------------------


def test_gold_answers_pin_the_posterior_and_score_annotators(make_user):
    project = small_project(num_reviews_initial_prompt=3, acceptance_rule="dawid_skene")
    researcher = make_user(role="researcher")
    honest, flippers = people(4), people(2)
    adversarial_history(project, honest, flippers)
    prompt = contested(project, honest[0], flippers, spam=True)

    gold = gold_label_set(message_id=prompt.pk, label="spam", value=1.0, actor_id=researcher.pk)

    assert (gold.created_by_id, gold.value) == (researcher.pk, 1.0)
    labels = MessageLabels.objects.get(message=prompt)
    assert labels.labels["spam"]["posterior"] == 1.0
    assert labels.labels["spam"]["posterior_method"] == "gold"
    assert labels.acceptance_score == 0.0

    project_rescore(project_id=project.pk)
    assert AnnotatorQuality.objects.get(project=project, user=honest[0]).gold_accuracy == 1.0
    for flipper in flippers:
        quality = AnnotatorQuality.objects.get(project=project, user=flipper)
        assert (quality.gold_vote_count, quality.gold_accuracy) == (1, 0.0)

    assert gold_label_remove(message_id=prompt.pk, label="spam", actor_id=researcher.pk)
    assert not GoldLabel.objects.exists()
    assert MessageLabels.objects.get(message=prompt).labels["spam"]["posterior_method"] == (
        "dawid_skene"
    )


def test_a_gold_answer_outside_the_unit_interval_is_refused():
    from backend.common.errors import ValidationFailed

    project = small_project()
    prompt = write_prompt(project, people(1)[0])
    with pytest.raises(ValidationFailed):
        gold_label_set(message_id=prompt.pk, label="spam", value=2.0, actor_id=None)
    assert not GoldLabel.objects.exists()


def test_the_acceptance_rule_and_vote_weighting_are_project_settings():
    from backend.common.errors import ArborError
    from backend.projects.services import project_create

    project = project_create(slug="defaults")
    assert (project.acceptance_rule, project.vote_weighting) == ("mean", "none")
    chosen = project_create(
        slug="chosen", settings={"acceptance_rule": "dawid_skene", "vote_weighting": "reliability"}
    )
    assert (chosen.acceptance_rule, chosen.vote_weighting) == ("dawid_skene", "reliability")
    with pytest.raises(ArborError) as refused:
        project_create(slug="wrong", settings={"acceptance_rule": "vibes"})
    assert refused.value.code == "invalid_project"
    assert "settings.acceptance_rule" in refused.value.fields
    assert not Project.objects.filter(slug="wrong").exists()


def test_exports_get_every_message_s_consensus_in_one_call():
    """The shape ``message_consensus_extras`` promises the exporters."""
    from backend.consensus.selectors import message_consensus_extras

    project = small_project(num_reviews_initial_prompt=3)
    author, *reviewers = people(4)
    reviewed = write_prompt(project, author)
    review(reviewed, reviewers, [{"spam": 0, "lang_mismatch": 0, "quality": 1.0}] * 3)
    unreviewed = write_prompt(project, author)

    extras = message_consensus_extras([reviewed.pk, unreviewed.pk, 10**9])

    assert set(extras) == {reviewed.pk, unreviewed.pk, 10**9}
    assert extras[unreviewed.pk] == {
        "score": None,
        "rank": None,
        "rank_confidence": None,
        "ranking_voters": None,
        "min_locked_margin": None,
        "tie_resolved": None,
        "kendalls_w": None,
        "ranking_algorithm": None,
        "score_algorithm": None,
        "labels": {},
        "acceptance": None,
        "label_algorithm": None,
    }
    done = extras[reviewed.pk]
    assert done["acceptance"] == {"rule": "mean", "score": 1.0, "is_accepted": True}
    assert done["label_algorithm"] == "label_aggregate/1"
    assert done["labels"]["quality"] == {
        "kind": "likert",
        "count": 3,
        "mean": 1.0,
        "ci_low": 1.0,  # three equal votes: a zero-width t interval
        "ci_high": 1.0,
    }
    assert set(done["labels"]["spam"]) == {
        "kind", "count", "mean", "ci_low", "ci_high", "posterior", "posterior_method"
    }  # fmt: skip
