"""Consensus services: everything that writes consensus results.

- ``ranking_group_score``: one sibling group, when its ballots are in.
- ``message_labels_score``: one message's labels and the acceptance rule.
- ``tree_score`` / ``tree_retry_scoring``: a finished tree (``services.trees``).
- ``project_rescore``: a whole project from its stored votes.
- ``project_agreement_snapshot``: a new point of the agreement time series.
- ``gold_label_set`` / ``gold_label_remove``: known answers.
"""

from backend.consensus.services.agreement import project_agreement_snapshot
from backend.consensus.services.gold import gold_label_remove, gold_label_set
from backend.consensus.services.labels import message_labels_score
from backend.consensus.services.ranking import ranking_group_score
from backend.consensus.services.rescore import project_rescore

__all__ = [
    "gold_label_remove",
    "gold_label_set",
    "message_labels_score",
    "project_agreement_snapshot",
    "project_rescore",
    "ranking_group_score",
]
