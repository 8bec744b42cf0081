"""Sibling groups: ranked pairs order, Plackett–Luce scores, Kendall's W, τ per ballot."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.consensus.algorithms.batched import GroupRanking, score_ranking_groups
from backend.consensus.loading import RankingGroupVotes, moment

STORED_DIGITS = 9  # scores are stored rounded, so recomputing gives identical rows


@dataclass(frozen=True)
class ScoredGroup:
    votes: RankingGroupVotes
    ranking: GroupRanking[int]
    scores: tuple[float, ...]
    votes_digest: str
    last_vote_at: datetime


def votes_digest(group: RankingGroupVotes) -> str:
    """SHA-256 of the ballots in the order the rule reads them: who, when (µs since
    1970), what."""
    text = ";".join(
        f"{user}|{created}|{','.join(map(str, ballot))}"
        for user, created, ballot in zip(
            group.user_ids, group.created_us, group.ballots, strict=True
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def score_groups(groups: Sequence[RankingGroupVotes]) -> list[ScoredGroup]:
    rankings = score_ranking_groups([group.ballots for group in groups])
    return [
        ScoredGroup(
            votes=group,
            ranking=ranking,
            scores=tuple(round(score, STORED_DIGITS) for score in ranking.scores),
            votes_digest=votes_digest(group),
            last_vote_at=moment(max(group.created_us)),
        )
        for group, ranking in zip(groups, rankings, strict=True)
    ]
