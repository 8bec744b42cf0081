"""The dataset card (``README.md``) of an ``hf-dataset`` export.

YAML front matter as the Hub reads it — ``license``, ``language``, ``size_categories``,
``task_categories``, ``pretty_name``, ``tags`` and ``configs`` (each config's
``data_files``: split → path glob) — then what a reader of the dataset needs: how the
data was collected (with the project's guidelines), the counts per config and split,
what the consensus fields mean, and every filter the export was made with.

The YAML is written by hand: every string is a JSON string, which is a valid YAML
double-quoted scalar, so no value (a project name with a colon, say) can break it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.exports.formats.hf_dataset import CONFIGS, TRAIN, VALIDATION, HfCounts, data_glob

# The Hub's size buckets (``size_categories``): (upper bound, name); above the last, n>1T.
SIZE_BUCKETS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)

CONFIG_DESCRIPTIONS = {
    "trees": "one row per conversation tree: `message_tree_id`, `tree_state`, `lang`, "
    "`message_count` and `prompt`, the whole tree as nested JSON text in Open-Assistant's "
    "`oasst-trees` shape (each message with its `replies`)",
    "messages": "one row per message, the columns of Open-Assistant's oasst1/oasst2 "
    "Parquet files (`message_id`, `parent_id`, `text`, `role`, `lang`, `rank`, "
    "`labels`, …); a message's `parent_id` leads to the message it answers",
    "preferences": "one row per ordered pair of ranked sibling replies: `prompt` (the "
    "conversation up to the parent), `chosen`, `rejected`, `margin` (rank difference), "
    "`agreement` and `rankers` — for reward models and DPO",
    "sft": "one row per conversation along the best-ranked replies: `messages`, a list "
    "of `{role, content}` turns ending with an assistant turn — for supervised "
    "fine-tuning",
}


@dataclass(frozen=True)
class CardInfo:
    """What the card says besides the counts."""

    project_name: str
    project_slug: str
    guidelines: str
    license: str
    filters: Mapping[str, Any]
    with_consensus: bool
    validation_fraction: float


def size_category(rows: int) -> str:
    for bound, name in SIZE_BUCKETS:
        if rows < bound:
            return name
    return "n>1T"


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _front_matter(info: CardInfo, counts: HfCounts) -> list[str]:
    languages = sorted(counts.languages) or list(info.filters.get("languages") or [])
    largest = max(counts.total(config) for config in CONFIGS)
    tasks = ["text-generation"]
    if counts.total("preferences"):
        tasks += ["text-classification", "reinforcement-learning"]
    lines = ["---", f"license: {_q(info.license)}"]
    if languages:
        lines.append("language:")
        lines += [f"- {_q(language)}" for language in languages]
    lines += ["size_categories:", f"- {_q(size_category(largest))}"]
    lines.append("task_categories:")
    lines += [f"- {_q(task)}" for task in tasks]
    lines.append(f"pretty_name: {_q(pretty_name(info))}")
    lines += ["tags:", '- "human-feedback"', '- "conversations"', '- "rlhf"', '- "arbor"']
    lines.append("configs:" if any(counts.splits(c) for c in CONFIGS) else "configs: []")
    for config in CONFIGS:
        splits = counts.splits(config)
        if not splits:
            continue  # no rows: no files (a config without data cannot be loaded)
        lines.append(f"- config_name: {_q(config)}")
        if config == "messages":
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in splits:
            lines += [f"  - split: {_q(split)}", f"    path: {_q(data_glob(config, split))}"]
    lines.append("---")
    return lines


def pretty_name(info: CardInfo) -> str:
    return f"{info.project_name} (Arbor)"


def _quote_block(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.strip().splitlines()]


def _filter_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) if value else "(any)"
    return str(value).replace("|", "\\|")


def render_card(info: CardInfo, counts: HfCounts) -> str:
    """The card's Markdown, front matter first."""
    splits = (TRAIN, VALIDATION) if info.validation_fraction > 0 else (TRAIN,)
    lines = _front_matter(info, counts)
    lines += [
        "",
        f"# {pretty_name(info)}",
        "",
        f"Conversation trees collected by volunteers on Arbor (project `{info.project_slug}`), "
        "with their reviews and rankings: the trees themselves, their messages, preference "
        "pairs and supervised fine-tuning conversations, each a config of this dataset.",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'pairs = load_dataset("<owner>/<this dataset>", "preferences")',
        "```",
        "",
        "## Configs and counts",
        "",
    ]
    lines += [f"- **{config}**: {CONFIG_DESCRIPTIONS[config]}." for config in CONFIGS]
    lines += ["", "| config | " + " | ".join(splits) + " |", "|---|" + "---:|" * len(splits)]
    lines.append("| trees | " + " | ".join(str(counts.trees.get(s, 0)) for s in splits) + " |")
    for config in CONFIGS:
        label = "preference pairs" if config == "preferences" else config
        if config == "sft":
            label = "SFT conversations"
        if config == "trees":
            continue
        row = " | ".join(str(counts.rows[config].get(split, 0)) for split in splits)
        lines.append(f"| {label} | {row} |")
    lines += ["", "A split or config without rows has no file and is not listed in `configs`.", ""]
    if info.validation_fraction > 0:
        lines.append(
            f"Splits are by tree (about {info.validation_fraction:.0%} of the trees in "
            "`validation`, chosen by a hash of each tree): every message, pair and "
            "conversation of a tree is in the same split, so no conversation is shared "
            "between train and validation."
        )
    else:
        lines.append("There is one split, `train` (no validation fraction was asked for).")
    lines += [
        "",
        "## How the data was collected",
        "",
        "Volunteers write prompts and replies (as the user and as the assistant), review "
        "each other's messages with labels (spam, quality, …), and rank sibling replies from "
        "best to worst; trees grow reply by reply until they are complete. Moderators "
        "review flagged content. Ranks and label values are aggregated by Arbor's "
        "consensus rules. Ids are anonymised unless stated in the filters below.",
        "",
    ]
    if info.guidelines.strip():
        lines += ["The project's guidelines for contributors:", ""]
        lines += _quote_block(info.guidelines)
    else:
        lines.append("The project has no written guidelines.")
    lines += ["", "## Consensus fields", ""]
    if info.with_consensus:
        lines += [
            "Messages that were ranked or reviewed carry Arbor's consensus results "
            "(`messages`: `consensus_rank`, `consensus_score`, `rank_confidence`, "
            "`ranking_voters` and `consensus`, the whole object as JSON text; "
            "`preferences`: `chosen_score`, `rejected_score`, `confidence`). Null where "
            "unknown.",
            "",
            "- `score`: the reply's Plackett–Luce log-strength among its siblings; "
            "exp(score_a − score_b) estimates the odds that a beats b.",
            "- `rank`: its position in the ranked-pairs order of its group, 0 = best.",
            "- `rank_confidence`: the group's smallest locked margin divided by its voters "
            "(0 … 1); `ranking_voters`: how many people ranked the group.",
            "- `labels`: per label the vote count, the mean and its 95 % interval; flags "
            "also `posterior`, the probability that the flag is true.",
            "- `acceptance`: what the project's acceptance rule says on the current votes.",
            "",
            "The rules behind each figure are documented in Arbor's `docs/consensus.md`, "
            "and the fields in `docs/exports.md` (section *Consensus*).",
        ]
    else:
        lines.append("This export was made without consensus results (`with_consensus: no`).")
    lines += [
        "",
        "## Filters and exclusions",
        "",
        "The export was made with these filters; messages left out take their replies "
        "with them (a reply means nothing without what it answers).",
        "",
        "| filter | value |",
        "|---|---|",
    ]
    for name, value in info.filters.items():
        lines.append(f"| `{name}` | {_filter_value(value)} |")
    lines += [
        "",
        "## License",
        "",
        f"`{info.license}`.",
        "",
    ]
    return "\n".join(lines)
