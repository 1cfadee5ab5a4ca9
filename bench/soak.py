#!/usr/bin/env python
"""Soak run: steady mixed load for a long time, to see latency and memory over time.

    python bench/soak.py                      # 20 minutes of load
    python bench/soak.py --duration 120       # a quick look
    python bench/soak.py --duration 1200 --write-docs

The same deployment and workload as bench/chaos.py (its own throwaway PostgreSQL cluster,
``goldbean serve`` with gunicorn workers, a separate ``goldbean projections run``, a
community set up through the API, the mixed workload of every kind of request with
Idempotency-Keys), but no faults: nothing is killed and nothing restarted. Every 10 s it
samples the resident memory (VmRSS) of the gunicorn master, each worker, the projector and
the PostgreSQL server processes; every minute it prints the minute's requests and latency
percentiles. At the end it waits for the projector, checks that the balances still sum to
zero through the API's readiness answer and ``goldbean projections check``, and reports:

* latency p50 / p95 / p99 and throughput per minute (does the service slow down?);
* each process's memory after the first minute (warm) and at the end, and the growth;
  the stated bound is that no Goldbean process grows by more than
  :data:`GROWTH_BOUND_MB` MiB from its warm size to the end (exit 1 otherwise).

``--write-docs`` (re)writes the section between ``<!-- soak:start -->`` and
``<!-- soak:end -->`` in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import chaos  # noqa: E402
from ledger_bench import load_average, machine_facts, percentile, write_doc  # noqa: E402

START, END = "<!-- soak:start -->", "<!-- soak:end -->"
GROWTH_BOUND_MB = 64
POSTGRES_NOTE = (
    "`postgres (all)` sums the RSS of PostgreSQL's processes, which counts the shared "
    "buffers each backend has touched once per backend: it is not a growth figure."
)
SAMPLE_EVERY = 10.0


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def postgres_pids(cluster: chaos.Cluster) -> list[int]:
    """The cluster's postmaster and its children (backends, checkpointer, ...)."""
    pid_file = cluster.datadir / "postmaster.pid"
    try:
        master = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [master, *chaos.children_of(master)]


class Sampler(threading.Thread):
    def __init__(self, w: chaos.World, server: chaos.Server, projector: chaos.Projector,
                 cluster: chaos.Cluster) -> None:  # fmt: skip
        super().__init__(name="soak-sampler", daemon=True)
        self.w, self.server, self.projector, self.cluster = w, server, projector, cluster
        self.stop = threading.Event()
        self.memory: list[tuple[float, dict[str, float]]] = []

    def sample(self) -> dict[str, float]:
        found: dict[str, float] = {}
        master = self.server.process.pid
        found["gunicorn master"] = rss_mb(master) or 0.0
        for number, pid in enumerate(sorted(chaos.children_of(master)), start=1):
            found[f"worker {number}"] = rss_mb(pid) or 0.0
        if self.projector.process is not None:
            found["projector"] = rss_mb(self.projector.process.pid) or 0.0
        found["postgres (all)"] = sum(rss_mb(p) or 0.0 for p in postgres_pids(self.cluster))
        return found

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY):
            self.memory.append((self.w.now(), self.sample()))


def request_name(call: chaos.Call) -> str:
    """``GET /merchants/{id}/redemptions`` for a call: its method and path without ids."""
    parts = call.path.split("?")[0].removeprefix(chaos.API).split("/")
    shape = "/".join("{id}" if any(ch.isdigit() for ch in part) else part for part in parts)
    query = "?" + call.path.split("?", 1)[1] if "?" in call.path else ""
    return f"{call.method} {shape}{query}"


def slowing(by_request: dict[str, list[tuple[float, float]]], load_s: float) -> list[dict]:
    """Each request's p99 in the first and the last 3 minutes of the load, slowest-growing first."""
    window = min(180.0, load_s / 3)
    rows = []
    for name, samples in by_request.items():
        first = sorted(took for at, took in samples if at < window)
        last = sorted(took for at, took in samples if load_s - window <= at < load_s)
        if len(first) < 20 or len(last) < 20:
            continue
        rows.append({
            "request": name, "count": len(samples),
            "p50_first": percentile(first, 0.5), "p50_last": percentile(last, 0.5),
            "p99_first": percentile(first, 0.99), "p99_last": percentile(last, 0.99),
        })  # fmt: skip
    return sorted(rows, key=lambda r: r["p99_first"] - r["p99_last"])


def minutes_table(timed: list[tuple[float, float, int]], load_s: float) -> list[dict]:
    rows = []
    for minute in range(int(-(-load_s // 60))):  # the load's minutes (not the drain)
        inside = [
            (took, status) for at, took, status in timed if minute * 60 <= at < (minute + 1) * 60
        ]
        lat = sorted(took for took, _ in inside)
        errors = sum(1 for _, status in inside if status >= 500)
        if not lat:
            continue
        span = max(1.0, min(60.0, load_s - minute * 60))
        rows.append({
            "minute": minute, "requests": len(lat), "per_s": len(lat) / span,
            "p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95), "p99": percentile(lat, 0.99),
            "errors_5xx": errors,
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1200.0, help="seconds of load (1200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=3, help="client threads (3)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--write-docs", action="store_true", help="(re)write the Soak section")
    mine = parser.parse_args(argv)
    args = chaos.parse_args([
        "--duration", str(min(mine.duration, 900)), "--workers", str(mine.workers),
        "--threads", str(mine.threads), "--seed", str(mine.seed), "--no-pg-restart",
        "--drop-share", "0", "--replay-share", "0.02", "--drain", "60",
        "--max-requests", "100000000",  # bounded by the duration alone (chaos stops at 200,000)
    ])  # fmt: skip
    args.duration = mine.duration  # chaos caps its own runs at 900 s; a soak is longer
    began, load_start = time.monotonic(), load_average()
    rng = random.Random(mine.seed)
    timed: list[tuple[float, float, int]] = []
    by_request: dict[str, list[tuple[float, float]]] = {}
    attempt = chaos.Client.attempt

    def timed_attempt(client: chaos.Client, call: chaos.Call, drop: bool = False):
        began = time.monotonic()
        label, answer = attempt(client, call, drop)
        took, at = time.monotonic() - began, client.w.now()
        status = int(label.split()[0]) if label[:3].isdigit() else 599  # transport error
        with client.w.lock:
            timed.append((at, took, status))
            by_request.setdefault(request_name(call), []).append((at, took))
        return label, answer

    chaos.Client.attempt = timed_attempt  # type: ignore[method-assign]
    chaos.say("[postgres] starting a throwaway cluster")
    cluster = chaos.start_cluster()
    server = projector = None
    try:
        secret = f"{rng.getrandbits(256):064x}"
        args.out.mkdir(parents=True, exist_ok=True)
        server = chaos.Server(cluster.url, secret, args, args.out / "soak_server.log")
        server.wait_ready()
        projector = chaos.Projector(cluster.url, args.out / "soak_projector.log")
        projector.start()
        w = chaos.World(args, server.port)
        chaos.setup_community(w, random.Random(rng.random()), args)
        timed.clear()
        by_request.clear()
        w.t0 = time.monotonic()
        w.load_end = w.t0 + args.duration
        w.drain_end = w.load_end + args.drain
        sampler = Sampler(w, server, projector, cluster)
        start_memory = sampler.sample()
        sampler.start()
        clients = [
            threading.Thread(target=chaos.Client(w, random.Random(rng.random())).run, daemon=True)
            for _ in range(args.threads)
        ]
        for thread in clients:
            thread.start()
        chaos.say(f"[load] {args.threads} client threads for {args.duration:g} s, no faults")
        shown = 0
        while time.monotonic() < w.load_end:
            time.sleep(1.0)
            minute = int(w.now() // 60)
            if minute > shown:
                shown = minute
                done = minutes_table([t for t in timed if t[0] < minute * 60], minute * 60)
                if not done:
                    continue
                row = done[-1]
                mem = sampler.memory[-1][1] if sampler.memory else {}
                workers = sum(v for k, v in mem.items() if k.startswith("worker"))
                chaos.say(
                    f"  minute {row['minute'] + 1}: {row['requests']} requests "
                    f"({row['per_s']:.0f}/s), p50 {row['p50']:.0f} ms, p99 "
                    f"{row['p99']:.0f} ms; workers {workers:.0f} MiB, projector "
                    f"{mem.get('projector', 0):.0f} MiB"
                )
        for thread in clients:
            thread.join(timeout=args.drain + 30)
        sampler.stop.set()
        load_s = args.duration
        end_memory = sampler.sample()
        caught, _ready = chaos.wait_caught_up(server, timeout=120)
        check = subprocess.run(
            [*chaos.goldbean_command(), "projections", "check", "--database-url", cluster.url],
            capture_output=True, text=True, env=chaos.clean_env(), check=False,
        )  # fmt: skip
        warm = next((m for at, m in sampler.memory if at >= 60), start_memory)
        rows = minutes_table(timed, load_s)
        growth = {
            name: end_memory.get(name, 0.0) - warm.get(name, 0.0)
            for name in end_memory
            if name != "postgres (all)"
        }
        over = {name: g for name, g in growth.items() if g > GROWTH_BOUND_MB}
        errors = sum(r["errors_5xx"] for r in rows)
        result = {
            "rows": rows, "start": start_memory, "warm": warm, "end": end_memory,
            "growth": growth, "over": over, "errors": errors, "caught_up": caught,
            "check_rc": check.returncode, "requests": len(timed),
            "took_min": (time.monotonic() - began) / 60, "load_start": load_start,
            "load_end": load_average(), "requests_by_name": slowing(by_request, load_s),
        }  # fmt: skip
        print_summary(result, args)
        (args.out / "soak.json").write_text(json.dumps(result, indent=1, default=str))
        if mine.write_docs:
            write_doc(section(result, args, sys.argv[1:] if argv is None else argv), START, END)
        ok = not over and errors == 0 and caught and check.returncode == 0
        return 0 if ok else 1
    finally:
        chaos.Client.attempt = attempt  # type: ignore[method-assign]
        if projector is not None:
            projector.stop()
        if server is not None:
            server.stop()
        cluster.stop()


def print_summary(r: dict, args: argparse.Namespace) -> None:
    chaos.say(f"[soak] {r['requests']:,} requests in {args.duration:g} s; 5xx: {r['errors']}")
    for name in r["end"]:
        chaos.say(
            f"  {name:<16} start {r['start'].get(name, 0):6.0f} MiB, warm "
            f"{r['warm'].get(name, 0):6.0f}, end {r['end'][name]:6.0f}"
        )
    chaos.say("  p50 / p99 ms, first vs last minutes of the load, slowest-growing first:")
    for row in r["requests_by_name"][:8]:
        chaos.say(
            f"    {row['request']:<44} {row['count']:>7,}  p50 {row['p50_first']:5.0f} -> "
            f"{row['p50_last']:5.0f}   p99 {row['p99_first']:5.0f} -> {row['p99_last']:5.0f}"
        )
    chaos.say(
        f"  projector caught up: {r['caught_up']}; projections check exit {r['check_rc']}; "
        f"over the {GROWTH_BOUND_MB} MiB bound: {r['over'] or 'none'}"
    )


def section(r: dict, args: argparse.Namespace, argv: list[str]) -> str:
    rows = r["rows"]
    facts = machine_facts(None, r["load_start"])
    lines = [
        f"## Soak run: steady mixed load ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gib']} GiB; Python "
        f"{facts['python']}, eventsourcing {facts['eventsourcing']}. Load average (1 min) at "
        f"start/end: {r['load_start']} / {r['load_end']}. Command: "
        f"`python bench/soak.py {' '.join(argv)}`.",
        "",
        f"The deployment and workload of the chaos run (`goldbean serve --workers "
        f"{args.workers} --threads {args.server_threads}`, a separate projector, PostgreSQL "
        f"in a throwaway cluster), {args.threads} client threads as fast as the server "
        f"answers, no faults, for {args.duration / 60:.0f} minutes: {r['requests']:,} "
        f"requests, {r['errors']} answered 5xx or lost their connection. Afterwards the "
        f"projector caught up: "
        f"{r['caught_up']}; `goldbean projections check` exit {r['check_rc']}.",
        "",
        "| minute | requests | per s | p50 ms | p95 ms | p99 ms | 5xx or lost |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['minute'] + 1} | {row['requests']:,} | {row['per_s']:.0f} | "
            f"{row['p50']:.0f} | {row['p95']:.0f} | {row['p99']:.0f} | "
            f"{row['errors_5xx']} |"
        )
    lines += [
        "",
        "Each kind of request at the start and at the end of the load (the first and the last "
        "3 minutes), the ones whose p99 grew most first:",
        "",
        "| request | count | p50 ms start → end | p99 ms start → end |",
        "|---|---:|---:|---:|",
    ]
    for row in r["requests_by_name"]:
        lines.append(
            f"| `{row['request']}` | {row['count']:,} | {row['p50_first']:.0f} → "
            f"{row['p50_last']:.0f} | {row['p99_first']:.0f} → {row['p99_last']:.0f} |"
        )
    lines += [
        "",
        f"Memory (VmRSS, MiB) at the start of the load, after the first minute (warm) and at "
        f"the end. The bound: no Goldbean process grows by more than {GROWTH_BOUND_MB} MiB "
        f"from warm to the end; {'met' if not r['over'] else 'NOT met: ' + str(r['over'])}.",
        "",
        "| process | start | warm | end | growth |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, end in r["end"].items():
        warm = r["warm"].get(name, 0.0)
        lines.append(
            f"| {name} | {r['start'].get(name, 0.0):.0f} | {warm:.0f} | {end:.0f} | "
            f"{end - warm:+.0f} |"
        )
    lines += ["", POSTGRES_NOTE]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
