"""Row reads and writes the webhook worker makes for nearly every event, written out in SQL.

Each of these runs once or more per event, and building it through the ORM (the queryset, its
compiler, its SQL; and for a raw queryset, its column mapping) took longer than PostgreSQL's
answer: a renewal day applies tens of events a second per worker. What they return are the
ORM's own model instances, with the ORM's conversions. On SQLite (the embedded
demo's database, one writer at a time) there are no row locks to take.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, models

Row = TypeVar("Row", bound=models.Model)


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def row_locked(model: type[Row], pk: object) -> Row | None:
    """Read the row of `model` whose id is `pk` and lock it for this transaction."""
    rows = rows_locked(model, "id = %s", [pk])
    return rows[0] if rows else None


def rows_locked(model: type[Row], where: str, params: list[Any]) -> list[Row]:
    """Read and lock the rows of `model` matching `where` (SQL with %s placeholders)."""
    reader = row_reader(model)
    sql = f"SELECT {reader.columns} FROM {model._meta.db_table} WHERE {where}{_for_update()}"  # noqa: S608 - our constants
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [reader.instance(row) for row in rows]


def row_reader(model: type[Row]) -> _Reader:
    """How to select every concrete column of `model` (`columns`) and make an instance of a
    row of them (`instance`), for a statement of the caller's own."""
    return _reader(model, connection.vendor)


def db_time(value: datetime) -> Any:
    """A time as a parameter of hand-written SQL, as the ORM would store it (SQLite keeps times
    as text in its own format: one written otherwise no longer equals the ORM's)."""
    return connection.ops.adapt_datetimefield_value(value)


Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _Reader:
    """How to turn a row of every concrete column into an instance, as the ORM does: the
    database's converters (SQLite's text times, say) and the fields' own, then `from_db`."""

    model: type[models.Model]
    columns: str
    attnames: list[str]
    converters: list[tuple[int, Any, list[Converter]]]

    def instance(self, row: tuple[Any, ...]) -> Any:
        values = list(row)
        for index, column, functions in self.converters:
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@functools.cache
def _reader(model: type[models.Model], vendor: str) -> _Reader:
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        functions = [
            *connection.ops.get_db_converters(column),
            *field.get_db_converters(connection),
        ]
        if functions:
            converters.append((index, column, functions))
    return _Reader(
        model=model,
        columns=", ".join(connection.ops.quote_name(str(field.column)) for field in fields),
        attnames=[field.attname for field in fields],
        converters=converters,
    )


def row_update(instance: models.Model, fields: list[str]) -> None:
    """Write `fields` of `instance` to its row, as `save(update_fields=...)` does, with any
    `auto_now` field among them set to now."""
    meta = instance._meta
    columns, values = [], []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        if getattr(field, "auto_now", False):
            field.pre_save(instance, add=False)  # sets the attribute to now
        columns.append(f"{field.column} = %s")
        values.append(field.get_db_prep_save(getattr(instance, field.attname), connection))
    sql = f"UPDATE {meta.db_table} SET {', '.join(columns)} WHERE id = %s"  # noqa: S608 - ours
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])


def row_save(instance: models.Model) -> None:
    """Write every field of `instance` as `save()` does: a new row (its id set from the
    database, `auto_now_add` and `auto_now` fields set to now), or its existing row, which the
    caller holds locked."""
    if not instance._state.adding:
        stored = [field.name for field in instance._meta.concrete_fields if not field.primary_key]
        row_update(instance, stored)
        return
    fields, sql = _insert(type(instance), connection.vendor)
    values = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields
    ]
    returning = connection.features.can_return_columns_from_insert
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING id" if returning else sql, values)
        new_id = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance.pk = new_id
    instance._state.adding = False
    instance._state.db = connection.alias


@functools.cache
def _insert(model: type[models.Model], vendor: str) -> tuple[list[models.Field[Any, Any]], str]:
    """The fields a new row of `model` is written with (all but the id), and the INSERT."""
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return fields, f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608 - ours
