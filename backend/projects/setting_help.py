"""What each tree setting means, for the project pages (translatable)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SETTING_HELP: dict[str, Promise] = {
    "goal_tree_size": _("Messages a tree aims for before it stops growing."),
    "max_depth": _("Longest conversation, counted in messages from the prompt."),
    "max_children": _("Most replies one message gets."),
    "num_reviews_initial_prompt": _(
        "Reviews a new prompt needs before it is accepted or rejected."
    ),
    "num_reviews_reply": _("Reviews a reply needs."),
    "acceptance_threshold": _(
        "How clean reviews must be for acceptance (0–1; higher is stricter)."
    ),
    "num_required_rankings": _("Rankings each group of sibling replies needs."),
    "max_active_trees": _("Trees growing at once per language; more wait in the prompt lottery."),
    "lonely_children_count": _("A message with fewer replies than this may get more…"),
    "p_lonely_child_extension": _("…with this probability (0–1)."),
    "reservation_minutes": _("How long a claimed task stays reserved for its volunteer."),
    "max_open_assignments": _("Tasks one volunteer may hold at once."),
    "max_message_length": _("Longest prompt or reply, in characters."),
    "requests_per_minute": _("Task claims per volunteer per minute."),
    "replies_per_minute": _("Prompts and replies per volunteer per minute."),
    "duplicate_text_window_hours": _(
        "Hours in which the same person may not send the same text again."
    ),
    "max_prompt_lottery_waiting": _("Most accepted prompts waiting for the lottery per language."),
    "labelling_mode": _("Full asks every label; simple asks the few that decide acceptance."),
    "auto_delete_red_flags": _("Red flags that delete a reply (or abort a tree at its prompt)."),
    "auto_halt_reply_skips": _("Skipped replies that halt a tree."),
    "queue_reply_skips": _("Skipped replies that put a tree in the moderation queue."),
    "acceptance_rule": _("How review votes decide acceptance: plain means or Dawid–Skene."),
    "vote_weighting": _("Whether label means weight votes by each reviewer's reliability."),
    "qualification": _(
        "Kinds a volunteer must qualify for first: this many gold items, this share right."
    ),
    "gold_rate": _("Share of review and ranking tasks that are gold items (0–1)."),
    "gold_min_accuracy": _(
        "Below this share right on recent gold items, a volunteer is paused from the kind."
    ),
}

SETTING_TITLES: dict[str, Promise] = {
    "goal_tree_size": _("Tree size goal"),
    "max_depth": _("Deepest conversation"),
    "max_children": _("Replies per message"),
    "num_reviews_initial_prompt": _("Reviews per prompt"),
    "num_reviews_reply": _("Reviews per reply"),
    "acceptance_threshold": _("Acceptance threshold"),
    "num_required_rankings": _("Rankings per group"),
    "max_active_trees": _("Growing trees per language"),
    "lonely_children_count": _("Few replies"),
    "p_lonely_child_extension": _("Chance of one more reply"),
    "reservation_minutes": _("Reservation (minutes)"),
    "max_open_assignments": _("Open tasks per volunteer"),
    "max_message_length": _("Longest message"),
    "requests_per_minute": _("Claims per minute"),
    "replies_per_minute": _("Messages per minute"),
    "duplicate_text_window_hours": _("Repeat window (hours)"),
    "max_prompt_lottery_waiting": _("Prompts waiting per language"),
    "labelling_mode": _("Labelling"),
    "auto_delete_red_flags": _("Red flags to delete"),
    "auto_halt_reply_skips": _("Skips to halt a tree"),
    "queue_reply_skips": _("Skips to queue a tree"),
    "acceptance_rule": _("Acceptance rule"),
    "vote_weighting": _("Vote weighting"),
    "qualification": _("Qualification"),
    "gold_rate": _("Gold item rate"),
    "gold_min_accuracy": _("Gold accuracy to keep working"),
}
