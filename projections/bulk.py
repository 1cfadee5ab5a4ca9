"""Writing many rows of a read table at once, fast, inside the batch's transaction.

A rebuild writes about two rows per event (entries, chain values, upserted balances and
figures), so the per-row cost of a generic ``executemany`` would dominate it. Here rows
become plain tuples once and go to the driver directly:

* PostgreSQL: ``COPY … FROM STDIN`` (appends), or ``COPY`` into a temporary table and one
  ``INSERT … SELECT … ON CONFLICT DO UPDATE`` (upserts);
* SQLite: one ``executemany`` of a plain ``INSERT [… ON CONFLICT DO UPDATE]``.

Values are stored exactly as SQLAlchemy stores them for these column types (see
:func:`_sqlite_converter`), so the tables read back the same through SQLAlchemy.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table

from projections.types import UTCDateTime


def append(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new rows."""
    if rows:
        _write(conn, table, rows, upsert=False)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, replacing the non-key columns of rows whose primary key exists."""
    if rows:
        _write(conn, table, rows, upsert=True)


def _write(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], upsert: bool) -> None:
    columns = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key]
    if conn.dialect.name == "postgresql":
        _postgres(conn, table, columns, keys, rows, upsert)
    else:
        _sqlite(conn, table, columns, keys, rows, upsert)


def _tuples(
    rows: Sequence[dict[str, Any]],
    columns: list[str],
    table: Table,
    converter: Callable[[Any], Callable[[Any], Any] | None],
) -> list[tuple]:
    """The rows as tuples in ``columns`` order, converting only the columns that need it."""
    take = operator.itemgetter(*columns)
    values = [take(row) for row in rows] if len(columns) > 1 else [(take(r),) for r in rows]
    converts = [
        (index, convert)
        for index, name in enumerate(columns)
        if (convert := converter(table.c[name].type)) is not None
    ]
    if not converts:
        return values
    converted = []
    for row in values:
        items = list(row)
        for index, convert in converts:
            items[index] = convert(items[index])
        converted.append(tuple(items))
    return converted


def _postgres_converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, JSON):
        from psycopg.types.json import Json

        return lambda value: None if value is None else Json(value)
    return None


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return None


def _sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text, of the naive UTC time (as UTCDateTime binds it)."""
    if value is None:
        return None
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _sqlite(
    conn: Connection,
    table: Table,
    columns: list[str],
    keys: list[str],
    rows: Sequence[dict[str, Any]],
    upsert: bool,
) -> None:
    values = _tuples(rows, columns, table, _sqlite_converter)
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    if upsert:
        others = [name for name in columns if name not in keys]
        sql += f" ON CONFLICT ({', '.join(keys)}) " + (
            "DO UPDATE SET " + ", ".join(f'"{n}" = excluded."{n}"' for n in others)
            if others
            else "DO NOTHING"
        )
    conn.exec_driver_sql(sql, values)


# --- PostgreSQL --------------------------------------------------------------------------------


def qualified_name(conn: Connection, table: Table) -> Any:
    """The table's name for raw SQL on PostgreSQL, in the schema the Store's URL chose
    (SQLAlchemy applies it to its own statements through ``schema_translate_map``)."""
    from psycopg import sql

    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    return sql.Identifier(schema, table.name) if schema else sql.Identifier(table.name)


def _postgres(
    conn: Connection,
    table: Table,
    columns: list[str],
    keys: list[str],
    rows: Sequence[dict[str, Any]],
    upsert: bool,
) -> None:
    from psycopg import sql

    target = qualified_name(conn, table)
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        into = target
        if upsert:
            into = sql.Identifier(f"gb_stage_{table.name}")
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS"
                ).format(into, target)
            )
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(into, names)
        with cursor.copy(copy_sql) as copy:
            for values in _tuples(rows, columns, table, _postgres_converter):
                copy.write_row(values)
        if upsert:
            others = [name for name in columns if name not in keys]
            action = (
                sql.SQL("DO UPDATE SET ")
                + sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in others
                )
                if others
                else sql.SQL("DO NOTHING")
            )
            cursor.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) ").format(
                    target,
                    names,
                    names,
                    into,
                    sql.SQL(", ").join(sql.Identifier(k) for k in keys),
                )
                + action
            )
            cursor.execute(sql.SQL("DELETE FROM {}").format(into))
    finally:
        cursor.close()
