"""``goldbean projections run|rebuild|check|status`` and ``goldbean audit export|verify``.

goldbean projections run [--poll SECONDS]   keep the read tables up to date (beside
                                            gunicorn; stop with Ctrl-C or SIGTERM); with
                                            GOLDBEAN_NOTIFY_WEBHOOK, also post the notices
                                            (api/notify.py)
goldbean projections rebuild                empty the read tables and replay the log
goldbean projections check                  compare every read table with a replay;
                                            exit 1 naming the first difference
goldbean projections status                 each projection's position and lag
goldbean audit export FILE                  the event log with chain values, JSON Lines
goldbean audit verify FILE [--reports SRC]  recompute the chain and every monthly
                                            report from FILE alone; compare them with
                                            the published ones (a URL or a directory)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.cli_notify import outbox_for
from api.cli_support import CliError, database_errors, load_settings
from api.context import make_runner
from api.settings import Settings
from api.store import Store
from ledger.application import Ledger
from ledger.persistence import open_ledger
from projections.audit_export import write_export
from projections.runner import Runner

EXPORT_BATCH = 5000


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    projections = commands.add_parser("projections", help="the read models (read tables)")
    verbs = projections.add_subparsers(dest="projections_command", metavar="COMMAND", required=True)
    run = verbs.add_parser("run", parents=[common], help="keep the read tables up to date")
    run.add_argument(
        "--poll", type=float, default=1.0, help="seconds between polls of the log (1.0)"
    )
    run.set_defaults(handler=projections_run)
    verbs.add_parser(
        "rebuild", parents=[common], help="empty the read tables and replay the whole log"
    ).set_defaults(handler=projections_rebuild)
    verbs.add_parser(
        "check", parents=[common], help="compare every read table with a replay of the log"
    ).set_defaults(handler=projections_check)
    verbs.add_parser(
        "status", parents=[common], help="each projection's position and lag"
    ).set_defaults(handler=projections_status)

    audit = commands.add_parser("audit", help="export and verify the audit chain")
    audit_verbs = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    export = audit_verbs.add_parser(
        "export", parents=[common], help="write the event log with chain values (JSON Lines)"
    )
    export.add_argument("file", type=Path, help="where to write the export")
    export.set_defaults(handler=audit_export)
    verify = audit_verbs.add_parser(
        "verify",
        parents=[common],
        help="recompute the chain and the monthly reports from an export",
    )
    verify.add_argument(
        "file",
        help="an export written by `goldbean audit export`, or a site's address "
        "(https://host): its public export and reports are downloaded, no sign-in needed",
    )
    verify.add_argument(
        "--reports",
        metavar="URL-or-DIR",
        help="the published reports: a server's base URL or a directory of YYYY-MM.json",
    )
    verify.set_defaults(handler=audit_verify)


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Settings, Ledger, Store, Runner]]:
    settings = load_settings(args, require_secret=False)
    url = settings.database_url
    if url.startswith("memory:"):
        raise CliError("memory:// keeps nothing between runs; give a SQLite or PostgreSQL URL")
    with database_errors(url):
        ledger = open_ledger(url, rules=settings.rules(), create_tables=False)
        store = Store(url)
        try:
            yield settings, ledger, store, make_runner(store, ledger)
        finally:
            store.close()
            ledger.close()


def _bar(total: int, what: str) -> tqdm:
    return tqdm(total=total, unit="event", unit_scale=True, desc=what, file=sys.stderr)


# --- projections ------------------------------------------------------------------------------


def projections_status(args: argparse.Namespace) -> int:
    with _opened(args) as (_, _ledger, _store, runner):
        statuses = runner.status()
    print(f"{'projection':<12} {'position':>12} {'log head':>12} {'lag':>10}  updated")
    for s in statuses:
        updated = s.updated_at.isoformat(timespec="seconds") if s.updated_at else "never"
        print(f"{s.name:<12} {s.position:>12,} {s.head:>12,} {s.lag:>10,}  {updated}")
    return 0


def projections_rebuild(args: argparse.Namespace) -> int:
    with _opened(args) as (_, _ledger, store, runner):
        store.create_tables()  # read tables added since `db init` (after an upgrade)
        head = runner.head()
        print(f"Rebuilding {', '.join(p.name for p in runner.projections)} from {head:,} events")
        with _bar(head, "rebuild") as bar:
            count = runner.rebuild(progress=bar.update)
    print(f"Rebuilt from {count:,} events.")
    return 0


def projections_check(args: argparse.Namespace) -> int:
    from projections.check import check

    with _opened(args) as (_, _ledger, _store, runner):
        positions = runner.positions()
        total = sum(positions.values())
        with _bar(total, "replay") as bar:
            differences = check(runner, progress=bar.update)
    if not differences:
        where = ", ".join(f"{name} at {position:,}" for name, position in positions.items())
        print(f"Every read table agrees with a replay of the log ({where}).")
        return 0
    print(f"The read tables differ from a replay of the log; first: {differences[0]}")
    for difference in differences[1:]:
        print(f"  also: {difference}")
    print("Run `goldbean projections rebuild` to rebuild them from the log.")
    return 1


def projections_run(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        print(f"goldbean projections: stopping ({signal.Signals(signum).name})", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with _opened(args) as (settings, ledger, store, runner):
        lag = max((s.lag for s in runner.status()), default=0)
        print(f"Projector running; {lag:,} events to catch up. Stop with Ctrl-C.", flush=True)
        outbox = outbox_for(settings, store, ledger.personal)
        sender = None
        if outbox is not None:  # the notices go out from here too (api/notify.py)
            sender = threading.Thread(target=outbox.run, args=(stop,), name="notify", daemon=True)
            sender.start()
            print("Posting notices to the configured webhook.", flush=True)
        runner.run(stop, poll_seconds=args.poll)
        if sender is not None:
            sender.join(timeout=30)
    return 0


# --- audit --------------------------------------------------------------------------------------


def audit_export(args: argparse.Namespace) -> int:
    """Write the whole log with its chain values (projections/audit_export.py), to a
    partial file first, so that an interrupted export never leaves a file that looks whole."""
    partial = args.file.with_name(args.file.name + ".partial")
    with _opened(args) as (settings, ledger, _store, runner):
        bar = _bar(runner.head(), "export")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with bar, partial.open("w", encoding="utf-8") as out:
            exported = write_export(
                out,
                runner,
                time_zone=settings.time_zone,
                bean_value_fen=settings.bean_value_fen,
                now=ledger.now,
                progress=progress,
            )
        os.replace(partial, args.file)
    print(f"Exported {exported.events:,} events to {args.file}.")
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    from projections.verifier import verify

    return verify(args.file, args.reports)
