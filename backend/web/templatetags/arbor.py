from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from backend.web.labels import (
    ROLE_NAMES,
    TREE_STATES,
    WINDOW_NAMES,
    event_note,
    kind_family,
    queue_detail_lines,
)
from backend.web.labels import kind_title as title_of_kind
from backend.web.markdown import render_markdown

register = template.Library()


@register.filter
def kind_class(kind: str) -> str:
    """The CSS class giving a kind its colour and icon (``kind-review``, …)."""
    return f"kind-{kind_family(kind)}"


@register.filter
def markdown(text: str) -> SafeString:
    """Markdown rendered and sanitised (see backend.web.markdown)."""
    return mark_safe(render_markdown(text or ""))


_LEADING_HEADING = re.compile(r"\s*<h([1-6])[^>]*>(?P<title>.*?)</h\1>\s*", re.S)


@register.simple_tag
def titled_markdown(text: str) -> dict[str, Any]:
    """Markdown that may open with its own heading (guidelines often do): that heading
    becomes ``title`` (plain text, for the dialog's one heading) and the rest ``body``,
    so a dialog never shows two headings."""
    html = render_markdown(text or "")
    found = _LEADING_HEADING.match(html)
    if found is None:
        return {"title": "", "body": mark_safe(html)}
    return {"title": strip_tags(found["title"]).strip(), "body": mark_safe(html[found.end() :])}


@register.filter
def kind_title(kind: str) -> Any:
    return title_of_kind(kind)


@register.filter
def event_reason(note: str) -> str:
    """An audit event's note, translated when the engine wrote it."""
    return event_note(note or "")


@register.filter
def queue_details(details: dict[str, Any] | None) -> list[str]:
    """A queue item's details as translated phrases."""
    return queue_detail_lines(details or {})


@register.filter
def role_name(role: str) -> Any:
    return ROLE_NAMES.get(role, role)


@register.filter
def state_name(state: str) -> Any:
    return TREE_STATES.get(state, state)


@register.filter
def window_name(window: str) -> Any:
    return WINDOW_NAMES.get(window, window)


@register.filter
def minutes_left(moment: datetime) -> int:
    return max(0, int((moment - timezone.now()).total_seconds() // 60))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def ordinal_rank(rank: int | None) -> int | None:
    """Ranks are 0-based in the data; people count from 1."""
    return None if rank is None else rank + 1


@register.filter
def compact_json(value: Any) -> str:
    """A value as short JSON (``{"state": "halted"}``), for logs shown on a page."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
