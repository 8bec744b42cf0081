"""Evaluation-set leakage: does a message copy one of the prompts of an evaluation set?

An inverted index of each prompt's word n-grams (13 words by default, the usual
contamination window; a prompt shorter than that is indexed by all its words) picks
the candidate prompts a text shares an n-gram with. Each candidate is then scored with
sacrebleu's sentence BLEU between the prompt and the stretch of the text its shared
n-grams point at (the text may wrap the prompt in a longer message), and the best
candidate is the answer. ``DEFAULT_THRESHOLD`` is the BLEU from which the app reports a
leak: on our samples, lightly edited copies score 66 and more, prompts that only share
a topic and an opening phrase with an evaluation prompt 29 at most (docs/quality.md).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sacrebleu.metrics import BLEU

VERSION = "sacrebleu-2.6.0/13gram/3"

DEFAULT_THRESHOLD = 40.0
# Only this much of a text is searched: a copied prompt sits in its first 20,000 chars.
MAX_CHARS = 20_000

# The shortest n-gram a prompt is indexed by (see ``_gram_size``).
MIN_GRAM = 3
# At most this many candidate prompts (those sharing the most n-grams) are scored.
MAX_CANDIDATES = 20

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class LeakageHit:
    index: int  # position of the prompt in the evaluation set
    score: float  # sentence BLEU, 0..100
    method: str  # how the score was computed ("bleu")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _gram_size(length: int, ngram: int) -> int:
    """Words per indexed n-gram of a prompt: ``ngram``, fewer for short prompts.

    A light edit every dozen words leaves no 13 words intact in a 25-word prompt, so a
    prompt is indexed by n-grams of a quarter of its length when that is shorter (3 words
    at least, or the whole prompt when it has fewer).
    """
    return min(ngram, length, max(MIN_GRAM, length // 4))


class EvalSetMatcher:
    """Finds which prompt of an evaluation set a text copies, if any."""

    def __init__(self, prompts: Sequence[str], *, ngram: int = 13) -> None:
        if ngram < 1:
            raise ValueError("ngram must be at least 1")
        self.prompts = list(prompts)
        self.ngram = ngram
        self._bleu = BLEU(effective_order=True)
        self._prompt_words = [_words(prompt) for prompt in self.prompts]
        # n (≤ ngram) → n-gram → (prompt index, where the n-gram starts in the prompt)
        self._index: dict[int, dict[tuple[str, ...], list[tuple[int, int]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for position, words in enumerate(self._prompt_words):
            if not words:
                continue
            size = _gram_size(len(words), ngram)
            grams = self._index[size]
            for start in range(len(words) - size + 1):
                grams[tuple(words[start : start + size])].append((position, start))

    def _candidates(self, words: list[str]) -> list[tuple[int, int, int]]:
        """The prompts the text shares n-grams with: ``(prompt, first, last)`` word spans.

        Each shared n-gram votes for where a copy of its prompt starts (its position in
        the text less its position in the prompt). The start with the most votes wins,
        so a phrase the text happens to share elsewhere does not drag the stretch away
        from the copy; the stretch runs from the earliest to the latest start voted for
        near it (words a light edit added or dropped stay inside) plus the prompt's
        length. Only the ``MAX_CANDIDATES`` prompts with the most votes are returned,
        which bounds the BLEU work however large the evaluation set.
        """
        votes: dict[int, list[int]] = defaultdict(list)
        for size, grams in self._index.items():
            for start in range(len(words) - size + 1):
                for position, offset in grams.get(tuple(words[start : start + size]), ()):
                    votes[position].append(start - offset)
        ranked = sorted(votes.items(), key=lambda item: (-len(item[1]), item[0]))
        candidates = []
        for position, starts in ranked[:MAX_CANDIDATES]:
            length = len(self._prompt_words[position])
            counts = Counter(starts)
            mode = min(counts, key=lambda start: (-counts[start], start))
            slack = max(2, length // 4)
            near = [start for start in starts if abs(start - mode) <= slack]
            candidates.append((position, max(0, min(near)), max(near) + length))
        return candidates

    def best(self, text: str) -> LeakageHit | None:
        """The highest-scoring prompt the text shares an n-gram with, or None."""
        words = _words(text[:MAX_CHARS])
        if not words:
            return None
        best: LeakageHit | None = None
        for position, first, last in self._candidates(words):
            window = " ".join(words[first:last])
            prompt = " ".join(self._prompt_words[position])
            score = self._bleu.sentence_score(window, [prompt]).score
            if (
                best is None
                or score > best.score
                or (score == best.score and position < best.index)
            ):
                best = LeakageHit(index=position, score=float(score), method="bleu")
        return best
