"""Request parsers: bad JSON is a 400, never a 500."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _has_lone_surrogate(data: Any) -> bool:
    """True when some string (key or value) cannot be encoded as UTF-8.

    Iterative, so a deeply nested document cannot exhaust the stack here either.
    """
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing two inputs that would otherwise answer 500.

    - Nesting deeper than the interpreter's recursion limit: ``json`` raises
      ``RecursionError``, which DRF does not catch.
    - Lone surrogates (``"\\ud800"``): valid JSON escapes but not text. They cannot be
      stored (UTF-8 encoding fails in the database driver) nor echoed back in an error
      message (rendering the response fails), so they are refused at the door.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
        if _has_lone_surrogate(data):
            raise ParseError("JSON parse error - lone surrogate escapes are not valid text.")
        return data
