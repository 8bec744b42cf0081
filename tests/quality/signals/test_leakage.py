"""Evaluation-set leakage: copies, light edits, embeddings, and texts that only share a topic."""

import pytest

from backend.quality.signals.leakage import DEFAULT_THRESHOLD, EvalSetMatcher, LeakageHit

PROMPTS = [
    "What is the time complexity of binary search, and why does it require the input array "
    "to be sorted?",
    "Write a limerick about a forgetful wizard who keeps losing his hat in the enchanted forest.",
    "Translate good morning.",
]


@pytest.fixture(scope="module")
def matcher() -> EvalSetMatcher:
    return EvalSetMatcher(PROMPTS)


def test_exact_copy_scores_100(matcher: EvalSetMatcher) -> None:
    assert matcher.best(PROMPTS[1]) == LeakageHit(
        index=1, score=pytest.approx(100.0), method="bleu"
    )


def test_light_edits_and_embedding_still_score_high(matcher: EvalSetMatcher) -> None:
    edited = "write a limerick about a forgetfull wizard who keeps loosing his hat in the forest"
    hit = matcher.best(edited)
    assert hit is not None and hit.index == 1 and hit.score >= DEFAULT_THRESHOLD
    wrapped = (
        "Hi! My teacher gave us this and I'm stuck. " + PROMPTS[0] + " Please answer in detail, "
        "with an example in Python and a short proof, thanks a lot for your help."
    )
    hit = matcher.best(wrapped)
    assert hit is not None and hit.index == 0 and hit.score > 90


def test_same_topic_scores_below_the_threshold(matcher: EvalSetMatcher) -> None:
    hit = matcher.best(
        "What is the time complexity of quicksort in the worst case, and how can it be avoided?"
    )
    assert hit is not None and hit.index == 0 and hit.score < DEFAULT_THRESHOLD


def test_short_prompt_is_indexed_by_all_its_words(matcher: EvalSetMatcher) -> None:
    hit = matcher.best("Translate good morning")
    assert hit is not None and hit.index == 2 and hit.score == pytest.approx(100.0)


def test_nothing_shared_means_no_hit(matcher: EvalSetMatcher) -> None:
    assert matcher.best("How do I remove a red wine stain from a white shirt?") is None
    assert matcher.best("") is None
    assert matcher.best("!!! ???") is None


def test_empty_evaluation_set_and_bad_ngram() -> None:
    assert EvalSetMatcher([]).best(PROMPTS[0]) is None
    assert EvalSetMatcher(["", PROMPTS[2]]).best(PROMPTS[2]) == LeakageHit(
        index=1, score=pytest.approx(100.0), method="bleu"
    )
    with pytest.raises(ValueError):
        EvalSetMatcher(PROMPTS, ngram=0)


def test_very_long_text_is_searched_up_to_the_cap(matcher: EvalSetMatcher) -> None:
    filler = "lorem ipsum dolor sit amet " * 700  # about 19,000 characters
    hit = matcher.best(filler + PROMPTS[1] + filler * 5)
    assert hit is not None and hit.index == 1 and hit.score > 90


def test_a_phrase_shared_far_from_the_copy_does_not_move_the_window(
    matcher: EvalSetMatcher,
) -> None:
    text = (
        "What is the time complexity of this loop, I wondered. "
        + "Then I read other things for a while. " * 60
        + PROMPTS[0]
    )
    hit = matcher.best(text)
    assert hit is not None and hit.index == 0 and hit.score > 99


def test_many_prompts_sharing_a_phrase_still_find_the_copied_one() -> None:
    prompts = [
        f"Write a short story about a cat number {n} who learns to swim." for n in range(200)
    ]
    prompts.append("Write a short story about a lighthouse keeper who finds an old map.")
    matcher = EvalSetMatcher(prompts)
    hit = matcher.best("Write a short story about a lighthouse keeper who finds an old map.")
    assert hit is not None and hit.index == 200 and hit.score > 99
