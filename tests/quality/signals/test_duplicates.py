"""Exact keys, MinHash signatures and the LSH index rebuilt from stored signatures."""

import pytest

from backend.quality.signals.duplicates import (
    NUM_PERM,
    NearDuplicateIndex,
    exact_key,
    jaccard_estimate,
    minhash_signature,
    normalise,
)

BASE = (
    "Explain the difference between a stack and a queue, and give one real-world example "
    "of each that a beginner programmer would understand."
)


def test_normalise_folds_case_width_punctuation_and_spaces() -> None:
    assert normalise("  Hello,\tWORLD!!  ") == "hello world"
    assert normalise("Ｆｕｌｌｗｉｄｔｈ ﬁle") == "fullwidth file"
    assert normalise("Straße") == "strasse"
    assert normalise("") == ""


def test_exact_key_is_stable_and_ignores_what_normalise_folds() -> None:
    assert exact_key("Hello, world!") == exact_key("hello world")
    assert exact_key("Hello, world!") != exact_key("Hello, word!")
    assert exact_key("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert len(exact_key(BASE)) == 64


def test_signature_is_deterministic_and_fixed_length() -> None:
    signature = minhash_signature(BASE)
    assert signature == minhash_signature(BASE)
    assert len(signature) == NUM_PERM
    assert all(isinstance(value, int) and 0 <= value < 2**32 for value in signature)
    assert len(minhash_signature("")) == NUM_PERM
    assert len(minhash_signature("héllo wörld 你好 " * 10_000)) == NUM_PERM


def test_jaccard_estimate_orders_copies_above_unrelated_texts() -> None:
    near = BASE.replace("beginner", "new")
    unrelated = "What is the capital of Australia, and why is it not Sydney?"
    base, near_copy = minhash_signature(BASE), minhash_signature(near)
    assert jaccard_estimate(base, base) == 1.0
    assert jaccard_estimate(base, near_copy) > 0.7
    assert jaccard_estimate(base, minhash_signature(unrelated)) < 0.2
    with pytest.raises(ValueError):
        jaccard_estimate(base, base[:10])


def test_index_finds_near_copies_and_rebuilds_from_stored_signatures() -> None:
    stored = [
        (1, minhash_signature(BASE)),
        (2, minhash_signature("Why do cats purr? Describe the current scientific theories.")),
    ]
    index = NearDuplicateIndex.from_signatures(stored, threshold=0.7)
    assert len(index) == 2 and 1 in index
    assert index.query(minhash_signature("Hi, " + BASE.lower() + " Thanks!")) == [1]
    assert index.query(minhash_signature("Something else entirely, about trains.")) == []
    index.add(1, stored[0][1])  # the same key again is a no-op
    assert len(index) == 2
    index.remove(1)
    assert index.query(stored[0][1]) == [] and len(index) == 1
    # Signatures survive a round trip through plain integers (a database column).
    rebuilt = NearDuplicateIndex.from_signatures([(3, [int(v) for v in stored[1][1]])])
    assert rebuilt.query(stored[1][1]) == [3]


def test_index_refuses_a_signature_of_another_length() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex().add(1, [1, 2, 3])
