#!/usr/bin/env python
"""POS-style redemption load over HTTP against ``goldbean serve`` on PostgreSQL, next to
pgbench's TPC-B rate on the same machine in the same run.

    python bench/http_load.py            # 20 s window, about 1 minute in all
    python bench/http_load.py --quick    # 5 s window, about 35 s in all
    python bench/http_load.py --clients 16 --workers 2 --threads 4 --seconds 20

What it does, in order:

1. Creates a fresh schema on the PostgreSQL at ``$GOLDBEAN_BENCH_POSTGRES_URL`` (default
   ``postgresql://postgres@127.0.0.1:5432/test``) with the ledger's and the API's tables,
   ``--volunteers`` volunteers each credited ``--beans`` beans (at the aggregate level, as
   bench/ledger_bench.py does: real awards are capped at 200 a day), and ``--merchants``
   merchants (one per client by default), each with a till user.
2. Starts ``goldbean serve --workers N --threads T`` on 127.0.0.1 with a random secret key.
3. Runs ``--clients`` threads, each one till with its own keep-alive connection
   (``http.client``) and its own bearer token. Each request is one
   ``POST /api/v1/redemptions`` of 1-20 beans with a fresh payment code of a random
   volunteer that no other till is serving at that moment (a customer stands at one
   counter at a time) and a fresh ``Idempotency-Key``. Codes are signed here with the
   server's keyring (same secret, so the same derived key), just before each request,
   never twice. A share (``--retry-share``) of requests is sent again with the same key
   and body, as a till does after a lost answer: the answer must be the first one, marked
   ``Idempotent-Replayed``; anything else counts as an error. After ``--warmup`` seconds
   the next ``--seconds`` are measured: requests completed in that window count.
4. Stops the server; checks that no bean was lost or made (volunteers + merchants hold
   what was credited) and that every account moved exactly what the 201 answers say.
5. Runs ``pgbench`` TPC-B (``-c clients -j 2 -T seconds``, scale = clients) in a scratch
   database; prints a table with the ratio redemptions/s / pgbench tps.

The load goes only to 127.0.0.1 and is bounded by ``--max-requests`` and the window.
The section between ``<!-- http_load:start -->`` and ``<!-- http_load:end -->`` in
docs/PERFORMANCE.md is (re)written; the rest of the file is left alone. Raw numbers go to
bench/out/http_load.json and the server's log to bench/out/http_load_server.log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger_bench import (  # noqa: E402
    DEFAULT_PG_URL,
    load_average,
    machine_facts,
    percentile,
    pg_admin_url,
    postgres_facts,
    with_database,
    write_doc,
)

from api.auth import Auth  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.store import Store  # noqa: E402
from ledger import codes  # noqa: E402
from ledger.accounts import ISSUANCE, Flow  # noqa: E402
from ledger.clock import SystemClock  # noqa: E402
from ledger.persistence import init_db, open_ledger  # noqa: E402

PGBENCH_DB = "goldbean_http_pgbench"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "PERFORMANCE.md"
SERVER_LOG = OUT / "http_load_server.log"
START, END = "<!-- http_load:start -->", "<!-- http_load:end -->"
PATH = "/api/v1/redemptions"
TILL_PASSWORD = "till-password-for-the-bench"
AIM = 0.5  # redemptions/s over pgbench tps, the issue's aim
MAX_AMOUNT = 20
TRANSPORT_TRIES = 3  # a request whose answer was lost is sent again with the same key


# --- the community ---------------------------------------------------------------------


@dataclass
class Community:
    volunteers: list  # AccountView
    merchants: list  # MerchantView
    tills: list[str]  # the till user of each merchant
    beans_each: int
    keyring: codes.Keyring
    ttl: int

    @property
    def credited(self) -> int:
        return self.beans_each * len(self.volunteers)


def settings_for(url: str, secret: str) -> Settings:
    # environ={}: the server is started with only these settings too, so both sides
    # derive the same payment-code key whatever GOLDBEAN_* this shell has.
    return Settings.load({"database_url": url, "secret_key": secret}, environ={})


def build_community(url: str, secret: str, args, say) -> Community:
    init_db(url)
    store = Store(url)
    settings = settings_for(url, secret)
    ledger = open_ledger(url, keyring=settings.keyring(), rules=settings.rules())
    try:
        store.create_tables()
        merchants = [
            ledger.register_merchant(f"POS shop {m}", "grocery") for m in range(args.merchants)
        ]
        volunteers = [ledger.open_volunteer(f"volunteer {v}") for v in range(args.volunteers)]
        at = ledger.now()
        batch = []
        for view in volunteers:
            volunteer = ledger.load(view.id, object, "volunteer")
            volunteer.credit(
                flow=Flow.AWARD,
                amount=args.beans,
                counterparty=ISSUANCE,
                ref=uuid4(),
                at=at,
                day=ledger.day_of(at),
            )
            batch.append(volunteer)
            if len(batch) == 50:
                ledger.save(*batch)
                batch = []
        if batch:
            ledger.save(*batch)
        auth = Auth(store, SystemClock())
        tills = []
        for number, merchant in enumerate(merchants):
            auth.create_user(f"till{number}", TILL_PASSWORD, "merchant", merchant_id=merchant.id)
            tills.append(f"till{number}")
        say(
            f"  {len(volunteers)} volunteers with {args.beans:,} beans each, "
            f"{len(merchants)} merchants with a till user each"
        )
        return Community(
            volunteers,
            merchants,
            tills,
            args.beans,
            ledger.keyring,
            ledger.rules.payment_code_ttl_seconds,
        )
    finally:
        store.close()
        ledger.close()


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def goldbean_command() -> list[str]:
    beside = Path(sys.executable).with_name("goldbean")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())"]


class Server:
    """``goldbean serve`` on 127.0.0.1, its output in bench/out/http_load_server.log."""

    def __init__(self, url: str, secret: str, args) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOLDBEAN_")}
        env |= {"GOLDBEAN_SECRET_KEY": secret, "GOLDBEAN_DEMO": "0", "PYTHONUNBUFFERED": "1"}
        if args.log_level:
            env["GOLDBEAN_LOG_LEVEL"] = args.log_level
        command = goldbean_command() + [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--database-url",
            url,
        ]
        OUT.mkdir(parents=True, exist_ok=True)
        self.log = SERVER_LOG.open("w")
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready in {timeout:g} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])


def sign_in(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": TILL_PASSWORD}).encode()
    request = urllib.request.Request(
        base + "/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["token"]


# --- the load --------------------------------------------------------------------------


class Till:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.reconnects = 0

    def redeem(self, body: bytes, key: str) -> tuple[int, bool, bytes]:
        """POST one redemption: (status, replayed?, body). A connection lost before the
        answer arrives is opened again and the same request (same key) sent again."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": key,
        }
        for attempt in range(TRANSPORT_TRIES):
            try:
                self.conn.request("POST", PATH, body, headers)
                answer = self.conn.getresponse()
                data = answer.read()
                if (answer.getheader("Connection") or "").lower() == "close":
                    self.conn.close()
                replayed = (answer.getheader("Idempotent-Replayed") or "") == "true"
                return answer.status, replayed, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.reconnects += 1
                if attempt == TRANSPORT_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


@dataclass
class Tally:
    """What one till saw; merged after the run."""

    latencies: list[float] = field(default_factory=list)  # primaries completed in the window
    retry_latencies: list[float] = field(default_factory=list)
    in_window: Counter = field(default_factory=Counter)  # outcome -> count, in the window
    outcomes: Counter = field(default_factory=Counter)  # outcome -> count, whole run
    requests_in_window: int = 0  # primaries and retries completed in the window
    retries: int = 0
    replayed: int = 0
    mismatches: int = 0
    transport_errors: Counter = field(default_factory=Counter)
    reconnects: int = 0
    spent: Counter = field(default_factory=Counter)  # volunteer index -> beans, from 201s
    earned: Counter = field(default_factory=Counter)  # merchant index -> beans, from 201s
    ids: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, list | Counter):
                mine += value
            else:
                setattr(self, name, mine + value)


class Counterpart:
    """Volunteers free to pay (one counter at a time each) and never-used payment codes."""

    def __init__(self, community: Community, max_requests: int) -> None:
        self.community = community
        self.free = list(range(len(community.volunteers)))
        self.used: set[str] = set()
        self.lock = threading.Lock()
        self.budget = max_requests

    def take(self, rng: random.Random) -> int | None:
        with self.lock:
            if self.budget <= 0 or not self.free:
                return None
            self.budget -= 1
            return self.free.pop(rng.randrange(len(self.free)))

    def give_back(self, index: int) -> None:
        with self.lock:
            self.free.append(index)

    def code(self, index: int) -> str:
        """A code signed now with the server's key; drawn again if this run issued it
        already (a random 2-digit nonce tells apart codes of one second)."""
        number = self.community.volunteers[index].number
        for _ in range(50):
            issued = codes.issue_payment_code(
                self.community.keyring, number, datetime.now(UTC), self.community.ttl
            )
            with self.lock:
                if issued.code not in self.used:
                    self.used.add(issued.code)
                    return issued.code
        raise RuntimeError("no fresh payment code in 50 draws")


def outcome_of(status: int, data: bytes) -> str:
    if status == 201:
        return "201"
    try:
        return f"{status} {json.loads(data).get('code', '?')}"
    except (ValueError, AttributeError):
        return str(status)


def parsed(data: bytes) -> object:
    """The JSON in an answer's body, or the bytes themselves if it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        return data


def till_loop(
    number: int,
    till: Till,
    people: Counterpart,
    window: dict[str, float],
    retry_share: float,
    barrier: threading.Barrier,
    tally: Tally,
) -> None:
    rng = random.Random(number * 7919 + 1)
    merchant = number % len(people.community.merchants)
    start, end = window["start"], window["end"]
    barrier.wait()
    while time.perf_counter() < end:
        volunteer = people.take(rng)
        if volunteer is None:
            break
        try:
            amount = rng.randint(1, MAX_AMOUNT)
            key = uuid4().hex
            body = json.dumps({"code": people.code(volunteer), "amount": amount}).encode()
            began = time.perf_counter()
            try:
                status, _, data = till.redeem(body, key)
            except (http.client.HTTPException, OSError) as error:
                tally.transport_errors[type(error).__name__] += 1
                continue  # its outcome is unknown; the balance check will tell
            finished = time.perf_counter()
            outcome = outcome_of(status, data)
            tally.outcomes[outcome] += 1
            if start <= finished <= end:
                tally.in_window[outcome] += 1
                tally.requests_in_window += 1
                tally.latencies.append(finished - began)
            if status == 201:
                tally.spent[volunteer] += amount
                tally.earned[merchant] += amount
                receipt = parsed(data)
                if isinstance(receipt, dict) and "id" in receipt:
                    tally.ids.append(receipt["id"])
                else:
                    tally.transport_errors["201 without an id"] += 1
            if rng.random() < retry_share:
                tally.retries += 1
                began = time.perf_counter()
                try:
                    again, replayed, repeat = till.redeem(body, key)
                except (http.client.HTTPException, OSError) as error:
                    tally.transport_errors[type(error).__name__] += 1
                    continue
                finished = time.perf_counter()
                tally.retry_latencies.append(finished - began)
                if start <= finished <= end:
                    tally.requests_in_window += 1
                if again == status and replayed and parsed(repeat) == parsed(data):
                    tally.replayed += 1
                else:
                    tally.mismatches += 1
        finally:
            people.give_back(volunteer)
    tally.reconnects = till.reconnects


@dataclass
class LoadResult:
    tally: Tally
    seconds: float
    warmup: float
    cpu: dict[str, float]  # share of all cores' time in the window, by who used it

    @property
    def redemptions_per_s(self) -> float:
        return self.tally.in_window["201"] / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.tally.requests_in_window / self.seconds

    def latency_ms(self, q: float) -> float:
        return percentile(sorted(self.tally.latencies), q)

    @property
    def errors(self) -> Counter:
        errors = Counter({k: v for k, v in self.tally.outcomes.items() if k != "201"})
        errors += self.tally.transport_errors
        if self.tally.mismatches:
            errors["replay mismatch"] = self.tally.mismatches
        return errors


def run_load(server: Server, community: Community, tokens: list[str], args, say) -> LoadResult:
    people = Counterpart(community, args.max_requests)
    barrier = threading.Barrier(args.clients + 1)
    window: dict[str, float] = {}
    tallies = [Tally() for _ in range(args.clients)]
    tills = [Till(server.port, tokens[n % len(tokens)]) for n in range(args.clients)]
    now = time.perf_counter()
    window["start"] = now + 1 + args.warmup  # 1 s for the threads to start
    window["end"] = window["start"] + args.seconds
    threads = [
        threading.Thread(
            target=till_loop,
            args=(n, tills[n], people, window, args.retry_share, barrier, tallies[n]),
            daemon=True,
        )
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(max(0.0, window["start"] - time.perf_counter()))
    cpu_start = cpu_snapshot(server.process.pid)
    time.sleep(max(0.0, window["end"] - time.perf_counter()))
    cpu_end = cpu_snapshot(server.process.pid)
    for thread in threads:
        thread.join(timeout=60)
    for till in tills:
        till.close()
    total = Tally()
    for tally in tallies:
        total.add(tally)
    if people.budget <= 0:
        say(f"  stopped at --max-requests {args.max_requests:,}")
    return LoadResult(total, args.seconds, args.warmup, cpu_share(cpu_start, cpu_end))


# --- where the CPU went ----------------------------------------------------------------


SERVER, BACKENDS, PG_OTHER, TILLS = (
    "goldbean serve",
    "its PostgreSQL backends",
    "other PostgreSQL processes",
    "tills (this process)",
)


@dataclass
class CpuSnapshot:
    """CPU seconds so far of every process, by pid, with what each one is to this run."""

    per_pid: dict[int, tuple[str, float]]  # pid -> (part, CPU seconds)
    busy: float  # the whole machine, all cores
    idle: float


def cpu_snapshot(server_pid: int) -> CpuSnapshot | None:
    """Which process is whose: this process (the tills), the server's process tree, the
    PostgreSQL backends whose client port is one of the server's sockets, other
    PostgreSQL processes (background writers, other clients), anything else."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[str, int, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name = text[text.index("(") + 1 : text.rindex(")")]
            rest = text[text.rindex(")") + 2 :].split()
            stats[int(entry)] = (name, int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
        server = {server_pid}
        while True:
            grown = server | {pid for pid, (_, ppid, _) in stats.items() if ppid in server}
            if grown == server:
                break
            server = grown
        ports = client_ports(server)
        per_pid = {}
        for pid, (name, _, cpu) in stats.items():
            if pid == os.getpid():
                part = TILLS
            elif pid in server:
                part = SERVER
            elif name.startswith("postgres"):
                part = BACKENDS if backend_port(pid) in ports else PG_OTHER
            else:
                part = "other"
            per_pid[pid] = (part, cpu)
        line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(v) / tick for v in line[:8]]
        idle = values[3] + values[4]
        return CpuSnapshot(per_pid, sum(values) - idle, idle)
    except (OSError, ValueError, IndexError):
        return None


def client_ports(pids: set[int]) -> set[int]:
    """The local TCP ports of the sockets these processes hold."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[9]) in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def backend_port(pid: int) -> int | None:
    """The client port in a PostgreSQL backend's title (``... 127.0.0.1(43892) idle``)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    found = re.search(r"\((\d+)\)", title)
    return int(found.group(1)) if found else None


def cpu_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> dict[str, float]:
    """Each part's share of all the cores' time between the two snapshots (a process
    started in between counts from zero)."""
    if not before or not after:
        return {}
    total = (after.busy + after.idle) - (before.busy + before.idle)
    if total <= 0:
        return {}
    used: Counter = Counter()
    for pid, (part, cpu) in after.per_pid.items():
        earlier = before.per_pid.get(pid)
        used[part] += cpu - (earlier[1] if earlier else 0.0)
    share = {part: used[part] / total for part in (TILLS, SERVER, BACKENDS, PG_OTHER)}
    share["other"] = max(0.0, (after.busy - before.busy) / total - sum(share.values()))
    share["idle"] = (after.idle - before.idle) / total
    return share


def server_times(log: Path) -> list[float]:
    """The time the app spent on each redemption (its own request log line), in ms."""
    pattern = re.compile(rf"POST {re.escape(PATH)} \d{{3}} ([\d.]+)ms")
    try:
        return sorted(float(m.group(1)) for m in pattern.finditer(log.read_text(errors="replace")))
    except OSError:
        return []


# --- the checks after the run ----------------------------------------------------------


def check_beans(url: str, secret: str, community: Community, tally: Tally) -> dict:
    """Balances read back with a fresh ledger: the total is what was credited, and each
    account moved exactly what the 201 answers said."""
    settings = settings_for(url, secret)
    ledger = open_ledger(url, keyring=settings.keyring(), rules=settings.rules())
    try:
        held_by_volunteers = [ledger.get_balance(v.id) for v in community.volunteers]
        held_by_merchants = [ledger.get_merchant(m.id).balance for m in community.merchants]
        duplicates = len(tally.ids) - len(set(tally.ids))
        unrecorded = 0
        for redemption_id in set(tally.ids):
            try:
                ledger.get_redemption(redemption_id)
            except Exception:  # counted and reported
                unrecorded += 1
    finally:
        ledger.close()
    volunteers_off = sum(
        1
        for index, held in enumerate(held_by_volunteers)
        if held != community.beans_each - tally.spent[index]
    )
    merchants_off = sum(
        1 for index, held in enumerate(held_by_merchants) if held != tally.earned[index]
    )
    total = sum(held_by_volunteers) + sum(held_by_merchants)
    return {
        "credited": community.credited,
        "held": total,
        "moved": sum(held_by_merchants),
        "moved_by_201s": sum(tally.earned.values()),
        "volunteers_off": volunteers_off,
        "merchants_off": merchants_off,
        "duplicate_ids": duplicates,
        "unrecorded_ids": unrecorded,
        "ok": total == community.credited
        and volunteers_off == merchants_off == duplicates == unrecorded == 0,
    }


# --- pgbench ---------------------------------------------------------------------------


def run_pgbench(url: str, args, say) -> dict | None:
    import psycopg
    from psycopg import sql

    pgbench = shutil.which("pgbench") or (
        "/usr/bin/pgbench" if Path("/usr/bin/pgbench").exists() else None
    )
    if pgbench is None:
        say("[pgbench] not found; skipped")
        return None
    admin = pg_admin_url(url)
    target = with_database(url, PGBENCH_DB)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(PGBENCH_DB))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PGBENCH_DB)))
    try:
        scale = args.pgbench_scale or args.clients
        say(f"[pgbench] initialising scale {scale}")
        subprocess.run(
            [pgbench, "-i", "-s", str(scale), "-q", target],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        seconds = max(3, round(args.seconds))
        jobs = min(2, args.clients)
        say(f"[pgbench] TPC-B, {args.clients} clients, {jobs} threads, {seconds} s")
        done = subprocess.run(
            [pgbench, "-c", str(args.clients), "-j", str(jobs), "-T", str(seconds), target],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
        latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
        return {
            "clients": args.clients,
            "jobs": jobs,
            "scale": scale,
            "seconds": seconds,
            "tps": float(tps.group(1)) if tps else float("nan"),
            "latency_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else 0,
        }
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)


# --- the report ------------------------------------------------------------------------


def render(
    load: LoadResult, served: list[float], beans: dict, pgbench: dict | None, facts: dict, args
) -> str:
    tally = load.tally
    pg = facts["postgresql"] or {}
    ratio = load.redemptions_per_s / pgbench["tps"] if pgbench and pgbench["tps"] else None
    errors = ", ".join(f"{k} {v}" for k, v in load.errors.most_common()) or "none"
    command = "python bench/http_load.py" + (" --quick" if args.quick else "")
    if (args.clients, args.workers, args.threads) != (16, 2, 4):
        command += f" --clients {args.clients} --workers {args.workers} --threads {args.threads}"
    lines = [
        f"## HTTP load: POS redemptions over HTTP ({'quick' if args.quick else 'full'} run, "
        f"{facts['date']})",
        "",
        f"Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gib']} GiB; "
        f"Python {facts['python']}, eventsourcing {facts['eventsourcing']}, "
        f"psycopg {facts['psycopg']}"
        + (
            f", PostgreSQL {pg['server_version']} (fsync={pg['fsync']}, "
            f"synchronous_commit={pg['synchronous_commit']})"
            if pg
            else ""
        )
        + ". The clients, the server and PostgreSQL share these cores.",
        "",
        f"`goldbean serve --workers {args.workers} --threads {args.threads}` on PostgreSQL; "
        f"{args.clients} tills (threads of one client process, one keep-alive connection "
        f"and one merchant's token each) send `POST {PATH}` of 1-{MAX_AMOUNT} beans, each "
        f"with a fresh payment code of one of {args.volunteers} volunteers (one counter at a "
        f"time each) and a fresh `Idempotency-Key`; {args.retry_share:.0%} are sent again "
        f"with the same key and must be replayed. Measured over {args.seconds:g} s after a "
        f"{args.warmup:g} s warm-up; pgbench TPC-B ran right after the server stopped, on "
        f"the same machine, with the same number of clients and seconds. Load average "
        f"(1 min) at start/end: {facts['load_start']} / {facts['load_end']}. "
        f"Command: `{command}`.",
        "",
        "| tills | workers × threads | redemptions/s | requests/s | p50 ms | p90 ms "
        "| p99 ms | retries replayed | errors | pgbench TPC-B tps | ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        f"| {args.clients} | {args.workers} × {args.threads} | {load.redemptions_per_s:,.0f} "
        f"| {load.requests_per_s:,.0f} | {load.latency_ms(0.5):.1f} | {load.latency_ms(0.9):.1f} "
        f"| {load.latency_ms(0.99):.1f} | {tally.replayed}/{tally.retries} | {errors} "
        + (
            f"| {pgbench['tps']:,.0f} (scale {pgbench['scale']}, -c {pgbench['clients']} "
            f"-j {pgbench['jobs']}) "
            if pgbench
            else "| - "
        )
        + (f"| **{ratio:.2f}** |" if ratio is not None else "| - |"),
        "",
    ]
    if ratio is not None:
        verdict = "met" if ratio >= AIM else "not met"
        lines.append(
            f"Ratio redemptions/s ÷ pgbench tps = {ratio:.2f}; the aim of at least {AIM} is "
            f"**{verdict}**."
        )
    if served:
        lines.append(
            f"Inside the app (its request log, whole run): p50 "
            f"{percentile([s / 1000 for s in served], 0.5):.1f} ms, p99 "
            f"{percentile([s / 1000 for s in served], 0.99):.1f} ms, mean "
            f"{sum(served) / len(served):.1f} ms per redemption; the rest of the client's "
            f"latency is gunicorn, HTTP and waiting for a worker thread or the CPU."
        )
    if load.cpu:
        parts = ", ".join(
            f"{name} {share:.0%}" for name, share in load.cpu.items() if name != "other"
        )
        lines.append(
            f"CPU in the window, as a share of all {facts['cores']} cores: {parts} "
            f"(other {load.cpu.get('other', 0):.0%})."
        )
        rate = load.redemptions_per_s
        if rate:
            cores = facts["cores"] or 1
            per = {
                name: 1000 * share * cores / rate
                for name, share in load.cpu.items()
                if name in (TILLS, SERVER, BACKENDS)
            }
            ceiling = 1000 * cores / sum(per.values()) if sum(per.values()) else 0.0
            lines.append(
                "CPU per redemption: "
                + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
                + f"; at that cost the {cores} cores, with nothing else running, could carry "
                f"at most about {ceiling:,.0f} redemptions/s"
                + (f" ({ceiling / pgbench['tps']:.2f} of this run's pgbench)" if ratio else "")
                + "."
            )
    lines.append(
        f"Beans: {beans['credited']:,} credited, {beans['held']:,} held by volunteers and "
        f"merchants after the run ({beans['moved']:,} moved to merchants, "
        f"{beans['moved_by_201s']:,} by the 201 answers); accounts not matching their 201s: "
        f"{beans['volunteers_off'] + beans['merchants_off']}; "
        + ("**no bean lost or made**." if beans["ok"] else "**MISMATCH**.")
    )
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s window, 1 s warm-up")
    parser.add_argument("--clients", type=int, default=16, help="concurrent tills (16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--seconds", type=float, help="measuring window (20; quick 5)")
    parser.add_argument("--warmup", type=float, help="warm-up before the window (3; quick 1)")
    parser.add_argument("--volunteers", type=int, default=200, help="volunteers (200)")
    parser.add_argument("--merchants", type=int, help="merchants (default: one per till)")
    parser.add_argument("--beans", type=int, default=100_000, help="beans per volunteer")
    parser.add_argument("--retry-share", type=float, default=0.05, help="share sent twice")
    parser.add_argument("--max-requests", type=int, default=200_000, help="hard cap")
    parser.add_argument("--pgbench-scale", type=int, help="pgbench scale (default: clients)")
    parser.add_argument("--log-level", help="the server's log level (default: its own)")
    parser.add_argument("--no-doc", action="store_true", help="do not write PERFORMANCE.md")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.merchants = args.merchants or args.clients
    if args.clients < 1 or args.volunteers < args.clients or not 0 <= args.retry_share <= 1:
        parser.error("need 1 <= clients <= volunteers and 0 <= --retry-share <= 1")
    if args.seconds > 300:
        parser.error("--seconds is at most 300")
    url = os.environ.get("GOLDBEAN_BENCH_POSTGRES_URL", DEFAULT_PG_URL)

    def say(message: str) -> None:
        print(message, flush=True)

    import psycopg
    from psycopg import sql

    began, load_start = time.monotonic(), load_average()
    pg = postgres_facts(url)
    schema = f"http_load_{secrets.token_hex(4)}"
    admin = pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    query = "&".join(q for q in [parts.query, f"schema={schema}"] if q)
    bench_url = urlunsplit(parts._replace(query=query))
    secret = secrets.token_hex(32)
    try:
        say(f"[setup] schema {schema}")
        community = build_community(bench_url, secret, args, say)
        say(f"[server] goldbean serve --workers {args.workers} --threads {args.threads}")
        server = Server(bench_url, secret, args)
        try:
            server.wait_ready()
            tokens = [sign_in(server.base, till) for till in community.tills]
            say(
                f"[load] {args.clients} tills, {args.warmup:g} s warm-up, "
                f"{args.seconds:g} s measured"
            )
            load = run_load(server, community, tokens, args, say)
        finally:
            server.stop()
        served = server_times(SERVER_LOG)
        say(
            f"  {load.redemptions_per_s:,.1f} redemptions/s, {load.requests_per_s:,.1f} "
            f"requests/s, p50 {load.latency_ms(0.5):.1f} ms, p99 {load.latency_ms(0.99):.1f} ms, "
            f"errors {dict(load.errors) or '-'}"
        )
        say("[check] balances")
        beans = check_beans(bench_url, secret, community, load.tally)
        say(f"  {beans}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    pgbench = run_pgbench(url, args, say)
    if pgbench:
        say(f"  pgbench TPC-B {pgbench['clients']} clients: {pgbench['tps']:,.1f} tps")
    facts = machine_facts(pg, load_start)
    section = render(load, served, beans, pgbench, facts, args)
    print()
    print(section)
    OUT.mkdir(parents=True, exist_ok=True)
    tally = load.tally
    (OUT / "http_load.json").write_text(
        json.dumps(
            {
                "facts": facts,
                "args": vars(args),
                "redemptions_per_s": load.redemptions_per_s,
                "requests_per_s": load.requests_per_s,
                "latency_ms": {q: load.latency_ms(q) for q in (0.5, 0.9, 0.99)},
                "retry_p50_ms": percentile(sorted(tally.retry_latencies), 0.5),
                "outcomes": tally.outcomes,
                "in_window": tally.in_window,
                "errors": load.errors,
                "retries": tally.retries,
                "replayed": tally.replayed,
                "reconnects": tally.reconnects,
                "cpu": load.cpu,
                "server_ms": {
                    "p50": percentile([s / 1000 for s in served], 0.5),
                    "p99": percentile([s / 1000 for s in served], 0.99),
                    "count": len(served),
                },
                "beans": beans,
                "pgbench": pgbench,
            },
            indent=2,
            default=str,
        )
    )
    if not args.no_doc:
        write_doc(section, START, END)
        print(f"wrote {DOC.relative_to(ROOT)}")
    print(f"took {time.monotonic() - began:.0f} s")
    return 0 if beans["ok"] and not tally.mismatches else 1


if __name__ == "__main__":
    raise SystemExit(main())
