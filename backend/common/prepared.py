"""Statements the request path runs on every request, prepared once per connection.

Arbor's parameters are bound on the client (Django's default with psycopg), so
PostgreSQL would parse and plan the claim statement on every request — measured here,
planning cost about 2 ms of the claim's 3, more than running it (bench/README.md).
A statement run through ``execute_prepared`` is ``PREPARE``d the first time a database
session runs it and ``EXECUTE``d after that: planned once per session, kept for the
session's life (a pooled connection's, so for many requests). Prepared statements live
outside transactions, so a rolled-back request does not lose one.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from django.db import connection

_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def execute_prepared(
    cursor: Any, *, name: str, sql: str, types: dict[str, str], params: dict[str, Any]
) -> None:
    """Run ``sql`` (``%(name)s`` placeholders, each named in ``types`` with its SQL type,
    in the order of ``types``) as the prepared statement ``name`` of this session."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    raw = connection.connection
    done = _prepared.setdefault(raw, set())
    if name not in done:
        positions = {key: index for index, key in enumerate(types, start=1)}
        body = _PLACEHOLDER.sub(lambda match: f"${positions[match.group(1)]}", sql)
        cursor.execute(f"PREPARE {name}({', '.join(types.values())}) AS {body}")
        done.add(name)
    placeholders = ", ".join(["%s"] * len(types))
    cursor.execute(f"EXECUTE {name}({placeholders})", [params[key] for key in types])


def model_columns(model: Any, alias: str) -> str:
    """``alias.column AS alias__attname, …`` for every concrete field of ``model``."""
    return ", ".join(
        f'{alias}."{field.column}" AS "{alias}__{field.attname}"'
        for field in model._meta.concrete_fields
    )


def model_from_row(model: Any, alias: str, values: dict[str, Any]) -> Any:
    """The instance of ``model`` whose columns ``model_columns(model, alias)`` selected,
    as Django would have loaded it (None when a LEFT JOIN found no row)."""
    names = [field.attname for field in model._meta.concrete_fields]
    row = [values[f"{alias}__{name}"] for name in names]
    if row[names.index(model._meta.pk.attname)] is None:
        return None
    instance = model.from_db(connection.alias, names, row)
    for field in model._meta.concrete_fields:
        # Raw rows carry JSON as text (Django decodes it in its own queries only).
        if field.get_internal_type() == "JSONField" and isinstance(
            getattr(instance, field.attname), str
        ):
            setattr(
                instance,
                field.attname,
                field.from_db_value(getattr(instance, field.attname), None, connection),
            )
    return instance
