"""Row reads and writes the webhook worker makes for nearly every event, written out in SQL.

Each of these runs once or more per event, and building it through the ORM (the queryset, its
compiler, its SQL) took longer than PostgreSQL's answer: a renewal day applies tens of events a
second per worker. What they return are the ORM's own model instances. On SQLite (the embedded
demo's database, one writer at a time) there are no row locks to take.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

Row = TypeVar("Row", bound=models.Model)


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def row_locked(model: type[Row], pk: object) -> Row | None:
    """Read the row of `model` whose id is `pk` and lock it for this transaction."""
    table = model._meta.db_table
    sql = f"SELECT * FROM {table} WHERE id = %s{_for_update()}"  # noqa: S608 - our table name
    rows = list(model._default_manager.raw(sql, [pk]))
    return rows[0] if rows else None


def rows_locked(model: type[Row], where: str, params: list[object]) -> list[Row]:
    """Read and lock the rows of `model` matching `where` (SQL with %s placeholders)."""
    table = model._meta.db_table
    sql = f"SELECT * FROM {table} WHERE {where}{_for_update()}"  # noqa: S608 - our constants
    return list(model._default_manager.raw(sql, params))


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
