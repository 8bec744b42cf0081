"""The engine's refusals, in the volunteer's language.

Services raise ``ArborError`` with a stable ``code`` and an English ``detail`` for API
clients; the web shows a translated sentence per code next to the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from backend.common.errors import ArborError


def _messages() -> dict[str, str]:
    return {
        "blank": _("Write something first."),
        "required": _("Please answer this."),
        "duplicate_text": _("You wrote this text recently already; write something new."),
        "unknown_label": _("This question is not part of the task."),
        "invalid_value": _("Choose one of the options."),
        "out_of_range": _("Choose one of the options."),
        "not_a_permutation": _("Put every reply in the list exactly once."),
        "rate_limited": _(
            "You are faster than this project allows: wait a minute, then try again."
        ),
        "candidates_changed": _(
            "The replies to rank changed since you got this task: skip it to get a new one."
        ),
        "assignment_expired": _(
            "This task expired and someone else took its place: skip it to get another one."
        ),
        "work_item_closed": _("This work is no longer needed: skip it to get another task."),
        "assignment_not_active": _("This task is finished already."),
        "assignment_not_found": _("No such task of yours."),
        "open_assignment_limit": _(
            "You hold the most open tasks allowed: finish or skip one of them first."
        ),
        "project_inactive": _("This project is not collecting data right now."),
        "invalid_language": _("This project does not collect that language."),
        "invalid_kind": _("Unknown kind of task."),
        "kind_locked": _(
            "This kind of task is locked for you: its card on the dashboard says how to unlock it."
        ),
        "undo_not_possible": _(
            "This answer cannot be taken back any more: the 30 seconds are over or others "
            "already build on it."
        ),
        "qualification_unavailable": _(
            "This qualification has too few known tasks yet; please come back later."
        ),
        "already_qualified": _("You have passed this qualification already."),
        "already_reported": _("You reported this message already."),
        "message_not_found": _("This message does not exist any more."),
        "idempotency_key_in_use": _("This was just sent; wait a moment."),
    }


@dataclass
class ShownErrors:
    """Errors by field (``text``, ``labels``, ``labels.spam``, ``ranking``) and one for
    the whole form (``general``)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def shown_errors(
    error: ArborError,
    *,
    too_long: tuple[int, int] | None = None,
    too_short: tuple[int, int] | None = None,
) -> ShownErrors:
    """``too_long``/``too_short``: (the project's limit, the text's length), for the
    sentences that name them."""
    messages = _messages()
    shown = ShownErrors()
    for name, problems in error.fields.items():
        problem = problems[0]
        if problem["code"] == "too_long" and too_long is not None:
            limit, count = too_long
            shown.fields[name] = _("At most %(limit)d characters; this has %(count)d.") % {
                "limit": limit,
                "count": count,
            }
        elif problem["code"] == "text_too_short" and too_short is not None:
            limit, count = too_short
            shown.fields[name] = _("Write at least %(limit)d characters; this has %(count)d.") % {
                "limit": limit,
                "count": count,
            }
        else:
            shown.fields[name] = messages.get(problem["code"], problem["detail"])
    if not shown.fields:
        shown.general = messages.get(error.code, error.detail)
    return shown


def web_status(error: ArborError) -> int:
    """The web answers refused input with 422 (the API's 400), so htmx swaps the form
    back in with the errors next to the fields."""
    return 422 if error.status_code == 400 else error.status_code
