"""The interface the quality app builds on: names, types and the simplest answers."""

from backend.quality.signals import duplicates, language, leakage, pii, toxicity


def test_every_module_has_a_version() -> None:
    for module in (language, toxicity, pii, duplicates, leakage):
        assert isinstance(module.VERSION, str) and module.VERSION


def test_language_detect_and_mismatch() -> None:
    guess = language.detect("Das ist ein ganz gewöhnlicher Satz auf Deutsch.")
    assert guess is not None and guess.lang == "de"
    assert language.is_mismatch(guess, "en") is True
    assert language.is_mismatch(guess, "de-AT") is False
    assert language.detect("?!") is None
    assert language.OASST1_LANGUAGES <= language.SUPPORTED


def test_toxicity_scorer_for() -> None:
    scorer = toxicity.scorer_for("en-GB")
    assert scorer is not None
    assert 0.0 <= scorer.score("Thank you, that was helpful.") < 0.5
    assert toxicity.scorer_for("zz") is None


def test_pii_find_and_mask() -> None:
    text = "Write to jane@example.org today."
    spans = pii.find_pii(text)
    assert spans == [pii.PiiSpan("email", 9, 25)]
    assert pii.mask(text, spans) == "Write to [EMAIL] today."


def test_duplicates_round_trip() -> None:
    a = duplicates.minhash_signature("The same sentence, written twice over here.")
    b = duplicates.minhash_signature("the same sentence written twice over here")
    assert a == b and len(a) == duplicates.NUM_PERM
    assert duplicates.jaccard_estimate(a, b) == 1.0
    index = duplicates.NearDuplicateIndex.from_signatures([(7, a)])
    assert index.query(b) == [7]


def test_leakage_best() -> None:
    matcher = leakage.EvalSetMatcher(["Write a short poem about the sea at night."])
    hit = matcher.best("Write a short poem about the sea at night.")
    assert hit is not None and hit.index == 0 and hit.score > 99
    assert matcher.best("Completely unrelated words here.") is None
