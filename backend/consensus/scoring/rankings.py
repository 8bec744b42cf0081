"""Sibling groups: ranked pairs order, Plackett–Luce scores, Kendall's W, τ per ballot."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from backend.consensus.algorithms.batched import GroupScores, score_ballot_arrays
from backend.consensus.loading import RankingVotes, moment

STORED_DIGITS = 9  # scores are stored rounded, so recomputing gives identical rows


@dataclass
class ScoredRankings:
    """Every group's consensus (``result``, arrays by group and ballot) with the
    digest of the ballots each was computed from and the time of its newest ballot."""

    votes: RankingVotes
    result: GroupScores
    digests: list[str]
    last_vote_us: np.ndarray

    def __len__(self) -> int:
        return len(self.votes)

    def last_vote_at(self, group: int) -> datetime:
        return moment(int(self.last_vote_us[group]))

    def stored_values(self) -> list[dict[str, Any]]:
        """Per group, the values a ``RankingResult`` stores (Python lists, rounded)."""
        result = self.result
        sizes = result.size.tolist()
        orders = result.order.tolist()
        margins = result.margins.tolist()
        scores = np.round(result.scores, STORED_DIGITS).tolist()
        minimums = result.min_locked_margin.tolist()
        ties = result.tie_resolved.tolist()
        concordance = np.round(result.kendalls_w, STORED_DIGITS).tolist()
        counts = self.votes.ballots.group_count.tolist()
        values = []
        for group, size in enumerate(sizes):
            values.append(
                {
                    "order": orders[group][:size],
                    "margins": [row[:size] for row in margins[group][:size]],
                    "scores": scores[group][:size],
                    "min_locked_margin": None if minimums[group] < 0 else minimums[group],
                    "tie_resolved": ties[group],
                    "kendalls_w": None if np.isnan(concordance[group]) else concordance[group],
                    "voter_count": counts[group],
                    "votes_digest": self.digests[group],
                }
            )
        return values


def votes_digests(votes: RankingVotes) -> list[str]:
    """Per group, SHA-256 of its ballots as the rule reads them: for each ballot, in
    order, the voter id, the time (µs since 1970) and the ranking, as little-endian
    64-bit integers, rankings padded with −1 to the group's longest ballot."""
    ranking = votes.ballots.ranking
    lengths = (ranking >= 0).sum(axis=1) if ranking.size else np.zeros(len(ranking), np.intp)
    table = np.column_stack([votes.user, votes.created_us, ranking]).astype("<i8")
    digests = []
    for group in range(len(votes)):
        rows = votes.rows(group)
        width = int(lengths[rows].max()) if rows.stop > rows.start else 0
        block = np.ascontiguousarray(table[rows, : 2 + width])
        digests.append(hashlib.sha256(block.tobytes()).hexdigest())
    return digests


def score_groups(votes: RankingVotes) -> ScoredRankings:
    result = score_ballot_arrays(votes.ballots)
    last = (
        np.maximum.reduceat(votes.created_us, votes.ballots.group_start)
        if len(votes)
        else np.zeros(0, dtype=np.int64)
    )
    return ScoredRankings(
        votes=votes, result=result, digests=votes_digests(votes), last_vote_us=last
    )
