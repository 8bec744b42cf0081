"""The task-kind registry: every kind of volunteer work is one spec, registered once.

A spec says who may take the work, what a submission must look like and what it does,
the labels it asks, how the task page draws it (template, title, instructions, keys)
and its default weight in "any". The engine's claim and submit, the REST API, the web
task page and the dashboard all read kinds from here; nothing else lists them.

The built-in kinds (Open-Assistant's eight) live in ``prompts``, ``replies``,
``reviews`` and ``rankings`` beside this file. Adding a kind is one module that
subclasses a base spec and calls ``register``, a template for its form and its
translations — docs/task-kinds.md walks through an example.
"""

from backend.assignments.kinds import prompts, rankings, replies, reviews
from backend.assignments.registry import (
    KindSpec,
    LabelsInput,
    RankingInput,
    SubmitContext,
    TextInput,
    all_kinds,
    get_kind,
    kind_names,
    register,
    unregister,
)

__all__ = [
    "KindSpec",
    "LabelsInput",
    "RankingInput",
    "SubmitContext",
    "TextInput",
    "all_kinds",
    "get_kind",
    "kind_names",
    "register",
    "unregister",
]

# The built-in kinds, registered in the order pages list them: new work first, then
# reviews, then rankings.
for _spec in (*prompts.KINDS, *replies.KINDS, *reviews.KINDS, *rankings.KINDS):
    register(_spec)
