"""Query-string filters: one validation for every API list endpoint.

A filter value goes straight into SQL, so whatever the database cannot hold must be
refused before it gets there: PostgreSQL refuses text with a NUL byte and integers
beyond 64 bits (the query fails, the answer would be a 500). Each endpoint declares
its filters as a ``QueryParameters`` serializer and reads them with
``query_parameters``; a bad value answers 400 with a field-level code:

- ``null_characters_not_allowed`` for a NUL byte in a text filter,
- ``max_length`` for an over-long one,
- ``invalid`` for something that is not a whole number, ``min_value``/``max_value``
  outside the bounds (integers never exceed the 64-bit range),
- ``invalid_choice`` for a value outside a choice filter's set, the empty one included
  (``state=`` is refused, not read as "no filter").

An empty text filter (``project=``) means no filter, the way a form sends it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

# The largest value a PostgreSQL bigint (and SQLite's integer) holds.
BIGINT_MAX = 2**63 - 1
TEXT_FILTER_MAX_LENGTH = 200


class _BlankIsAbsent:
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", TEXT_FILTER_MAX_LENGTH)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)  # type: ignore[call-arg]

    def run_validation(self, data: Any = serializers.empty) -> str | None:
        value = super().run_validation(data)  # type: ignore[misc]
        return value or None


class TextFilter(_BlankIsAbsent, serializers.CharField):
    """A free-text filter; blank is None (no filter). NUL bytes are refused by DRF's
    ``ProhibitNullCharactersValidator`` that every CharField carries."""


class SlugFilter(_BlankIsAbsent, serializers.SlugField):
    """A project slug (or similar); blank is None, anything but a slug is ``invalid``."""


class IntegerFilter(serializers.IntegerField):
    """A whole number within the database's 64-bit range (tighter bounds by keyword)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", -BIGINT_MAX)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


class ChoiceFilter(serializers.ChoiceField):
    """One of a fixed set; an empty value is not one of them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class QueryParameters(serializers.Serializer):
    """Base class of a view's query-string filters (see the module docstring)."""


def query_parameters(serializer_class: type[QueryParameters], request: Request) -> dict[str, Any]:
    """The validated filters of ``request``; raises DRF's ValidationError (400).

    The query string is read as a plain mapping (the last value of a repeated name),
    not as an HTML form: for a form DRF reads ``window=`` as "absent" and would use the
    default, where the API answers 400.
    """
    data = {name: request.query_params.get(name) for name in request.query_params}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def page_filter(raw: object) -> str:
    """A web page's free-text filter as typed, or "" (no filter) when the database
    could not hold it (a NUL byte, longer than a filter can be). Pages forgive a bad
    filter the way they forgive an unknown choice; the API refuses it instead."""
    text = str(raw or "").strip()
    if "\x00" in text or len(text) > TEXT_FILTER_MAX_LENGTH:
        return ""
    return text
