"""Human words for the machine names the engine uses (kinds, labels, reasons, states).

All translatable; unknown names (a project's own labels) fall back to the name itself.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
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


# The look of each family of work (a colour and an icon, ``kind-<family>`` in app.css);
# the kind's title is always written next to it, so colour is never the only cue.
KIND_FAMILIES: dict[str, str] = {
    "any": "any",
    "initial_prompt": "prompt",
    "write_arena_prompt": "prompt",
    "prompter_reply": "user",
    "assistant_reply": "assistant",
}


def kind_family(kind: str) -> str:
    """``prompt``, ``user``, ``assistant``, ``review``, ``ranking`` or ``any``; a kind
    from a plug-in is placed by the field its answer uses."""
    if kind in KIND_FAMILIES:
        return KIND_FAMILIES[kind]
    spec = get_kind(kind)
    payload = spec.payload_field if spec is not None else ""
    return {"labels": "review", "ranking": "ranking"}.get(payload, "other")


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


# The notes the engine writes on its own actions (audit events' reasons), in words.
# Fixed notes by their text; notes with a number or a moderator's words by pattern.
EVENT_NOTES: dict[str, Promise] = {
    "drawn in the prompt lottery": _("drawn in the prompt lottery"),
    "initial prompt accepted": _("initial prompt accepted"),
    "initial prompt rejected": _("initial prompt rejected"),
    "tree grown": _("tree grown"),
    "ranks computed": _("ranks computed"),
    "sibling groups changed during ranking": _("sibling groups changed during ranking"),
    "every sibling group has its rankings": _("every sibling group has its rankings"),
}
EVENT_NOTE_PATTERNS: tuple[tuple[re.Pattern[str], Promise], ...] = (
    (re.compile(r"^automatic: (?P<count>\d+) red flags$"), _("automatic: %(count)s red flags")),
    (
        re.compile(r"^automatic: (?P<count>\d+) skipped replies$"),
        _("automatic: %(count)s skipped replies"),
    ),
    (
        re.compile(r"^automatic retry (?P<count>\d+) after a scoring failure$"),
        _("automatic retry %(count)s after a scoring failure"),
    ),
    (re.compile(r"^author banned: (?P<text>.*)$", re.S), _("author banned: %(text)s")),
    (re.compile(r"^author unbanned: (?P<text>.*)$", re.S), _("author unbanned: %(text)s")),
)


def event_note(note: str) -> str:
    """An audit event's note in the reader's language when the engine wrote it; a
    person's own words are shown as they wrote them."""
    if note in EVENT_NOTES:
        return str(EVENT_NOTES[note])
    for pattern, words in EVENT_NOTE_PATTERNS:
        found = pattern.match(note)
        if found is not None:
            return str(words) % found.groupdict()
    return note


REPORT_REASON_NAMES: dict[str, Promise] = dict(REPORT_REASONS)


def queue_detail_lines(details: dict[str, object]) -> list[str]:
    """A queue item's details as short translated phrases ("1 report", "latest report:
    spam", "3 red flags", …); keys without words are shown as ``key: value``."""
    lines: list[str] = []
    for key, value in details.items():
        if key == "reports" and isinstance(value, int):
            lines.append(
                ngettext("%(count)d report", "%(count)d reports", value) % {"count": value}
            )
        elif key == "last_reason":
            reason = REPORT_REASON_NAMES.get(str(value), str(value))
            lines.append(gettext("latest report: %(reason)s") % {"reason": reason})
        elif key == "red_flags" and isinstance(value, int):
            lines.append(
                ngettext("%(count)d red flag", "%(count)d red flags", value) % {"count": value}
            )
        elif key == "reply_skips" and isinstance(value, int):
            lines.append(
                ngettext("%(count)d skipped reply", "%(count)d skipped replies", value)
                % {"count": value}
            )
        elif key == "attempts" and isinstance(value, int):
            lines.append(
                ngettext("%(count)d scoring attempt", "%(count)d scoring attempts", value)
                % {"count": value}
            )
        elif key == "error":
            lines.append(gettext("error: %(error)s") % {"error": value})
        elif key == "flags" and isinstance(value, list):
            names = ", ".join(label_title(str(flag)) for flag in value)
            lines.append(gettext("quality flags: %(flags)s") % {"flags": names})
        elif key == "held_battles" and isinstance(value, list):
            for held in value:
                if not isinstance(held, dict):
                    continue
                sides = {
                    side: ", ".join(label_title(str(flag)) for flag in held.get(side) or []) or "—"
                    for side in ("a", "b")
                }
                lines.append(
                    gettext("arena battle #%(battle)s held: A %(a)s; B %(b)s")
                    % {"battle": held.get("battle"), **sides}
                )
        else:
            lines.append(f"{key}: {value}")
    return lines
