"""What the export and import pages call formats, tree states, options and job states,
with a line of help each (translated). Values without an entry show as they are, so a
format added to the choices appears before it has a label here."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

StrOrPromise = str | Promise

# value -> (label, help)
FORMATS: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    "oasst-trees": (
        _("Open-Assistant trees (JSONL)"),
        _("One conversation tree per line, as in oasst1."),
    ),
    "oasst-messages": (
        _("Open-Assistant messages (JSONL)"),
        _("One message per line with its parent's id, as in oasst1's message files."),
    ),
    "preferences": (
        _("Preference pairs (JSONL)"),
        _("A prompt with a better and a worse reply, from the rankings (for reward models)."),
    ),
    "sft": (
        _("Conversations for fine-tuning (JSONL)"),
        _("Each path from a prompt down the best-ranked replies, as a list of turns."),
    ),
    "parquet": (
        _("Messages as Parquet"),
        _("The message table as one Parquet file, for pandas and other data tools."),
    ),
    "hf-dataset": (
        _("Hugging Face dataset (zip)"),
        _("Parquet files for trees, messages, preferences and fine-tuning, with a dataset card."),
    ),
    "sharegpt": (
        _("ShareGPT conversations (JSON or JSONL)"),
        _("One linear conversation per item, turns under “conversations”."),
    ),
}

TREE_STATES: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    "prompt_review": (_("Prompt in review"), _("Volunteers are reviewing the prompt.")),
    "backlog": (_("Waiting"), _("Accepted or imported, waiting for the prompt lottery.")),
    "growing": (_("Growing"), _("Volunteers are adding replies.")),
    "ranking": (_("Being ranked"), _("Volunteers are ranking the replies.")),
    "scoring": (_("Being scored"), _("Ranked; scores are being worked out.")),
    "ready_for_export": (_("Ready for export"), _("Finished and scored.")),
    "aborted_low_grade": (
        _("Stopped: low quality"),
        _("The prompt was rated too low to grow."),
    ),
    "halted": (_("Stopped by a moderator"), _("A moderator stopped the tree.")),
    "scoring_failed": (_("Scoring failed"), _("Scores could not be worked out.")),
}

JOB_STATES: dict[str, StrOrPromise] = {
    "queued": pgettext_lazy("job state", "Waiting to start"),
    "running": pgettext_lazy("job state", "Running"),
    "succeeded": pgettext_lazy("job state", "Done"),
    "failed": pgettext_lazy("job state", "Failed"),
}

PII_POLICIES: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    "mask": (_("Mask"), _("Replace detected personal data with its kind, e.g. [EMAIL].")),
    "exclude": (_("Leave out"), _("Leave out messages with detected personal data.")),
    "keep": (_("Keep as written"), _("Export the texts unchanged.")),
}


def labelled(
    values: list[str] | tuple[str, ...], table: dict[str, tuple[StrOrPromise, StrOrPromise]]
) -> list[tuple[str, StrOrPromise, StrOrPromise]]:
    """``(value, label, help)`` for each value, in the given order."""
    return [(value, *table.get(value, (value, ""))) for value in values]


def job_state_label(state: str) -> StrOrPromise:
    return JOB_STATES.get(state, state)
