"""Evaluation-set leakage: does a message copy one of the prompts of an evaluation set?

An inverted index of each prompt's word n-grams (13 words by default, the usual
contamination window; a prompt shorter than that is indexed by all its words) picks
the candidate prompts a text shares an n-gram with. Each candidate is then scored with
sacrebleu's sentence BLEU between the prompt and the stretch of the text that shares
its words (the text may wrap the prompt in a longer message), and the best candidate
is the answer. ``DEFAULT_THRESHOLD`` is the BLEU above which the app reports a leak.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sacrebleu.metrics import BLEU

VERSION = "sacrebleu-2.6.0/13gram/1"

DEFAULT_THRESHOLD = 20.0
# Only this much of a text is searched: a copied prompt sits in its first 20,000 chars.
MAX_CHARS = 20_000

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class LeakageHit:
    index: int  # position of the prompt in the evaluation set
    score: float  # sentence BLEU, 0..100
    method: str  # how the score was computed ("bleu")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


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
            size = min(ngram, len(words))
            grams = self._index[size]
            for start in range(len(words) - size + 1):
                grams[tuple(words[start : start + size])].append((position, start))

    def _candidates(self, words: list[str]) -> dict[int, int]:
        """Candidate prompt → where in ``words`` the copy of it seems to start."""
        found: dict[int, int] = {}
        for size, grams in self._index.items():
            for start in range(len(words) - size + 1):
                for position, offset in grams.get(tuple(words[start : start + size]), ()):
                    if position not in found:
                        found[position] = max(0, start - offset)
        return found

    def best(self, text: str) -> LeakageHit | None:
        """The highest-scoring prompt the text shares an n-gram with, or None."""
        words = _words(text[:MAX_CHARS])
        if not words:
            return None
        best: LeakageHit | None = None
        for position, copy_start in self._candidates(words).items():
            prompt_words = self._prompt_words[position]
            # The stretch of the text where the copy seems to be: as long as the prompt,
            # plus a little slack for words added or removed by light edits.
            first = max(0, copy_start - 2)
            last = min(len(words), copy_start + len(prompt_words) + 2)
            window = " ".join(words[first:last])
            score = self._bleu.sentence_score(window, [" ".join(prompt_words)]).score
            if best is None or score > best.score:
                best = LeakageHit(index=position, score=float(score), method="bleu")
        return best
