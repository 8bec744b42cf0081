"""The toxicity registry and the built-in English scorer."""

from collections.abc import Iterator

import pytest

from backend.quality.signals import toxicity
from backend.quality.signals.toxicity import (
    ProfanityCheckScorer,
    load_scorer,
    register_scorer,
    scorer_for,
)


class ConstantScorer:
    name = "constant"

    def __init__(self, languages: frozenset[str] = frozenset({"de"}), value: float = 0.25):
        self.languages = languages
        self.value = value

    def score(self, text: str) -> float:
        return self.value


def make_german_scorer() -> ConstantScorer:
    return ConstantScorer(frozenset({"de"}), 0.5)


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    toxicity.unregister_all()
    yield
    toxicity.unregister_all()


def test_english_by_default_and_none_elsewhere() -> None:
    assert isinstance(scorer_for("en"), ProfanityCheckScorer)
    assert isinstance(scorer_for("en-GB"), ProfanityCheckScorer)
    assert scorer_for("de") is None
    assert scorer_for("") is None


def test_english_scores_insults_high_and_plain_text_low() -> None:
    scorer = scorer_for("en")
    assert scorer is not None
    assert scorer.score("You are a stupid fucking idiot.") > 0.9
    assert scorer.score("Thank you, that explanation helped a lot.") < 0.2
    assert scorer.score("") == 0.0
    assert 0.0 <= scorer.score("word " * 30_000) <= 1.0


def test_registered_scorer_wins_for_its_languages() -> None:
    german = ConstantScorer(frozenset({"de"}))
    register_scorer(german)
    assert scorer_for("de-AT") is german
    assert isinstance(scorer_for("en"), ProfanityCheckScorer)
    everything = ConstantScorer(frozenset({"de", "en"}), 0.75)
    register_scorer(everything)
    assert scorer_for("de") is everything and scorer_for("en") is everything


def test_register_refuses_what_is_not_a_scorer() -> None:
    with pytest.raises(TypeError):
        register_scorer(object())  # type: ignore[arg-type]


def test_load_scorer_by_dotted_path() -> None:
    loaded = load_scorer("tests.quality.signals.test_toxicity.make_german_scorer")
    assert isinstance(loaded, ConstantScorer) and loaded.value == 0.5
    loaded_class = load_scorer("backend.quality.signals.toxicity.ProfanityCheckScorer")
    assert isinstance(loaded_class, ProfanityCheckScorer)
    with pytest.raises(ImportError):
        load_scorer("nodots")
    with pytest.raises(TypeError):
        load_scorer("backend.quality.signals.toxicity.VERSION")


def test_fast_path_gives_the_packages_own_probabilities() -> None:
    from profanity_check import predict_prob

    texts = [
        "You are a stupid fucking idiot.",
        "Thank you, that explanation helped a lot.",
        "How do I kill a process that ignores SIGTERM?",
        "Nobody asked for your opinion, so keep it to yourself.",
    ]
    scorer = ProfanityCheckScorer()
    assert [scorer.score(text) for text in texts] == pytest.approx(
        list(predict_prob(texts)), abs=1e-12
    )
