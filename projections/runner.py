"""The batched catch-up runner: it reads the event log in batches and applies each batch
to the projections, together with their tracking positions, in one transaction.

Exactly once: a batch first moves each projection's tracking row from the position it
read (``UPDATE … WHERE position = <old>``), then writes that projection's tables. If
another runner moved the row first, nothing of the batch is written and the runner reads
again from the new position. A crash or kill in the middle of a batch rolls the whole
batch back. So several runners (the projector process and the web workers catching up
before a read) may run at once, and every event is counted once.

The log is read with ``select_notifications`` (positions grow in commit order: the
eventsourcing recorder takes a table lock to insert, see DESIGN.md). On PostgreSQL,
:meth:`Runner.run` waits for the recorder's ``NOTIFY`` and also polls, so a lost
notification only delays; on SQLite it polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, delete, select, update

from ledger.calendar import ProgrammeCalendar
from ledger.personal import PersonalData
from projections import tables as t
from projections.audit import AuditChain
from projections.books import Books
from projections.bulk import qualified_name
from projections.events import StoredEvent, Transcoder
from projections.notices import Notices
from projections.recognition import Recognition
from projections.rows import dialect_insert

log = logging.getLogger(__name__)

BATCH_SIZE = 2000


class Database(Protocol):
    """Transactions on the database that holds the read tables (api.store.Store)."""

    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self) -> AbstractContextManager[Connection]: ...


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None: ...


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        """Events recorded that this projection has not read yet (gaps in positions on
        PostgreSQL may make this an overestimate)."""
        return max(0, self.head - self.position)


class Overtaken(Exception):
    """Raised when another runner moved a tracking position first."""


def default_projections(
    calendar: ProgrammeCalendar, people: PersonalData | None = None
) -> list[Projection]:
    """The read models; ``people`` gives the names the log does not hold (without it,
    people's names read as empty)."""
    return [Books(calendar, people), AuditChain(calendar), Recognition(calendar), Notices()]


def empty(conn: Connection, table: Table) -> None:
    """Remove every row: TRUNCATE on PostgreSQL (a DELETE leaves dead rows that slow the
    rebuild that follows until a vacuum), DELETE on SQLite."""
    if conn.dialect.name != "postgresql":
        conn.execute(delete(table))
        return
    from psycopg import sql

    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.SQL("TRUNCATE {}").format(qualified_name(conn, table)))
    finally:
        cursor.close()


class Runner:
    """Keeps ``projections`` up to date with the event log of ``recorder``."""

    def __init__(
        self,
        db: Database,
        recorder: Any,
        transcoder: Transcoder,
        projections: list[Projection],
        *,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.transcoder = transcoder
        self.projections = projections
        self.batch_size = batch_size
        self._tracked = False

    # --- positions ------------------------------------------------------------------

    def head(self) -> int:
        """The position of the newest event in the log (0 if empty)."""
        return self.recorder.max_notification_id() or 0

    def positions(self) -> dict[str, int]:
        self._ensure_tracking()
        with self.db.read() as conn:
            rows = conn.execute(select(t.tracking.c.name, t.tracking.c.position)).all()
        found = {name: position for name, position in rows}
        return {p.name: found.get(p.name, 0) for p in self.projections}

    def status(self) -> list[Status]:
        self._ensure_tracking()
        head = self.head()
        with self.db.read() as conn:
            rows = {r.name: r for r in conn.execute(select(t.tracking))}
        return [
            Status(p.name, rows[p.name].position, head, rows[p.name].updated_at)
            if p.name in rows
            else Status(p.name, 0, head, None)
            for p in self.projections
        ]

    def _ensure_tracking(self) -> None:
        if self._tracked:
            return
        now = datetime.now(UTC)
        with self.db.write() as conn:
            insert = dialect_insert(conn, t.tracking)
            for projection in self.projections:
                conn.execute(
                    insert.values(
                        name=projection.name, position=0, updated_at=now
                    ).on_conflict_do_nothing()
                )
        self._tracked = True

    # --- catching up ------------------------------------------------------------------

    def run_batch(self, stop: int | None = None) -> int:
        """Apply the next batch of events (up to position ``stop``); returns how many
        events were read (0 when every projection is up to date)."""
        positions = self.positions()
        start = min(positions.values())
        if stop is not None and start >= stop:
            return 0  # every projection is there already: no need to read the log
        notifications = self.recorder.select_notifications(
            start=start, limit=self.batch_size, stop=stop, inclusive_of_start=False
        )
        if not notifications:
            return 0
        events = [StoredEvent.from_notification(n, self.transcoder) for n in notifications]
        last = events[-1].position
        try:
            with self.db.write() as conn:
                for projection in self.projections:
                    old = positions[projection.name]
                    mine = [e for e in events if e.position > old]
                    if mine:
                        self._advance(conn, projection.name, old, last)
                        projection.apply(conn, mine)
        except Overtaken:
            log.debug("another runner applied events after %d first; reading again", start)
        return len(events)

    @staticmethod
    def _advance(conn: Connection, name: str, old: int, new: int) -> None:
        moved = conn.execute(
            update(t.tracking)
            .where(t.tracking.c.name == name, t.tracking.c.position == old)
            .values(position=new, updated_at=datetime.now(UTC))
        ).rowcount
        if moved != 1:
            raise Overtaken(name)

    def catch_up(
        self, progress: Callable[[int], None] | None = None, stop: int | None = None
    ) -> int:
        """Apply every event recorded so far (or up to position ``stop``); returns how
        many events were read. ``progress`` is called with the number read after each
        batch."""
        stop = self.head() if stop is None else stop
        total = 0
        while True:
            count = self.run_batch(stop=stop)
            if not count:
                return total
            total += count
            if progress is not None:
                progress(count)

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Keep catching up until ``stop`` is set: after each catch-up, wait for a new
        event (PostgreSQL NOTIFY) or ``poll_seconds``. Errors are logged and retried."""
        waiter = _waiter_for(self.recorder)
        failures = 0
        try:
            while not stop.is_set():
                try:
                    self.catch_up()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("projections: catching up failed (%d in a row)", failures)
                    stop.wait(min(30.0, poll_seconds * 2**failures))
                    continue
                waiter(stop, poll_seconds)
        finally:
            close = getattr(waiter, "close", None)
            if close is not None:
                close()

    # --- rebuilding -------------------------------------------------------------------

    def reset(self, names: list[str] | None = None) -> None:
        """Empty the tables of these projections (all by default) and set them to read
        from the start, in one transaction."""
        chosen = [p for p in self.projections if names is None or p.name in names]
        self._ensure_tracking()
        with self.db.write() as conn:
            for projection in chosen:
                for table in projection.tables:
                    empty(conn, table)
                conn.execute(
                    update(t.tracking)
                    .where(t.tracking.c.name == projection.name)
                    .values(position=0, updated_at=datetime.now(UTC))
                )

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Reset every projection and read the whole log again."""
        self.reset()
        return self.catch_up(progress)


# --- waiting for new events --------------------------------------------------------------


def _waiter_for(recorder: Any) -> Callable[[threading.Event, float], None]:
    channel = getattr(recorder, "channel_name", None)
    datastore = getattr(recorder, "datastore", None)
    if channel and datastore is not None:
        return _PostgresWaiter(datastore, channel)

    def poll(stop: threading.Event, seconds: float) -> None:
        stop.wait(seconds)

    return poll


class _PostgresWaiter:
    """LISTEN on the recorder's channel; each wait returns at the first NOTIFY or after
    the poll interval, whichever comes first."""

    def __init__(self, datastore: Any, channel: str) -> None:
        self.datastore = datastore
        self.channel = channel
        self.conn: Any = None

    def _listening(self) -> Any:
        if self.conn is None or self.conn.closed:
            import psycopg
            from psycopg import sql

            kwargs = dict(self.datastore.pool.kwargs)
            kwargs.pop("row_factory", None)
            self.conn = psycopg.connect(**kwargs, autocommit=True, connect_timeout=10)
            self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        return self.conn

    def __call__(self, stop: threading.Event, seconds: float) -> None:
        try:
            for _ in self._listening().notifies(timeout=seconds, stop_after=1):
                pass
        except Exception:
            log.warning("projections: LISTEN failed; polling", exc_info=True)
            self.close()
            stop.wait(seconds)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
