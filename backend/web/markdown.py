"""Markdown for messages and guidelines, rendered on the server and sanitised.

Volunteers' text is untrusted: ``markdown`` turns it into HTML (raw HTML in the text
passes through it), then ``nh3`` (the Rust ``ammonia`` sanitiser) keeps only a small
allow-list of tags and attributes, drops ``<script>``/``<style>`` with their content
and forces ``rel="noopener noreferrer nofollow"`` on links. Rendering is cached by
text: a message is shown to many people and never changes without a new text.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},  # language-… from fenced code blocks
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]

_local = threading.local()


def _converter() -> markdown_lib.Markdown:
    # A Markdown instance keeps state between calls and is not thread-safe: one per thread.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = markdown_lib.Markdown(extensions=EXTENSIONS, output_format="html")
        _local.converter = converter
    return converter


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> str:
    """Safe HTML for ``text`` (markdown). The result may be marked safe as it is."""
    converter = _converter()
    html = converter.reset().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
