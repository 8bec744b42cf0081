"""Human words for the machine names the engine uses (kinds, labels, reasons, states).

All translatable; unknown names (a project's own labels) fall back to the name itself.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backend.assignments.kinds import get_kind

ANY_TITLE = _("Any task")
ANY_INSTRUCTION = _("Whatever the conversations need most right now.")


def kind_title(kind: str) -> str | Promise:
    """A kind's heading (its spec's title; "any" is the web's own)."""
    if kind == "any":
        return ANY_TITLE
    spec = get_kind(kind)
    return spec.title if spec is not None and spec.title else kind


def kind_instruction(kind: str) -> str | Promise:
    if kind == "any":
        return ANY_INSTRUCTION
    spec = get_kind(kind)
    return spec.instruction if spec is not None else ""


ROLE_NAMES: dict[str, Promise] = {"prompter": _("User"), "assistant": _("Assistant")}

# (question, description) per label.
LABEL_QUESTIONS: dict[str, tuple[Promise, Promise]] = {
    "spam": (_("Spam?"), _("Nonsense, advertising, off-topic or not a real attempt.")),
    "fails_task": (_("Fails the task?"), _("The reply does not do what was asked.")),
    "lang_mismatch": (_("Wrong language?"), _("Not written in the conversation's language.")),
    "pii": (_("Personal data?"), _("Names, addresses, phone numbers or other private details.")),
    "not_appropriate": (_("Inappropriate?"), _("Not suitable for a helpful assistant.")),
    "hate_speech": (_("Hate speech?"), _("Attacks people for who they are.")),
    "sexual_content": (_("Sexual content?"), _("Sexually explicit material.")),
    "moral_judgement": (_("Moral judgement?"), _("Judges the person or their values.")),
    "political_content": (_("Political content?"), _("Takes a political side.")),
}

# Short names of the flags, for summaries (the questions above are for voting).
FLAG_NAMES: dict[str, Promise] = {
    "spam": _("Spam"),
    "fails_task": _("Fails the task"),
    "lang_mismatch": _("Wrong language"),
    "pii": _("Personal data"),
    "not_appropriate": _("Inappropriate"),
    "hate_speech": _("Hate speech"),
    "sexual_content": _("Sexual content"),
    "moral_judgement": _("Moral judgement"),
    "political_content": _("Political content"),
}


# (low end, high end) per Likert scale.
SCALE_ENDS: dict[str, tuple[Promise, Promise, Promise]] = {
    "quality": (_("Quality"), _("Low"), _("High")),
    "toxicity": (_("Toxicity"), _("Polite"), _("Rude")),
    "humor": (_("Humour"), _("Serious"), _("Funny")),
    "helpfulness": (_("Helpfulness"), _("Unhelpful"), _("Helpful")),
    "creativity": (_("Creativity"), _("Ordinary"), _("Creative")),
    "violence": (_("Violence"), _("Peaceful"), _("Violent")),
}

LIKERT_VALUES = ("0", "0.25", "0.5", "0.75", "1")


def label_title(name: str) -> str:
    """A label's short human name (a flag's or a scale's); unknown labels by name."""
    if name in FLAG_NAMES:
        return str(FLAG_NAMES[name])
    if name in SCALE_ENDS:
        return str(SCALE_ENDS[name][0])
    return name.replace("_", " ").capitalize()


SKIP_REASONS: tuple[tuple[str, Promise], ...] = (
    ("unsure", _("I am not sure how to do this one")),
    ("content", _("I would rather not work on this content")),
    ("language", _("I do not know the language well enough")),
    ("too_long", _("It would take me too long")),
    ("other", _("Another reason")),
)

REPORT_REASONS: tuple[tuple[str, Promise], ...] = (
    ("spam", _("Spam")),
    ("pii", _("Personal data")),
    ("inappropriate", _("Inappropriate or offensive")),
    ("hate", _("Hate speech")),
    ("wrong", _("Wrong or misleading")),
    ("other", _("Something else")),
)

TREE_STATES: dict[str, Promise] = {
    "prompt_review": _("prompt under review"),
    "backlog": _("waiting"),
    "growing": _("growing"),
    "ranking": _("being ranked"),
    "scoring": _("being scored"),
    "ready_for_export": _("finished"),
    "aborted_low_grade": _("rejected"),
    "halted": _("halted"),
    "scoring_failed": _("scoring failed"),
}

WINDOW_NAMES: dict[str, Promise] = {
    "day": _("Today"),
    "week": _("This week"),
    "month": _("This month"),
    "all": _("All time"),
}


def label_widget(spec: dict[str, object]) -> dict[str, object]:
    """What the template needs to draw one label: its name, kind, words and steps."""
    name = str(spec["name"])
    kind = str(spec["kind"])
    widget: dict[str, object] = {
        "name": name,
        "kind": kind,
        "mandatory": bool(spec.get("mandatory")),
    }
    # Plain strings (translated now, in the request's language): a lazy one would be
    # translated again at every use in the template.
    # The project's own words (label schema editor) come first, then the built-in ones.
    if kind == "flag":
        question, description = LABEL_QUESTIONS.get(name, (name.replace("_", " ").capitalize(), ""))
        widget.update(
            question=str(spec.get("question") or question),
            description=str(spec.get("description") or description),
        )
    else:
        title, low, high = SCALE_ENDS.get(name, (name.replace("_", " ").capitalize(), "0", "1"))
        widget.update(
            question=str(spec.get("question") or title),
            description=str(spec.get("description") or ""),
            low=str(spec.get("low") or low),
            high=str(spec.get("high") or high),
            steps=LIKERT_VALUES,
        )
    return widget
