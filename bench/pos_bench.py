#!/usr/bin/env python
"""Lunchtime at the counters: redemption latency over HTTP at a steady, realistic rate.

    python bench/pos_bench.py              # 50 terminals × 2 redemptions/s, 30 s measured
    python bench/pos_bench.py --quick      # 10 s measured
    python bench/pos_bench.py --terminals 50 --rate 2 --seconds 30 --workers 2

Unlike bench/http_load.py, which pushes as many requests as the server takes (a closed
loop measuring capacity), this is an open loop: each of ``--terminals`` tills sends a
redemption every ``1/--rate`` seconds on average (Poisson arrivals, so bursts happen), on
its own keep-alive connection, whether or not the previous one was slow; a request is
timed from the moment it was due, so queueing behind a slow answer counts (no
coordinated omission). Each redemption is 1-20 beans with a fresh payment code of a
volunteer no other till is serving, and a fresh Idempotency-Key.

The community, the server (``goldbean serve`` on PostgreSQL at
``$GOLDBEAN_BENCH_POSTGRES_URL``, a fresh schema dropped afterwards) and the tills are
bench/http_load.py's. The aim is p99 under 50 ms. The section between
``<!-- pos_bench:start -->`` and ``<!-- pos_bench:end -->`` in docs/PERFORMANCE.md is
(re)written; raw numbers go to bench/out/pos_bench.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import (  # noqa: E402
    MAX_AMOUNT,
    OUT,
    Counterpart,
    Server,
    Till,
    build_community,
    check_beans,
    outcome_of,
    sign_in,
)
from ledger_bench import (  # noqa: E402
    DEFAULT_PG_URL,
    load_average,
    machine_facts,
    percentile,
    pg_admin_url,
    postgres_facts,
    write_doc,
)

START, END = "<!-- pos_bench:start -->", "<!-- pos_bench:end -->"
AIM_P99_MS = 50.0


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []  # seconds from when the request was due
        self.service: list[float] = []  # seconds from when it was sent
        self.outcomes: Counter[str] = Counter()
        self.spent: Counter[int] = Counter()
        self.earned: Counter[int] = Counter()
        self.ids: list[str] = []
        self.replayed = self.mismatches = self.retries = 0
        self.transport_errors: Counter[str] = Counter()


def terminal_loop(
    number: int,
    till: Till,
    people: Counterpart,
    rate: float,
    window: tuple[float, float],
    tally: Tally,
    barrier: threading.Barrier,
) -> None:
    rng = random.Random(number * 104729 + 7)
    merchant = number % len(people.community.merchants)
    start, end = window
    barrier.wait()
    due = time.perf_counter() + rng.expovariate(rate)
    while due < end:
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        volunteer = people.take(rng)
        if volunteer is None:
            break
        try:
            amount = rng.randint(1, MAX_AMOUNT)
            body = json.dumps({"code": people.code(volunteer), "amount": amount}).encode()
            sent = time.perf_counter()
            try:
                status, _, data = till.redeem(body, uuid4().hex)
            except (http.client.HTTPException, OSError) as error:
                with tally.lock:
                    tally.transport_errors[type(error).__name__] += 1
                continue
            finished = time.perf_counter()
            with tally.lock:
                if start <= due and finished <= end:
                    tally.latencies.append(finished - due)
                    tally.service.append(finished - sent)
                    tally.outcomes[outcome_of(status, data)] += 1
                if status == 201:
                    tally.spent[volunteer] += amount
                    tally.earned[merchant] += amount
                    tally.ids.append(json.loads(data)["id"])
        finally:
            people.give_back(volunteer)
        due += rng.expovariate(rate)
    till.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s measured")
    parser.add_argument("--terminals", type=int, default=50, help="tills (50)")
    parser.add_argument("--rate", type=float, default=2.0, help="redemptions/s per till (2)")
    parser.add_argument("--seconds", type=float, help="measured window (30; quick 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before (3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (8)")
    parser.add_argument("--volunteers", type=int, default=400)
    parser.add_argument("--beans", type=int, default=100_000)
    parser.add_argument("--log-level", default="WARNING", help="the server's log level")
    parser.add_argument("--no-doc", action="store_true", help="do not write PERFORMANCE.md")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    args.merchants = args.terminals
    if args.volunteers < args.terminals or args.rate <= 0 or args.seconds > 300:
        parser.error("need terminals <= volunteers, rate > 0 and --seconds <= 300")
    url = os.environ.get("GOLDBEAN_BENCH_POSTGRES_URL", DEFAULT_PG_URL)

    def say(message: str) -> None:
        print(message, flush=True)

    import psycopg
    from psycopg import sql

    load_start = load_average()
    pg = postgres_facts(url)
    schema = f"pos_bench_{secrets.token_hex(4)}"
    admin = pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    bench_url = urlunsplit(
        parts._replace(query="&".join(q for q in [parts.query, f"schema={schema}"] if q))
    )
    secret = secrets.token_hex(32)
    tally = Tally()
    try:
        say(f"[setup] schema {schema}")
        community = build_community(bench_url, secret, args, say)
        server = Server(bench_url, secret, args)
        try:
            server.wait_ready()
            tokens = [sign_in(server.base, till) for till in community.tills]
            people = Counterpart(community, 10**7)
            tills = [Till(server.port, token) for token in tokens]
            barrier = threading.Barrier(len(tills) + 1)
            began = time.perf_counter() + 0.5
            window = (began + args.warmup, began + args.warmup + args.seconds)
            say(
                f"[load] {args.terminals} tills × {args.rate:g}/s, {args.warmup:g} s warm-up, "
                f"{args.seconds:g} s measured"
            )
            threads = [
                threading.Thread(
                    target=terminal_loop,
                    args=(n, till, people, args.rate, window, tally, barrier),
                    daemon=True,
                )
                for n, till in enumerate(tills)
            ]
            for thread in threads:
                thread.start()
            barrier.wait()
            for thread in threads:
                thread.join(timeout=args.warmup + args.seconds + 60)
        finally:
            server.stop()
        say("[check] balances")

        class _Load:  # what check_beans reads of http_load's tally
            spent, earned, ids = tally.spent, tally.earned, tally.ids

        beans = check_beans(bench_url, secret, community, _Load)  # type: ignore[arg-type]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    done = len(tally.latencies)
    latencies, service = sorted(tally.latencies), sorted(tally.service)
    result = {
        "terminals": args.terminals,
        "rate_per_terminal": args.rate,
        "offered_per_s": args.terminals * args.rate,
        "completed_per_s": done / args.seconds,
        "p50_ms": percentile(latencies, 0.5),  # sorted seconds in, ms out
        "p90_ms": percentile(latencies, 0.9),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "service_p99_ms": percentile(service, 0.99),
        "outcomes": dict(tally.outcomes),
        "transport_errors": dict(tally.transport_errors),
        "beans": beans,
        "workers": args.workers,
        "threads": args.threads,
        "seconds": args.seconds,
        "load_average": [load_start, load_average()],
        "postgres": pg,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pos_bench.json").write_text(json.dumps(result, indent=2, default=str))
    text = render(result, machine_facts(pg, load_start), sys.argv[1:] if argv is None else argv)
    print(text)
    if not args.no_doc:
        write_doc(text, START, END)
    return 0


def render(r: dict, facts: dict, argv: list[str] | None) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    errors = sum(r["transport_errors"].values()) + sum(
        n for outcome, n in r["outcomes"].items() if outcome != "201"
    )
    met = r["p99_ms"] < AIM_P99_MS
    lines = [
        f"## POS: redemption latency at lunchtime load ({when})",
        "",
        f"Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gib']} GiB; "
        f"Python {facts['python']}, eventsourcing {facts['eventsourcing']}, PostgreSQL "
        f"{(facts.get('postgresql') or {}).get('server_version', '?')}; the tills, the server and "
        "PostgreSQL share these cores. Load average (1 min) at start/end: "
        f"{facts['load_start']} / {facts['load_end']}. Command: "
        f"`python bench/pos_bench.py{' ' + ' '.join(argv) if argv else ''}`.",
        "",
        f"`goldbean serve --workers {r['workers']} --threads {r['threads']}` on PostgreSQL; "
        f"{r['terminals']} tills each send a redemption every {1 / r['rate_per_terminal']:g} s "
        "on average (Poisson arrivals, open loop: latency is timed from when a request was "
        "due, so waiting behind a slow answer counts), each with a fresh payment code and "
        "Idempotency-Key, on a keep-alive connection.",
        "",
        "| tills | offered /s | completed /s | p50 ms | p90 ms | p99 ms | max ms | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['terminals']} | {r['offered_per_s']:g} | {r['completed_per_s']:.1f} | "
        f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | **{r['p99_ms']:.1f}** | {r['max_ms']:.1f} | "
        f"{errors} |",
        "",
        f"Aim: p99 under {AIM_P99_MS:g} ms: **{'met' if met else 'not met'}**. "
        f"Outcomes: {r['outcomes']}; transport errors: {r['transport_errors'] or 'none'}. "
        f"Beans: {r['beans']}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
