#!/usr/bin/env python
"""How fast the ledger takes redemptions, on SQLite and PostgreSQL, for fresh accounts and
for accounts with a long history -- next to the eventsourcing library's raw append rate
and pgbench on the same machine, in the same run.

    python bench/ledger_bench.py            # about 5 minutes on 2 cores
    python bench/ledger_bench.py --quick    # about 1.5 minutes: 3 s windows, 2,000-event history

It prints a table and writes it into docs/PERFORMANCE.md between the markers
``<!-- ledger_bench:start -->`` and ``<!-- ledger_bench:end -->`` (the rest of the file is
left alone; the file is created if missing). Raw numbers go to bench/out/ledger_bench.json.

Workloads (each measured for a fixed window after a warm-up, with 1 and 8 threads sharing
one Ledger, as gunicorn threads would):

* ``redeem``: a merchant's terminal takes 1 bean with a volunteer's payment code and an
  idempotency key (``Ledger.redeem``). Each thread is one merchant's terminal; each call
  picks a random volunteer that no other thread is serving at that moment (a volunteer is
  at one counter at a time), so optimistic-concurrency clashes are not what is measured.
  Payment codes are issued for distinct seconds through a per-thread clock, so a volunteer
  can pay more often than once a second.
* ``pay_merchant``: the same, paid by the volunteer with the merchant's counter code.
* ``raw append``: a bare eventsourcing Application saving one new trivial aggregate per call
  into the same database -- the ceiling a command that writes events can approach.

"fresh" accounts are opened just before the window; "long history" accounts are the same
number of volunteers and merchants, each with ``--history`` events (10,000) written first
as awards and redemptions at the aggregate level (one save per 500 movements, with the
ledger's snapshots taken as usual). The ratio long/fresh should stay near 1: snapshots
every 50 events bound what a command replays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate  # noqa: E402
from eventsourcing.persistence import IntegrityError  # noqa: E402

from ledger import codes  # noqa: E402
from ledger.accounts import ISSUANCE, Flow  # noqa: E402
from ledger.application import Ledger  # noqa: E402
from ledger.persistence import env_for_url  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PGBENCH_DB = "goldbean_pgbench"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- ledger_bench:start -->", "<!-- ledger_bench:end -->"
DOC_INTRO = """# Performance

What the ledger costs per command and how that compares with the database underneath.
The section below is written by `bench/ledger_bench.py` (`make bench`); rerun it on the
machine you care about rather than trusting numbers from another one.
"""

MERCHANTS = 8  # one terminal per thread, at most 8 threads
VOLUNTEERS = 16  # 2 per merchant: the long history gives each merchant as many events
THREADS = (1, 8)
HISTORY_CHUNK = 500  # movements per save while writing history


@dataclass
class Result:
    store: str
    workload: str
    accounts: str
    threads: int
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    clashes: int
    errors: dict[str, int] = field(default_factory=dict)
    rows_per_call: float = 0.0  # event and snapshot rows read per call

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


# --- the applications measured -------------------------------------------------------------


class ThreadClock:
    """The real time, unless the calling thread has set its own moment: a terminal thread
    sets the second its payment code was issued, so codes for one volunteer can be issued
    for distinct seconds faster than seconds pass."""

    def __init__(self) -> None:
        self._local = threading.local()

    def now(self) -> datetime:
        return getattr(self._local, "now", None) or datetime.now(UTC)

    def set_for_this_thread(self, when: datetime | None) -> None:
        self._local.now = when


class CountingLedger(Ledger):
    """The ledger, counting optimistic-concurrency clashes that run() retries."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clashes = 0
        self.rows_read = 0
        self.calls = 0
        self._clash_lock = threading.Lock()
        for store in (self.events, self.snapshots):
            if store is not None:
                self._count_rows(store.recorder)

    def _count_rows(self, recorder) -> None:
        select = recorder.select_events

        def counted_select(*args, **kwargs):
            rows = select(*args, **kwargs)
            with self._clash_lock:
                self.rows_read += len(rows)
            return rows

        recorder.select_events = counted_select

    def run(self, attempt, what, replay=None):
        def counted():
            try:
                return attempt()
            except IntegrityError:
                with self._clash_lock:
                    self.clashes += 1
                raise

        try:
            return super().run(counted, what, replay)
        finally:
            with self._clash_lock:
                self.calls += 1


class RawApp(Application):
    name = "BenchRaw"


class Ping(Aggregate):
    """A trivial aggregate: one Created event, no state."""


# --- the scene: accounts, history, payment codes -------------------------------------------


@dataclass
class Scene:
    ledger: CountingLedger
    clock: ThreadClock
    volunteers: list  # AccountView
    merchants: list  # MerchantView
    free: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_second: dict[str, int] = field(default_factory=dict)
    base: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __post_init__(self) -> None:
        self.free = list(range(len(self.volunteers)))

    def take_volunteer(self) -> int:
        with self.lock:
            return self.free.pop(random.randrange(len(self.free)))

    def give_back(self, index: int) -> None:
        with self.lock:
            self.free.append(index)

    def fresh_code(self, index: int) -> tuple[str, datetime]:
        """A payment code for a second this volunteer has not used yet, and that second."""
        volunteer = self.volunteers[index]
        with self.lock:
            second = self.next_second.get(volunteer.id, 0)
            self.next_second[volunteer.id] = second + 1
        at = self.base + timedelta(seconds=second)
        issued = codes.issue_payment_code(
            self.ledger.keyring, volunteer.number, at, self.ledger.rules.payment_code_ttl_seconds
        )
        return issued.code, at


def open_accounts(ledger: Ledger, label: str, funded: int) -> tuple[list, list]:
    """VOLUNTEERS volunteers and MERCHANTS merchants, opened by the ledger's commands; each
    volunteer is credited ``funded`` beans in one award event (set up at the aggregate
    level: real awards are capped at 200 a day)."""
    merchants = [ledger.register_merchant(f"{label} shop {m}", "grocery") for m in range(MERCHANTS)]
    volunteers = [ledger.open_volunteer(f"{label} volunteer {v}") for v in range(VOLUNTEERS)]
    if funded:
        at = ledger.now()
        for view in volunteers:
            volunteer = ledger.load(view.id, object, "volunteer")
            volunteer.credit(
                flow=Flow.AWARD,
                amount=funded,
                counterparty=ISSUANCE,
                ref=uuid4(),
                at=at,
                day=ledger.day_of(at),
            )
            ledger.save(volunteer)
    return volunteers, merchants


def write_history(ledger: Ledger, volunteers: list, merchants: list, events: int, say) -> float:
    """Give every volunteer and merchant ``events`` events: each volunteer is awarded 2
    beans and spends 1 at a merchant, over and over, across the last 30 days. Returns the
    rate in events/s."""
    loaded = [ledger.load(m.id, object, "merchant") for m in merchants]
    movements = events // 2  # per volunteer: an award and a redemption each
    total = movements * len(volunteers)
    step = timedelta(days=30) / max(total, 1)
    start = ledger.now() - timedelta(days=30, hours=1)
    done, began = 0, time.perf_counter()
    for number, view in enumerate(volunteers, start=1):
        volunteer = ledger.load(view.id, object, "volunteer")
        for first in range(0, movements, HISTORY_CHUNK):
            touched = {}
            for j in range(first, min(first + HISTORY_CHUNK, movements)):
                at = start + step * done
                day = ledger.day_of(at)
                merchant = loaded[(j + number) % len(loaded)]
                touched[merchant.id] = merchant
                ref = uuid4()
                volunteer.credit(
                    flow=Flow.AWARD, amount=2, counterparty=ISSUANCE, ref=uuid4(), at=at, day=day
                )
                volunteer.debit(
                    flow=Flow.REDEMPTION,
                    amount=1,
                    counterparty=merchant.id,
                    ref=ref,
                    at=at,
                    day=day,
                )
                merchant.credit(
                    flow=Flow.REDEMPTION,
                    amount=1,
                    counterparty=volunteer.id,
                    ref=ref,
                    at=at,
                    day=day,
                )
                done += 1
            ledger.save(volunteer, *touched.values())
            elapsed = time.perf_counter() - began
            say(
                f"  history: volunteer {number}/{len(volunteers)}, "
                f"{3 * done:,}/{3 * total:,} events, {3 * done / elapsed:,.0f} events/s",
                progress=True,
            )
    say("", progress=True, end=True)
    return 3 * done / (time.perf_counter() - began)


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Window:
    ops: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    clashes: int = 0
    rows: int = 0
    calls: int = 0

    def add(self, other: Window) -> None:
        self.ops += other.ops
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.failures += other.failures
        self.clashes += other.clashes
        self.rows += other.rows
        self.calls += other.calls


def measure(
    op: Callable[[int], None],
    threads: int,
    seconds: float,
    warmup: float,
    counting: CountingLedger | None = None,
) -> Window:
    """Call ``op(thread)`` in a loop in each thread; count the calls that start and finish
    inside the window [warm-up end, warm-up end + seconds]."""
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: Counter = Counter()
    failures_lock = threading.Lock()
    window: dict[str, float] = {}

    def loop(thread: int) -> None:
        barrier.wait()
        mine = latencies[thread]
        while True:
            began = time.perf_counter()
            if began >= window["end"]:
                return
            try:
                op(thread)
            except Exception as error:  # counted and reported, the run goes on
                with failures_lock:
                    failures[type(error).__name__] += 1
                continue
            finished = time.perf_counter()
            if window["start"] <= began and finished <= window["end"]:
                mine.append(finished - began)

    workers = [threading.Thread(target=loop, args=(t,), daemon=True) for t in range(threads)]
    for worker in workers:
        worker.start()
    before = (counting.clashes, counting.rows_read, counting.calls) if counting else (0, 0, 0)
    now = time.perf_counter()
    window["start"], window["end"] = now + warmup, now + warmup + seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    after = (counting.clashes, counting.rows_read, counting.calls) if counting else (0, 0, 0)
    merged = [x for mine in latencies for x in mine]
    clashes, rows, calls = (a - b for a, b in zip(after, before, strict=True))
    return Window(len(merged), seconds, merged, failures, clashes, rows, calls)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def redeem_op(scene: Scene) -> Callable[[int], None]:
    def op(thread: int) -> None:
        merchant = scene.merchants[thread % len(scene.merchants)]
        index = scene.take_volunteer()
        try:
            code, at = scene.fresh_code(index)
            scene.clock.set_for_this_thread(at)
            scene.ledger.redeem(merchant.id, code, 1, key=uuid4().hex)
        finally:
            scene.clock.set_for_this_thread(None)
            scene.give_back(index)

    return op


def pay_op(scene: Scene) -> Callable[[int], None]:
    def op(thread: int) -> None:
        merchant = scene.merchants[thread % len(scene.merchants)]
        index = scene.take_volunteer()
        try:
            scene.ledger.pay_merchant(
                scene.volunteers[index].id, merchant.merchant_code, 1, key=uuid4().hex
            )
        finally:
            scene.give_back(index)

    return op


def bench_store(store: str, url: str, args, say) -> tuple[list[Result], dict]:
    results: list[Result] = []
    clock = ThreadClock()
    ledger = CountingLedger(env_for_url(url, create_tables=True), clock=clock)
    raw = RawApp(env=env_for_url(url, create_tables=True))
    notes: dict = {}
    try:

        def record(workload: str, accounts: str, threads: int, found: Window) -> None:
            found.latencies.sort()
            result = Result(
                store,
                workload,
                accounts,
                threads,
                found.ops,
                found.seconds,
                percentile(found.latencies, 0.5),
                percentile(found.latencies, 0.99),
                found.clashes,
                dict(found.failures),
                found.rows / found.calls if found.calls else 0.0,
            )
            results.append(result)
            say(
                f"  {workload:13} {accounts:13} {threads} thread(s): {result.rate:8.1f}/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                f"rows/call {result.rows_per_call:5.1f}  clashes {found.clashes}  "
                f"errors {dict(found.failures) or '-'}"
            )

        def compare(workload: str, threads: int, fresh_op, long_op) -> None:
            """Fresh and long-history accounts in alternating slices, so that whatever
            else the machine does falls on both alike."""
            fresh, long = Window(), Window()
            for _ in range(args.slices):
                part = args.seconds / args.slices
                fresh.add(measure(fresh_op, threads, part, args.warmup, ledger))
                long.add(measure(long_op, threads, part, args.warmup, ledger))
            record(workload, "fresh", threads, fresh)
            record(workload, "long history", threads, long)

        say(f"[{store}] raw eventsourcing append")
        for threads in THREADS:
            record(
                "raw append",
                "-",
                threads,
                measure(lambda _thread: raw.save(Ping()), threads, args.seconds, args.warmup),
            )

        say(
            f"[{store}] long history: {VOLUNTEERS} volunteers and {MERCHANTS} merchants, "
            f"{args.history:,} events each"
        )
        volunteers, merchants = open_accounts(ledger, "long", funded=1_000_000)
        notes["history_events_per_s"] = write_history(
            ledger, volunteers, merchants, args.history, say
        )
        long_scene = Scene(ledger, clock, volunteers, merchants)
        notes["long_versions"] = {
            "volunteer": min(ledger.load(v.id, object, "v").version for v in volunteers),
            "merchant": min(ledger.load(m.id, object, "m").version for m in merchants),
        }
        say(
            f"  fewest events: volunteer {notes['long_versions']['volunteer']:,}, "
            f"merchant {notes['long_versions']['merchant']:,}"
        )

        for workload, make_op in (("redeem", redeem_op), ("pay_merchant", pay_op)):
            say(f"[{store}] {workload}, fresh and long-history accounts in alternating slices")
            for threads in THREADS:
                volunteers, merchants = open_accounts(
                    ledger, f"fresh {workload} {threads}", funded=1_000_000
                )
                fresh_scene = Scene(ledger, clock, volunteers, merchants)
                compare(workload, threads, make_op(fresh_scene), make_op(long_scene))
    finally:
        ledger.close()
        raw.close()
    return results, notes


# --- stores --------------------------------------------------------------------------------


def pg_admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=""))


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}", query=""))


def postgres_facts(url: str) -> dict:
    import psycopg

    with psycopg.connect(pg_admin_url(url), autocommit=True, connect_timeout=5) as conn:
        facts = {}
        for name in (
            "server_version",
            "fsync",
            "synchronous_commit",
            "shared_buffers",
            "max_connections",
        ):
            facts[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    return facts


def bench_postgres(url: str, args, say) -> tuple[list[Result], dict]:
    import psycopg
    from psycopg import sql

    schema = f"bench_{secrets.token_hex(4)}"
    admin = pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    query = "&".join(q for q in [parts.query, f"schema={schema}", "pool_size=10"] if q)
    try:
        return bench_store("PostgreSQL", urlunsplit(parts._replace(query=query)), args, say)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def bench_sqlite(args, say) -> tuple[list[Result], dict]:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "ledger_bench.sqlite3"
    for stale in OUT.glob("ledger_bench.sqlite3*"):
        stale.unlink()
    try:
        return bench_store("SQLite", f"sqlite:///{path}", args, say)
    finally:
        for used in OUT.glob("ledger_bench.sqlite3*"):
            used.unlink()


def bench_pgbench(url: str, args, say) -> list[dict]:
    """pgbench's TPC-B-like transaction rate at 1 and 8 clients on a scratch database."""
    import psycopg
    from psycopg import sql

    pgbench = shutil.which("pgbench") or (
        "/usr/bin/pgbench" if Path("/usr/bin/pgbench").exists() else None
    )
    if pgbench is None:
        say("[pgbench] not found; skipped")
        return []
    admin = pg_admin_url(url)
    target = with_database(url, PGBENCH_DB)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(PGBENCH_DB))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PGBENCH_DB)))
    rows = []
    try:
        say("[pgbench] initialising scale 1")
        subprocess.run(
            [pgbench, "-i", "-s", "1", "-q", target], check=True, capture_output=True, text=True
        )
        for clients in THREADS:
            seconds = max(3, int(args.seconds))
            done = subprocess.run(
                [pgbench, "-c", str(clients), "-j", str(clients), "-T", str(seconds), target],
                check=True,
                capture_output=True,
                text=True,
            )
            found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
            latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
            tps = float(found.group(1)) if found else float("nan")
            rows.append(
                {
                    "clients": clients,
                    "seconds": seconds,
                    "tps": tps,
                    "latency_ms": float(latency.group(1)) if latency else None,
                }
            )
            say(f"  pgbench TPC-B {clients} client(s): {tps:8.1f} tps")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
    return rows


# --- report --------------------------------------------------------------------------------


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def machine_facts(pg: dict | None, load_start: str) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    memory = next(
        (
            line.split()[1]
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal")
        ),
        None,
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(memory) / 2**20, 1) if memory else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "eventsourcing": version("eventsourcing"),
        "psycopg": _version_or_none("psycopg"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "load_start": load_start,
        "load_end": load_average(),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version_or_none(name: str) -> str | None:
    try:
        return version(name)
    except Exception:  # not installed
        return None


def render(results: list[Result], pgbench: list[dict], facts: dict, notes: dict, args) -> str:
    def find(store, workload, accounts, threads):
        return next(
            (
                r
                for r in results
                if (r.store, r.workload, r.accounts, r.threads)
                == (store, workload, accounts, threads)
            ),
            None,
        )

    pg = facts["postgresql"]
    lines = [
        f"## Ledger benchmark ({'quick' if args.quick else 'full'} run, {facts['date']})",
        "",
        f"Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gib']} GiB, "
        f"{facts['os']}; Python {facts['python']}, eventsourcing {facts['eventsourcing']}, "
        f"psycopg {facts['psycopg']}, SQLite {facts['sqlite']}"
        + (
            f", PostgreSQL {pg['server_version']} (fsync={pg['fsync']}, synchronous_commit="
            f"{pg['synchronous_commit']}, shared_buffers={pg['shared_buffers']})"
            if pg
            else ""
        )
        + ".",
        "",
        f"Each figure is completed calls per second over {args.seconds:g} s of measuring "
        f"(for fresh vs long history: {args.slices} alternating slices each, so both meet the "
        f"same background load), each slice after a {args.warmup:g} s warm-up; threads "
        f"share one `Ledger` (one connection pool). {VOLUNTEERS} volunteers and {MERCHANTS} "
        f"merchants (one terminal per thread; a volunteer is served by one terminal at a "
        f'time); each call moves 1 bean with a fresh idempotency key. "long history" '
        f'accounts had {args.history:,} events each before measuring. "rows read/call" '
        f"counts event and snapshot rows the commands read: with snapshots every 50 events "
        f"it stays bounded however long the history. Load average (1 min) at start/end: "
        f"{facts['load_start']} / {facts['load_end']} -- other work on the machine shows "
        f"up as noise. Command: `python bench/ledger_bench.py{' --quick' if args.quick else ''}`.",
        "",
        "| store | workload | threads | fresh /s | long history /s | long/fresh "
        "| p50 ms (fresh/long) | p99 ms (fresh/long) | rows read/call (fresh/long) "
        "| clashes | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    stores = list(dict.fromkeys(r.store for r in results))
    for store in stores:
        for workload in ("redeem", "pay_merchant"):
            for threads in THREADS:
                fresh = find(store, workload, "fresh", threads)
                long = find(store, workload, "long history", threads)
                if not fresh or not long:
                    continue
                ratio = long.rate / fresh.rate if fresh.rate else float("nan")
                errors = Counter(fresh.errors) + Counter(long.errors)
                lines.append(
                    f"| {store} | `{workload}` | {threads} | {fresh.rate:,.0f} | {long.rate:,.0f} "
                    f"| {ratio:.2f} | {fresh.p50_ms:.1f} / {long.p50_ms:.1f} "
                    f"| {fresh.p99_ms:.1f} / {long.p99_ms:.1f} "
                    f"| {fresh.rows_per_call:.1f} / {long.rows_per_call:.1f} "
                    f"| {fresh.clashes + long.clashes} "
                    f"| {', '.join(f'{k} {v}' for k, v in errors.items()) or '-'} |"
                )
    lines += [
        "",
        "Next to the database underneath, in the same run:",
        "",
        "| store | what | 1 thread/client /s | 8 threads/clients /s | `redeem` at 1 / 8 as % |",
        "|---|---|---:|---:|---:|",
    ]
    for store in stores:
        raw = [find(store, "raw append", "-", t) for t in THREADS]
        redeem = [find(store, "redeem", "fresh", t) for t in THREADS]
        if all(raw):
            share = " / ".join(
                f"{100 * r.rate / w.rate:.0f}%" if r and w.rate else "-"
                for r, w in zip(redeem, raw, strict=True)
            )
            lines.append(
                f"| {store} | eventsourcing: save one new aggregate per call "
                f"| {raw[0].rate:,.0f} | {raw[1].rate:,.0f} | {share} |"
            )
    if pgbench:
        tps = {row["clients"]: row["tps"] for row in pgbench}
        lines.append(
            f"| PostgreSQL | pgbench TPC-B (scale 1, {pgbench[0]['seconds']} s) "
            f"| {tps.get(1, float('nan')):,.0f} | {tps.get(8, float('nan')):,.0f} | |"
        )
    for store, note in notes.items():
        lines += [
            "",
            f"{store}: history written at {note['history_events_per_s']:,.0f} events/s; "
            f"after it the shortest volunteer history was "
            f"{note['long_versions']['volunteer']:,} events and the shortest merchant "
            f"history {note['long_versions']['merchant']:,}.",
        ]
    return "\n".join(lines) + "\n"


def write_doc(section: str, start: str = START, end: str = END) -> None:
    """Replace the section between ``start`` and ``end`` in docs/PERFORMANCE.md, or append
    it at the end; nothing else in the file changes (each benchmark has its markers)."""
    block = f"{start}\n{section}{end}\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else DOC_INTRO
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text)


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s windows, 2,000-event history")
    parser.add_argument("--seconds", type=float, help="measuring window per figure")
    parser.add_argument("--history", type=int, help="events per long-history account")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.warmup = 0.5  # before every slice; the first slice also warms the pool
    args.slices = 2 if args.quick else 4
    args.history = args.history or (2_000 if args.quick else 10_000)
    url = os.environ.get("GOLDBEAN_BENCH_POSTGRES_URL", DEFAULT_PG_URL)
    interactive = sys.stdout.isatty()

    def say(message: str, progress: bool = False, end: bool = False) -> None:
        if progress and interactive:
            print(f"\r{message:<100}", end="\n" if end else "", flush=True)
        elif progress and not end:
            say.last = getattr(say, "last", 0.0)
            if time.monotonic() - say.last >= 2:  # a line every 2 s when not a terminal
                say.last = time.monotonic()
                print(message, flush=True)
        elif not progress:
            print(message, flush=True)

    began, load_start = time.monotonic(), load_average()
    results: list[Result] = []
    notes: dict = {}
    found, notes["SQLite"] = bench_sqlite(args, say)
    results += found
    try:
        pg = postgres_facts(url)
    except Exception as error:  # no server: SQLite figures only
        say(f"[PostgreSQL] not usable at {url}: {error}; skipped")
        pg = None
    pgbench: list[dict] = []
    if pg:
        found, notes["PostgreSQL"] = bench_postgres(url, args, say)
        results += found
        pgbench = bench_pgbench(url, args, say)
    facts = machine_facts(pg, load_start)
    section = render(results, pgbench, facts, notes, args)
    print()
    print(section)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ledger_bench.json").write_text(
        json.dumps(
            {
                "facts": facts,
                "results": [asdict(r) | {"rate": r.rate} for r in results],
                "pgbench": pgbench,
                "notes": notes,
            },
            indent=2,
            default=str,
        )
    )
    if not args.no_doc:
        write_doc(section)
        print(f"wrote {DOC.relative_to(ROOT)}")
    print(f"took {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
