"""Bulk writes for the rescore: many rows, few statements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

BATCH = 5000


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def update_integer_column(
    model: type[models.Model], column: str, pairs: Sequence[tuple[int, int | None]]
) -> int:
    """Set ``column`` of the rows with these primary keys; returns the rows given.

    On PostgreSQL one ``UPDATE … FROM (VALUES …)`` per batch (a join, linear in the
    batch); elsewhere Django's ``bulk_update`` (a CASE per batch, fine for SQLite's
    sizes).
    """
    if not pairs:
        return 0
    table = model._meta.db_table
    key = model._meta.pk.column  # type: ignore[union-attr]
    if connection.vendor == "postgresql":
        quoted_table = connection.ops.quote_name(table)
        quoted_column = connection.ops.quote_name(column)
        quoted_key = connection.ops.quote_name(key)
        with connection.cursor() as cursor:
            for batch in chunks(pairs):
                rows = ",".join(["(%s::bigint, %s::integer)"] * len(batch))
                cursor.execute(
                    f"UPDATE {quoted_table} SET {quoted_column} = v.value "
                    f"FROM (VALUES {rows}) AS v(id, value) "
                    f"WHERE {quoted_table}.{quoted_key} = v.id",
                    [value for pair in batch for value in pair],
                )
        return len(pairs)
    objects = []
    for pk, value in pairs:
        instance = model(pk=pk)
        setattr(instance, column, value)
        objects.append(instance)
    model.objects.bulk_update(objects, [column], batch_size=500)  # type: ignore[attr-defined]
    return len(pairs)


def delete_by_pk(model: type[models.Model], pks: Sequence[Any]) -> int:
    deleted = 0
    for batch in chunks(list(pks)):
        deleted += model.objects.filter(pk__in=batch).delete()[0]  # type: ignore[attr-defined]
    return deleted


def insert(model: type[M], objects: Sequence[M]) -> int:
    model.objects.bulk_create(objects, batch_size=2000)  # type: ignore[attr-defined]
    return len(objects)
