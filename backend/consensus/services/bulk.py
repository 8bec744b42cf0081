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
    defaults = [
        field
        for field in model._meta.concrete_fields
        if field.attname not in rows[0]
        and not (field.primary_key and isinstance(field, models.AutoField))
    ]
    encoders = [_encoder(field) for field in fields]
    default_text = "".join("\t" + _encoder(field)(field.get_default()) for field in defaults)
    names = ", ".join(connection.ops.quote_name(field.column) for field in [*fields, *defaults])
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for batch in chunks(rows):
            copy.write(
                "".join(
                    "\t".join(
                        encode(row[attribute])
                        for attribute, encode in zip(attributes, encoders, strict=True)
                    )
                    + default_text
                    + "\n"
                    for row in batch
                )
            )
    return len(rows)


def _encoder(field: models.Field[Any, Any]) -> Any:
    """A function writing one value of ``field`` in COPY's text format.

    We write the text ourselves rather than through ``copy.write_row``, whose
    per-value adaptation costs more than everything else at 100,000 rows. JSON comes
    from orjson (the same JSON as the standard library), whose output has no raw tab
    or newline (those are escaped inside strings), so only backslashes need doubling.
    """

    def escape(text: str) -> str:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )

    if isinstance(field, models.JSONField):
        return lambda value: "\\N" if value is None else escape(orjson.dumps(value).decode())
    if isinstance(field, models.BooleanField):
        return lambda value: "\\N" if value is None else ("t" if value else "f")
    if isinstance(field, models.DateTimeField):
        return lambda value: "\\N" if value is None else value.isoformat()
    if isinstance(field, models.FloatField):
        return lambda value: "\\N" if value is None else repr(float(value))
    if isinstance(field, models.IntegerField | models.ForeignKey | models.AutoField):
        return lambda value: "\\N" if value is None else str(int(value))
    return lambda value: "\\N" if value is None else escape(str(value))


def fetch_rows(queryset: Any, *, json_columns: Sequence[int] = ()) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset, fetched without Django's per-row
    machinery on PostgreSQL (psycopg returns Python types there, except JSON, which
    Django has it return as text: the columns at ``json_columns`` are parsed here).
    Elsewhere the queryset itself, whose converters SQLite needs."""
    if not _is_postgresql():
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not json_columns:
        return rows
    parsed = []
    for row in rows:
        values = list(row)
        for column in json_columns:
            if isinstance(values[column], str | bytes):
                values[column] = orjson.loads(values[column])
        parsed.append(tuple(values))
    return parsed
