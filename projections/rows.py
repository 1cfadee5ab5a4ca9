"""Rows of one read table held in memory for one batch, then written back at once.

A projection reads the rows a batch touches (in a few ``IN`` queries, see
:meth:`Rows.prefetch`), changes them in memory event by event, and :meth:`Rows.flush`
writes the changed ones with one ``INSERT … ON CONFLICT DO UPDATE`` per table, inside the
batch's transaction. A row asked for but not prefetched is read on its own, so a missed
prefetch costs time, never correctness.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import Connection, Table, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from projections import bulk

_CHUNK = 5000  # keys per query


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _one_of(conn: Connection, column: Any, values: list[Any]) -> Any:
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_update`` on this connection's database."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


class Rows:
    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn = conn
        self.table = table
        self.key_columns = [column.name for column in table.primary_key]
        self._key = operator.itemgetter(*self.key_columns)  # a value, or a tuple of them
        self._rows: dict[Hashable, dict[str, Any] | None] = {}
        self._dirty: set[Hashable] = set()
        self._deleted: set[Hashable] = set()

    def _key_of(self, row: dict[str, Any]) -> Hashable:
        return self._key(row)

    def prefetch(self, keys: Iterable[Hashable]) -> None:
        """Read the rows of these keys (absent ones are remembered as absent).

        One query per key column's distinct values (``= ANY(array)`` on PostgreSQL,
        ``IN`` on SQLite): for a composite key it may read a few rows more, which is
        harmless."""
        missing = list({key for key in keys if key not in self._rows})
        if not missing:
            return
        for key in missing:
            self._rows[key] = None
        for chunk in _chunks(missing, _CHUNK):
            columns = [self.table.c[name] for name in self.key_columns]
            if len(columns) == 1:
                wanted = [list(chunk)]
            else:
                wanted = [list(parts) for parts in zip(*chunk, strict=True)]
            conditions = [
                _one_of(self.conn, column, sorted(set(values)))
                for column, values in zip(columns, wanted, strict=True)
            ]
            for row in self.conn.execute(select(self.table).where(*conditions)):
                found = dict(row._mapping)
                key = self._key_of(found)
                if key in self._rows and self._rows[key] is None:
                    self._rows[key] = found

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
        self._deleted.discard(key)
        return row

    def delete(self, key: Hashable) -> None:
        """Remove the row with this primary key (at flush)."""
        self._rows[key] = None
        self._dirty.discard(key)
        self._deleted.add(key)

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
        bulk.upsert(self.conn, self.table, rows)
        self._dirty.clear()
        for key in self._deleted:
            parts: tuple[Any, ...] = key if isinstance(key, tuple) else (key,)
            self.conn.execute(
                self.table.delete().where(
                    *(
                        self.table.c[name] == part
                        for name, part in zip(self.key_columns, parts, strict=True)
                    )
                )
            )
        count = len(rows) + len(self._deleted)
        self._deleted.clear()
        return count


append = bulk.append
