"""Language guesses, the code mapping and the mismatch rule."""

import pytest

from backend.quality.signals.language import (
    OASST1_LANGUAGES,
    SUPPORTED,
    LanguageGuess,
    base_language,
    detect,
    is_mismatch,
    same_language,
)


def test_supported_covers_the_oasst1_languages() -> None:
    assert len(OASST1_LANGUAGES) == 35
    assert OASST1_LANGUAGES <= SUPPORTED


@pytest.mark.parametrize(
    ("code", "base"),
    [
        ("pt-BR", "pt"),
        ("nb-NO", "nb"),
        ("no", "nb"),
        ("nn", "nb"),
        ("zh_Hans", "zh"),
        ("EN", "en"),
        ("", ""),
    ],
)
def test_base_language(code: str, base: str) -> None:
    assert base_language(code) == base


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Can you explain how photosynthesis works?", "en"),
        ("Kannst du mir erklären, wie ein Kühlschrank funktioniert?", "de"),
        ("Você pode me explicar como funciona a fotossíntese?", "pt"),
        ("Podes explicarme como funciona a fotosíntese?", "gl"),
        ("Можешь объяснить, как работает фотосинтез?", "ru"),
        ("光合作用的仕組みを説明してもらえますか？", "ja"),
        ("你能解释一下光合作用是怎么进行的吗？", "zh"),
        ("Kan du forklare hvordan fotosyntesen fungerer, og hvorfor den er viktig?", "nb"),
    ],
)
def test_detect(text: str, lang: str) -> None:
    guess = detect(text)
    assert guess is not None
    assert guess.lang == lang
    assert 0.0 <= guess.confidence <= 1.0
    assert guess.chars == len(text)


@pytest.mark.parametrize("text", ["", "   ", "42", "?!", "ok", "12:30 → 14:00 ✓ 🙂"])
def test_no_guess_without_letters(text: str) -> None:
    assert detect(text) is None


def test_very_long_text_is_cut_not_slow() -> None:
    guess = detect("Das ist ein ganz normaler deutscher Satz. " * 3000)
    assert guess is not None and guess.lang == "de"
    assert guess.chars == 126_000


def test_mismatch_compares_base_languages() -> None:
    guess = LanguageGuess("pt", 0.99, chars=80)
    assert is_mismatch(guess, "pt-BR") is False
    assert is_mismatch(guess, "en") is True
    assert is_mismatch(guess, "gl") is False  # a pair no detector separates reliably
    assert is_mismatch(LanguageGuess("da", 0.99, chars=80), "nb-NO") is False
    assert is_mismatch(LanguageGuess("nb", 0.99, chars=80), "no") is False


def test_mismatch_needs_confidence_length_and_a_known_declared_language() -> None:
    assert is_mismatch(None, "en") is False
    assert is_mismatch(LanguageGuess("de", 0.4, chars=80), "en") is False
    assert is_mismatch(LanguageGuess("de", 0.4, chars=80), "en", min_confidence=0.3) is True
    assert is_mismatch(LanguageGuess("de", 0.99, chars=12), "en") is False
    assert is_mismatch(LanguageGuess("de", 0.99, chars=12), "en", min_chars=10) is True
    # A guess that does not know its text's length is judged on confidence alone.
    assert is_mismatch(LanguageGuess("de", 0.99), "en") is True
    assert is_mismatch(LanguageGuess("de", 0.99, chars=80), "xx") is False
    assert is_mismatch(LanguageGuess("de", 0.99, chars=80), "") is False


def test_same_language_is_symmetric() -> None:
    assert same_language("id", "ms") and same_language("ms", "id")
    assert not same_language("de", "nl")
