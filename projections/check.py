"""``goldbean projections check``: every read table against a full replay of the log.

The replay runs the same projections from position 0 into a scratch SQLite database in
memory, up to the position each live projection has reached, in one pass with a
different batch size. The live rows and the replayed rows are then compared table by
table in primary-key order. So the check finds what incremental running can get wrong:
a batch applied twice or lost, a crash half-way, a projector of an older version, a
hand-edited row. The live tables may be on PostgreSQL and the replay on SQLite, so a
check also shows that both databases give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from sqlalchemy import Connection, String, Table, create_engine, select
from sqlalchemy.pool import StaticPool

from projections import tables as t
from projections.runner import Database, Runner

_STREAM = 5000
_MISSING = object()


class ScratchDatabase:
    """A SQLite database in memory holding the read tables, for one replay."""

    def __init__(self) -> None:
        self.engine = create_engine(
            "sqlite+pysqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
        with self.engine.begin() as conn:
            t.metadata.create_all(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    write = read

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Difference:
    projection: str
    table: str
    key: tuple
    what: str

    def __str__(self) -> str:
        key = ", ".join(str(part) for part in self.key)
        return f"{self.projection}: {self.table} [{key}]: {self.what}"


def check(
    runner: Runner, progress: Callable[[int], None] | None = None, limit: int = 20
) -> list[Difference]:
    """Replay the log and compare; returns up to ``limit`` differences (none: all agree)."""
    positions = runner.positions()
    scratch = ScratchDatabase()
    differences: list[Difference] = []
    try:
        for projection in runner.projections:
            replay = Runner(
                scratch,
                runner.recorder,
                runner.transcoder,
                [projection],
                batch_size=max(runner.batch_size // 2, 1) + 1,
            )
            replay.catch_up(progress, stop=positions[projection.name])
            for table in projection.tables:
                for difference in compare_table(runner.db, scratch, table):
                    differences.append(Difference(projection.name, table.name, *difference))
                    if len(differences) >= limit:
                        return differences
    finally:
        scratch.close()
    return differences


def compare_table(live: Database, replayed: Database, table: Table) -> Iterator[tuple[tuple, str]]:
    """(key, what differs) for each row that differs, in primary-key order."""
    with live.read() as live_conn, replayed.read() as replay_conn:
        pairs = zip_longest(_rows(live_conn, table), _rows(replay_conn, table))
        pending_live: dict[tuple, dict] = {}
        pending_replay: dict[tuple, dict] = {}
        for found, expected in pairs:
            if found is not None:
                pending_live[_key(table, found)] = found
            if expected is not None:
                pending_replay[_key(table, expected)] = expected
            for key in list(pending_live):
                if key in pending_replay:
                    what = _row_difference(pending_live.pop(key), pending_replay.pop(key))
                    if what:
                        yield key, what
            if len(pending_live) > _STREAM or len(pending_replay) > _STREAM:
                break  # the two sides are far out of step: report what is left
        for key in sorted(pending_live, key=repr):
            yield key, "this row is not in a replay of the log"
        for key in sorted(pending_replay, key=repr):
            yield key, "a replay of the log has this row, the table does not"


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    order = [
        column.collate("C")
        if conn.dialect.name == "postgresql" and isinstance(column.type, String)
        else column
        for column in table.primary_key
    ]
    result = conn.execution_options(yield_per=_STREAM).execute(select(table).order_by(*order))
    for row in result:
        yield dict(row._mapping)


def _key(table: Table, row: dict[str, Any]) -> tuple:
    return tuple(row[column.name] for column in table.primary_key)


def _row_difference(found: dict[str, Any], expected: dict[str, Any]) -> str:
    for name, value in expected.items():
        if found.get(name, _MISSING) != value:
            return f"{name} is {found.get(name)!r}, a replay of the log gives {value!r}"
    return ""
