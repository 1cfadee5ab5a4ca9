"""A projector that dies in the middle of a batch loses nothing and counts nothing twice.

A batch moves each projection's tracking position and writes its rows in one
transaction (projections/runner.py). So whatever a batch wrote before the crash is rolled
back with it, the tracking positions stay where the last whole batch left them, and the
next runner starts from there.

* In process: a projection's ``apply`` writes its rows and then raises. The tracking
  positions and every read table are as before the batch; a fresh runner catches up and
  the read tables equal a replay of the log (``projections.check``), and every projected
  balance is the ledger's.
* A real kill: a projector process (a runner with batch size 50 whose projections pause
  after writing, so the kill lands inside an open write transaction) is killed with
  SIGKILL in the middle of a batch, twice, on SQLite and on PostgreSQL, over a log of a
  few thousand events. The restarted projector starts at the first event after the
  last committed batch, and at the end the read tables equal a replay and each
  account's entries add up to its projected balance, which is the ledger's.

And three runners side by side, as the projector and the web workers run, count every
event once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from api.store import Store
from ledger.persistence import open_ledger
from projections import tables as t
from projections.check import check
from projections.events import StoredEvent
from projections.runner import Projection
from tests.projection_helpers import (
    assert_books_match,
    export_lines,
    open_store,
    runner_for,
    tell_story,
)
from tests.scenario import Community

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


class Crash(Exception):
    """The projector dies here."""


def read_tables(store: Store) -> dict[str, list[tuple]]:
    """Every read table and the tracking table, all rows in primary-key order."""
    with store.read() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in t.metadata.sorted_tables
        }


def count(conn: Connection, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def assert_caught_up_and_right(store: Store, ledger, batch_size: int) -> None:
    """A fresh runner catches up; then every read table equals a replay, every event
    has its chain value and every bean movement its entry, and the books match."""
    runner = runner_for(store, ledger, batch_size)
    runner.catch_up()
    head = runner.head()
    assert set(runner.positions().values()) == {head}
    differences = check(runner)
    assert differences == [], "\n".join(str(d) for d in differences)
    lines = export_lines(ledger, store)
    moves = sum(line["topic"].endswith((".BeansCredited", ".BeansDebited")) for line in lines)
    with store.read() as conn:
        assert count(conn, t.chain) == len(lines)
        assert count(conn, t.entries) == moves
    assert all(line["chain"] for line in lines)
    assert_books_match(store, ledger)


# --- in process: an exception in the middle of a batch -------------------------------------


class WritesThenCrashes:
    """A projection that applies the batch like ``inner`` (its rows are written, in the
    batch's transaction) and then raises, once."""

    def __init__(self, inner: Projection, written) -> None:
        self.inner, self.written = inner, written
        self.name, self.tables = inner.name, inner.tables
        self.crashed = False

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        self.inner.apply(conn, events)
        if not self.crashed:
            self.crashed = True
            self.written(conn, events)
            raise Crash(f"{self.name} dies after writing {len(events)} events")


@pytest.mark.parametrize("dying", ["books", "audit"])
def test_a_batch_that_fails_after_writing_leaves_no_trace(database_url: str, dying: str) -> None:
    community = Community.on(database_url, start=START)
    store = open_store(database_url)
    try:
        tell_story(community, date(2026, 3, 1))
        ledger = community.ledger
        runner = runner_for(store, ledger, batch_size=9)
        for _ in range(4):
            runner.run_batch()
        before = read_tables(store)
        positions = runner.positions()
        reached = ledger.recorder.select_notifications(start=1, limit=36)[-1].id
        names = [p.name for p in runner.projections]  # applied in this order
        assert positions == dict.fromkeys(names, reached)

        def written(conn: Connection, events: list[StoredEvent]) -> None:
            """Inside the dying transaction: the batch's rows and positions are there."""
            tracking = dict(conn.execute(select(t.tracking.c.name, t.tracking.c.position)).all())
            last = events[-1].position
            upto = names.index(dying)  # the ones before it wrote theirs in this batch too
            assert tracking == {n: last if i <= upto else reached for i, n in enumerate(names)}
            table = t.entries if dying == "books" else t.chain
            assert count(conn, table) > len(before[table.name])

        runner.projections = [
            WritesThenCrashes(p, written) if p.name == dying else p for p in runner.projections
        ]
        with pytest.raises(Crash):
            runner.run_batch()
        assert runner.positions() == positions
        assert read_tables(store) == before, "the failed batch left rows behind"

        assert_caught_up_and_right(store, ledger, batch_size=13)
    finally:
        store.close()
        community.close()


def test_the_same_runner_carries_on_after_a_failed_batch(sqlite_url: str) -> None:
    """The runner that raised is not spoiled: run again, it applies that batch once."""
    community = Community.on(sqlite_url, start=START)
    store = open_store(sqlite_url)
    try:
        tell_story(community, date(2026, 3, 1))
        runner = runner_for(store, community.ledger, batch_size=5)
        healthy = list(runner.projections)
        runner.run_batch()
        runner.projections = [WritesThenCrashes(p, lambda *_: None) for p in healthy]
        with pytest.raises(Crash):
            runner.run_batch()
        assert set(runner.positions().values()) == {5}
        runner.projections = healthy
        runner.catch_up()
        assert check(runner) == []
        assert_books_match(store, community.ledger)
    finally:
        store.close()
        community.close()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_runners_side_by_side_count_every_event_once(
    database: str, request: pytest.FixtureRequest
) -> None:
    """Three runners at once (a projector beside web workers that catch up before they
    read), with batches of 1 to 3 events: each batch is applied by one of them only."""
    url = request.getfixturevalue(f"{database}_url")
    community = Community.on(url, start=START)
    store = open_store(url)
    try:
        tell_story(community, date(2026, 3, 1))
        failures: list[BaseException] = []

        def catch_up(batch_size: int) -> None:
            ledger = open_ledger(url, create_tables=False)
            try:
                runner_for(store, ledger, batch_size).catch_up()
            except BaseException as error:  # reported below
                failures.append(error)
            finally:
                ledger.close()

        threads = [threading.Thread(target=catch_up, args=(size,)) for size in (1, 2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert_caught_up_and_right(store, community.ledger, batch_size=13)
    finally:
        store.close()
        community.close()


# --- a real kill: SIGKILL to a projector process in the middle of a batch -------------------

# The projector: a runner with a small batch size whose last projection, after the real
# one has written, says which events its batch holds and, at batch number PAUSE_AT, stops
# there (inside the open write transaction) until it is killed.
PROJECTOR = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import func, select
    from api.context import make_runner
    from api.store import Store
    from ledger.persistence import open_ledger
    from projections import tables

    url, batch_size, pause_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    class Slow:
        def __init__(self, inner, last):
            self.inner, self.name, self.tables, self.last = inner, inner.name, inner.tables, last
            self.batches = 0

        def apply(self, conn, events):
            self.inner.apply(conn, events)
            if not self.last:
                return
            self.batches += 1
            print("BATCH", self.batches, events[0].position, events[-1].position, flush=True)
            if self.batches == pause_at:
                # What this transaction sees: its own chain rows, not committed yet.
                seen = conn.execute(select(func.max(tables.chain.c.position))).scalar()
                print("PAUSED", seen, flush=True)
                time.sleep(600)
            time.sleep(0.001)

    ledger = open_ledger(url, create_tables=False)
    store = Store(url)
    runner = make_runner(store, ledger)
    runner.batch_size = batch_size
    last = runner.projections[-1].name
    runner.projections = [Slow(p, p.name == last) for p in runner.projections]
    runner.catch_up()
    print("DONE", flush=True)
    """
)
BATCH = 50


def busy_log(url: str) -> None:
    """The story of tell_story, then a busy month and a half: 30 volunteers earning,
    paying at three shops and giving to the pool, every day (a few thousand events)."""
    community = Community.on(url, start=START)
    try:
        story = tell_story(community, date(2026, 3, 1))
        volunteers = [community.volunteer(f"Volunteer {n}") for n in range(30)]
        shops = story["merchants"] + [community.merchant("Tea Stall", "other")]
        for day in range(40):
            for number, volunteer in enumerate(volunteers[day % 3 :: 3]):
                community.earn(volunteer, 20 + number)
                community.pay(volunteer, shops[(day + number) % 3], 3 + number % 5)
                community.pay(volunteer, shops[(day + number + 1) % 3], 2)
                if number % 4 == 0:
                    community.give(volunteer, "pool", 1)
            if day == 20:
                community.settle(cutoff=community.today)
            community.advance(days=1, hours=1)
    finally:
        community.close()


@pytest.fixture(scope="module")
def template_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The busy log, built once on SQLite."""
    path = tmp_path_factory.mktemp("busy") / "template.sqlite3"
    busy_log(f"sqlite:///{path}")
    return path


def copy_log(template: Path, url: str) -> int:
    """Put the template's events into the empty ledger at ``url``; returns how many."""
    if url.startswith("sqlite"):
        target = sqlite3.connect(url[len("sqlite:///") :])
        with sqlite3.connect(template) as source:
            source.backup(target)
        target.close()
        source.close()
    else:
        source_ledger = open_ledger(f"sqlite:///{template}", create_tables=False)
        target_ledger = open_ledger(url, create_tables=True)
        try:
            from eventsourcing.persistence import StoredEvent as Stored

            position = 0
            while batch := source_ledger.recorder.select_notifications(
                start=position, limit=500, inclusive_of_start=False
            ):
                target_ledger.recorder.insert_events(
                    [Stored(n.originator_id, n.originator_version, n.topic, n.state) for n in batch]
                )
                position = batch[-1].id
        finally:
            source_ledger.close()
            target_ledger.close()
    ledger = open_ledger(url, create_tables=False)
    try:
        return ledger.recorder.max_notification_id()
    finally:
        ledger.close()


class Projector:
    """The projector process (killed after a minute at most, should it hang)."""

    def __init__(self, url: str, pause_at: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOLDBEAN_")}
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROJECTOR, url, str(BATCH), str(pause_at)],
            cwd=ROOT,
            env=env | {"PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.watchdog = threading.Timer(60, self.process.kill)
        self.watchdog.start()
        self.batches: list[tuple[int, int]] = []  # (first, last) position of each batch
        self.seen_inside: int | None = None  # the last chain row its open transaction saw

    def run_until_paused(self) -> tuple[int, int]:
        """Read its output until it pauses in the middle of a batch; returns that batch."""
        assert self.process.stdout is not None
        other = []
        for line in self.process.stdout:
            if line.startswith("BATCH"):
                _, _, first, last = line.split()
                self.batches.append((int(first), int(last)))
            elif line.startswith("PAUSED"):
                self.seen_inside = int(line.split()[1])
                return self.batches[-1]
            else:
                other.append(line)
        self.stop()
        raise AssertionError("the projector ended without pausing:\n" + "".join(other))

    def kill(self) -> None:
        """SIGKILL, in the middle of its batch."""
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL
        self.stop()

    def stop(self) -> None:
        self.watchdog.cancel()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def positions_now(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return dict(conn.execute(select(t.tracking.c.name, t.tracking.c.position)).all())


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_projector_killed_in_the_middle_of_a_batch_resumes_exactly(
    template_log: Path, database: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    events = copy_log(template_log, url)
    assert events > 2500
    store = open_store(url)
    ledger = open_ledger(url, create_tables=False)
    projectors: list[Projector] = []
    try:
        first = Projector(url, pause_at=9)
        projectors.append(first)
        first.run_until_paused()
        committed = first.batches[-2][1]  # the last position of the batch before
        # The paused batch wrote its rows, uncommitted: nobody else sees them.
        assert first.seen_inside == first.batches[-1][1] > committed
        assert set(positions_now(store).values()) == {committed}
        with store.read() as conn:
            assert conn.execute(select(func.max(t.chain.c.position))).scalar() == committed
        first.kill()
        assert set(positions_now(store).values()) == {committed}
        with store.read() as conn:
            assert conn.execute(select(func.max(t.chain.c.position))).scalar() == committed

        second = Projector(url, pause_at=14)
        projectors.append(second)
        second.run_until_paused()
        # It started at the first event after the last committed batch, as the killed
        # batch had: none skipped, none read twice.
        after = ledger.recorder.select_notifications(
            start=committed, limit=1, inclusive_of_start=False
        )[0].id
        assert first.batches[-1][0] == second.batches[0][0] == after
        second.kill()
        assert positions_now(store)["books"] == second.batches[-2][1]

        assert_caught_up_and_right(store, ledger, batch_size=400)
        assert runner_for(store, ledger).head() == events
    finally:
        for projector in projectors:
            projector.stop()
        ledger.close()
        store.close()
