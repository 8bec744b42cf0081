"""Bulk writes for the rescore: many rows, few statements.

On PostgreSQL rows go in with COPY (Django's ``bulk_create`` adapts every value in
Python and builds statements with tens of thousands of parameters, which costs more
than the whole computation at 100,000 groups), and a column of many rows is updated
from a temporary table filled by COPY. Elsewhere (SQLite) Django's bulk methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import orjson
from django.db import connection, models
from psycopg.types.json import Jsonb, set_json_dumps

M = TypeVar("M", bound=models.Model)

BATCH = 5000


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def update_integer_column(
    model: type[models.Model], column: str, pairs: Sequence[tuple[int, int | None]]
) -> int:
    """Set ``column`` of the rows with these primary keys; returns the rows given."""
    if not pairs:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)  # type: ignore[union-attr]
    quoted_column = connection.ops.quote_name(column)
    if _is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE consensus_bulk_update (id bigint, value integer) "
                "ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY consensus_bulk_update (id, value) FROM STDIN") as copy:
                for pair in pairs:
                    copy.write_row(pair)
            cursor.execute(
                f"UPDATE {table} SET {quoted_column} = u.value "
                f"FROM consensus_bulk_update u WHERE {table}.{key} = u.id"
            )
            cursor.execute("DROP TABLE consensus_bulk_update")
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


def insert(model: type[M], rows: Sequence[dict[str, Any]]) -> int:
    """Insert new rows given as ``{attribute name: value}`` (every row the same keys;
    primary keys assigned by the database unless given). No model instances are
    built: at 100,000 rows their construction alone takes seconds."""
    if not rows:
        return 0
    if not _is_postgresql():
        model.objects.bulk_create(  # type: ignore[attr-defined]
            [model(**row) for row in rows], batch_size=1000
        )
        return len(rows)
    by_attribute = {field.attname: field for field in model._meta.concrete_fields}
    attributes = list(rows[0])
    fields = [by_attribute[attribute] for attribute in attributes]
    # Columns not given get their default; an unlisted auto id comes from its sequence.
    defaults = {
        field.attname: field.get_default()
        for field in model._meta.concrete_fields
        if field.attname not in rows[0]
        and not (field.primary_key and isinstance(field, models.AutoField))
    }
    fields += [by_attribute[attribute] for attribute in defaults]
    is_json = [isinstance(field, models.JSONField) for field in fields]
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    default_values = list(defaults.values())
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        # orjson writes the same JSON as the standard library, several times faster.
        set_json_dumps(orjson.dumps, context=cursor)
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = [row[attribute] for attribute in attributes] + default_values
                copy.write_row(
                    [
                        Jsonb(value) if json else value
                        for value, json in zip(values, is_json, strict=True)
                    ]
                )
    return len(rows)
