"""Exact and near-duplicate texts: a key for exact copies, MinHash for near copies.

``normalise`` folds what a copy-paster changes without meaning to (Unicode forms, case,
whitespace, punctuation), ``exact_key`` hashes that. ``minhash_signature`` is a
datasketch MinHash over shingles of the normalised text with a fixed number of
permutations and seed, so signatures computed today and stored in the database compare
with those computed after a restart. ``NearDuplicateIndex`` wraps datasketch's
``MinHashLSH`` for one Jaccard threshold and is rebuilt from stored signatures.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

VERSION = "datasketch-2.0.0/char5-128/1"

NUM_PERM = 128
SEED = 1
# datasketch's permutation scheme, named so that stored signatures stay comparable.
SCHEME = "affine32"
# Character shingles (5 characters of the normalised text) work for every script,
# including those written without spaces (Chinese, Japanese, Thai). Chosen by measurement
# against 3- to 7-character and 1- to 3-word shingles (docs/quality.md): the widest gap
# between near copies and unrelated texts with the lowest similarity between unrelated ones.
SHINGLE_SIZE = 5
# The estimated Jaccard similarity from which two texts count as near copies: on our
# samples near copies are at 0.62 and above, paraphrases at 0.28 and unrelated texts at
# 0.23 at most.
DEFAULT_THRESHOLD = 0.5
# Shingling stops after this many characters: a near copy shows in its first 20,000.
MAX_CHARS = 20_000

_PUNCTUATION_OR_SPACE = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation and runs of whitespace made one space, stripped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCTUATION_OR_SPACE.sub(" ", folded).strip()


def exact_key(text: str) -> str:
    """A 64-character hex SHA-256 of the normalised text."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def _shingles(normalised: str) -> set[bytes]:
    sample = normalised[:MAX_CHARS]
    if len(sample) <= SHINGLE_SIZE:
        return {sample.encode("utf-8")}
    return {
        sample[i : i + SHINGLE_SIZE].encode("utf-8") for i in range(len(sample) - SHINGLE_SIZE + 1)
    }


def _minhash(signature: Sequence[int] | None = None) -> MinHash:
    if signature is None:
        return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    if len(signature) != NUM_PERM:
        raise ValueError(f"a signature has {NUM_PERM} values, not {len(signature)}")
    return MinHash(
        num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashvalues=np.asarray(signature, np.uint64)
    )


def minhash_signature(text: str) -> list[int]:
    """``NUM_PERM`` integers (each below 2**32) summarising the text's shingles."""
    minhash = _minhash()
    minhash.update_batch(list(_shingles(normalise(text))))
    return [int(value) for value in minhash.hashvalues]


def jaccard_estimate(a: Sequence[int], b: Sequence[int]) -> float:
    """The estimated Jaccard similarity of the two texts' shingle sets, 0..1."""
    if len(a) != len(b):
        raise ValueError("signatures of different lengths")
    if not a:
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


class NearDuplicateIndex:
    """Keys of texts whose estimated Jaccard similarity may reach ``threshold``.

    LSH answers candidates: a query can return a key slightly below the threshold, or
    miss one slightly above; check candidates with ``jaccard_estimate`` when it matters.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._keys: set[int] = set()

    @classmethod
    def from_signatures(
        cls, items: Iterable[tuple[int, Sequence[int]]], *, threshold: float = DEFAULT_THRESHOLD
    ) -> NearDuplicateIndex:
        """An index holding ``(key, signature)`` pairs read back from storage."""
        index = cls(threshold)
        for key, signature in items:
            index.add(key, signature)
        return index

    def add(self, key: int, signature: Sequence[int]) -> None:
        """Add a text's signature; adding a key already present is a no-op."""
        if key in self._keys:
            return
        self._lsh.insert(key, _minhash(signature), check_duplication=False)
        self._keys.add(key)

    def remove(self, key: int) -> None:
        if key in self._keys:
            self._lsh.remove(key)
            self._keys.discard(key)

    def __contains__(self, key: int) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def query(self, signature: Sequence[int]) -> list[int]:
        """Candidate keys, sorted."""
        return sorted(self._lsh.query(_minhash(signature)))
