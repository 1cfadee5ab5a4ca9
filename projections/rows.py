"""Rows of one read table held in memory for one batch, then written back at once.

A projection reads the rows a batch touches (in a few ``IN`` queries, see
:meth:`Rows.prefetch`), changes them in memory event by event, and :meth:`Rows.flush`
writes the changed ones with one ``INSERT … ON CONFLICT DO UPDATE`` per table, inside the
batch's transaction. A row asked for but not prefetched is read on its own, so a missed
prefetch costs time, never correctness.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

_CHUNK = 500  # keys per IN (...) query


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_update`` on this connection's database."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


class Rows:
    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn = conn
        self.table = table
        self.key_columns = [column.name for column in table.primary_key]
        self._rows: dict[Hashable, dict[str, Any] | None] = {}
        self._dirty: set[Hashable] = set()

    def _key_of(self, row: dict[str, Any]) -> Hashable:
        values = tuple(row[name] for name in self.key_columns)
        return values[0] if len(values) == 1 else values

    def prefetch(self, keys: Iterable[Hashable]) -> None:
        """Read the rows of these keys (absent ones are remembered as absent)."""
        missing = list({key for key in keys if key not in self._rows})
        columns = [self.table.c[name] for name in self.key_columns]
        matcher = columns[0] if len(columns) == 1 else tuple_(*columns)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for key in chunk:
                self._rows[key] = None
            for row in self.conn.execute(select(self.table).where(matcher.in_(chunk))):
                found = dict(row._mapping)
                self._rows[self._key_of(found)] = found

    def get(self, key: Hashable) -> dict[str, Any] | None:
        """The row with this primary key, or None."""
        if key not in self._rows:
            self.prefetch([key])
        return self._rows[key]

    def put(self, row: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a row (written at flush)."""
        key = self._key_of(row)
        self._rows[key] = row
        self._dirty.add(key)
        return row

    def changed(self, key: Hashable) -> None:
        """Mark a row that was changed in place for writing."""
        self._dirty.add(key)

    def get_or_put(self, key: Hashable, default: dict[str, Any]) -> dict[str, Any]:
        row = self.get(key)
        if row is None:
            return self.put(default)
        self._dirty.add(key)  # the caller is about to change it
        return row

    def flush(self) -> int:
        """Write the changed rows; returns how many."""
        rows = [row for key in self._dirty if (row := self._rows[key]) is not None]
        if rows:
            insert = dialect_insert(self.conn, self.table)
            others = [c.name for c in self.table.columns if c.name not in self.key_columns]
            statement = (
                insert.on_conflict_do_update(
                    index_elements=self.key_columns,
                    set_={name: insert.excluded[name] for name in others},
                )
                if others
                else insert.on_conflict_do_nothing()
            )
            self.conn.execute(statement, rows)
        self._dirty.clear()
        return len(rows)


def append(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert new rows (entries, donations, payouts, chain values) in one statement."""
    if rows:
        conn.execute(table.insert(), rows)
