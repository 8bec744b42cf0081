"""Serializer fields that refuse wrong JSON types instead of coercing them.

DRF's ``CharField`` turns ``5`` into ``"5"``, ``IntegerField`` turns ``"12"`` into ``12``
and ``FloatField`` turns ``"0.5"`` into ``0.5``. For the JSON API a wrong type is a
client bug that must be answered 400 (code ``invalid``), not silently stored.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Not a valid string.", code="invalid")
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Not a valid string.", code="invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number; a boolean counts as 1 or 0 (a flag answered yes or no)."""

    def to_internal_value(self, data: Any) -> float:
        if not isinstance(data, int | float):  # bool is an int
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``; DRF's ``BooleanField`` also takes ``1``, ``"yes"``
    and ``"on"`` (a form's checkbox), which the JSON API refuses (code ``invalid``)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
