"""Preference pairs for reward models and DPO: one line per ordered pair of ranked siblings.

For every message with at least two ranked (and exported) replies, each pair of those
replies with different ranks gives one line::

    {"message_tree_id", "parent_id", "lang", "role",
     "prompt": [{"role": "user"|"assistant", "content"}, ...],   # root → parent
     "chosen", "rejected", "chosen_id", "rejected_id",
     "chosen_rank", "rejected_rank", "margin", "agreement", "rankers",
     "chosen_model", "rejected_model"}

- ``margin`` is the rank difference, ``rejected_rank - chosen_rank`` (≥ 1): how far
  apart the consensus ranking put the two replies.
- ``agreement`` is the share of the rankers who ranked both replies and put
  ``chosen`` first; ``rankers`` is how many ranked both. With no raw rankings (ranks
  that came from an import) ``agreement`` is null and ``rankers`` 0.
- ``chosen_model``/``rejected_model`` name the model that wrote a synthetic reply
  (model replies in trees, docs/arena.md); null for a person's reply.
- ``role`` is the replies' conversational role: ``assistant`` pairs train a reward
  model; ``user`` pairs come from ranked prompter replies.
- With consensus (the default), ``chosen_score`` and ``rejected_score`` are the
  replies' Plackett–Luce log-strengths (exp(chosen_score − rejected_score) estimates
  the odds that ``chosen`` wins) and ``confidence`` the sibling group's: its smallest
  locked ranked-pairs margin as a share of its voters. Null where the group has no
  consensus result (e.g. ranks that came from an import).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backend.exports.formats.records import ExportNode, ExportTree

CHAT_ROLES = {"prompter": "user", "assistant": "assistant"}


def turn(node: ExportNode) -> dict[str, str]:
    return {"role": CHAT_ROLES[node.role], "content": node.text}


def pair_agreement(rankings: list[list[int]], better: int, worse: int) -> tuple[int, int]:
    """(rankers who put ``better`` above ``worse``, rankers who ranked both)."""
    agreeing = compared = 0
    for ranking in rankings:
        try:
            better_position = ranking.index(better)
            worse_position = ranking.index(worse)
        except ValueError:
            continue
        compared += 1
        if better_position < worse_position:
            agreeing += 1
    return agreeing, compared


def _consensus_value(node: ExportNode, name: str) -> Any:
    return node.consensus.get(name) if node.consensus else None


def preference_records(
    tree: ExportTree, *, with_consensus: bool = False
) -> Iterator[dict[str, Any]]:
    stack: list[tuple[ExportNode, list[dict[str, str]]]] = [(tree.root, [turn(tree.root)])]
    while stack:
        node, conversation = stack.pop()
        ranked = [child for child in node.children if child.rank is not None]
        for index, chosen in enumerate(ranked):
            for rejected in ranked[index + 1 :]:
                assert chosen.rank is not None and rejected.rank is not None
                if chosen.rank == rejected.rank:
                    continue
                agreeing, compared = pair_agreement(node.rankings, chosen.pk, rejected.pk)
                record = {
                    "message_tree_id": tree.message_tree_id,
                    "parent_id": node.message_id,
                    "lang": chosen.lang,
                    "role": CHAT_ROLES[chosen.role],
                    "prompt": conversation,
                    "chosen": chosen.text,
                    "rejected": rejected.text,
                    "chosen_id": chosen.message_id,
                    "rejected_id": rejected.message_id,
                    "chosen_rank": chosen.rank,
                    "rejected_rank": rejected.rank,
                    "margin": rejected.rank - chosen.rank,
                    "agreement": agreeing / compared if compared else None,
                    "rankers": compared,
                    # Model replies ranked beside human ones: which model wrote each
                    # (null for a person's reply).
                    "chosen_model": chosen.model_name if chosen.synthetic else None,
                    "rejected_model": rejected.model_name if rejected.synthetic else None,
                }
                if with_consensus:
                    record["chosen_score"] = _consensus_value(chosen, "score")
                    record["rejected_score"] = _consensus_value(rejected, "score")
                    record["confidence"] = _consensus_value(chosen, "rank_confidence")
                yield record
        for child in reversed(node.children):
            if child.children:
                stack.append((child, [*conversation, turn(child)]))
