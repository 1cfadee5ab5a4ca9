"""The ``goldbean`` command-line tool.

    goldbean db init [--database-url URL]           create the ledger's tables once
    goldbean demo [--database-url URL] [--seed N] [--force]
                                                    build the demo community into an empty
                                                    database and print its summary
    goldbean serve [--host H] [--port P] [--workers N] [--threads T]
                                                    run the HTTP API under gunicorn
    goldbean projections run|rebuild|check|status   the read models (api/cli_projections.py)
    goldbean audit export FILE | verify FILE-or-SITE [--reports URL-or-DIR]
                                                    the audit chain and the reports' check
    goldbean people erase ACCOUNT_ID --requested-by NAME --approved-by NAME
                                                    erase a person's personal data
    goldbean people import FILE [--valid-rows-only] [--dry-run] | export FILE
                                                    the roster (api/cli_people.py)
    goldbean allotments run [--period YYYY-MM]      the month's allotment, once per
                                                    beneficiary (what a timer or cron runs)
    goldbean notify run [--once] | status           post the notices to the webhook
                                                    (api/cli_notify.py)
    goldbean --version

Settings come from api/settings.py (defaults < ``GOLDBEAN_*`` environment < options given
here). Exit status: 0 done, 1 error (one line on stderr; ``--log-level DEBUG`` logs the
detail), 2 usage error. Nothing happens at import time.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from importlib import metadata
from pathlib import Path

from eventsourcing.persistence import PersistenceError

from api import cli_notify, cli_people
from api.cli_projections import add_commands
from api.cli_support import CliError, database_errors, load_settings, one_line
from api.demo_mark import NotADemoDatabase, claim_for_demo
from api.settings import LOG_LEVELS, SettingsError
from ledger.errors import LedgerError
from ledger.persistence import env_for_url, init_db, open_ledger, redact
from ledger.views import Actor

log = logging.getLogger(__name__)


# Errors a person can cause and fix: a one-line message, no traceback.
EXPECTED = (
    CliError,
    NotADemoDatabase,
    SettingsError,
    LedgerError,
    PersistenceError,
    sqlite3.Error,
    OSError,
)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help and --version exit 0; usage errors exit 2
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("goldbean: interrupted", file=sys.stderr)
        return 130
    except EXPECTED as error:
        log.debug("goldbean %s failed", args.command, exc_info=True)
        print(f"goldbean: error: {one_line(error)}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        help="where the ledger lives (default: $GOLDBEAN_DATABASE_URL, "
        "else sqlite:///var/goldbean.sqlite3)",
    )
    common.add_argument(
        "--log-level",
        metavar="LEVEL",
        type=str.upper,
        choices=LOG_LEVELS,
        help="logging level (default: $GOLDBEAN_LOG_LEVEL, else INFO)",
    )

    parser = argparse.ArgumentParser(
        prog="goldbean", description="Goldbean (金豆): a points ledger for community volunteering."
    )
    parser.add_argument("--version", action="version", version=f"goldbean {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    init = db_commands.add_parser(
        "init", parents=[common], help="create the ledger's tables (once, before any worker starts)"
    )
    init.set_defaults(handler=db_init)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="build the demo community into an empty database",
        description="Build a demo community with three months of history into an empty "
        "database and print its summary. If the database already holds events, "
        "print the summary of what is there instead (never a second demo).",
    )
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.add_argument(
        "--force",
        action="store_true",
        help="insist on a fresh demo: fail instead of showing the existing "
        "data when the database is not empty",
    )
    demo.set_defaults(handler=demo_command)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the HTTP API under gunicorn",
        description="Create the tables once (and in demo mode build the demo into an empty "
        "database), then serve the API with gunicorn until stopped.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    serve.set_defaults(handler=serve_command)

    people = commands.add_parser("people", help="the roster, and personal data kept beside the log")
    people_commands = people.add_subparsers(dest="people_command", metavar="COMMAND", required=True)
    erase = people_commands.add_parser(
        "erase",
        parents=[common],
        help="erase a volunteer's or beneficiary's personal data (two people)",
        description="Delete the person's name, account number, card and PIN verifier from "
        "the personal-data store on request (PIPL). The account and its entries stay, so "
        "the books still add up and verify. One person asks, another approves: both are "
        "named, and must differ.",
    )
    erase.add_argument("account_id", help="the volunteer's or beneficiary's account id")
    erase.add_argument("--requested-by", required=True, metavar="NAME", help="who asked")
    erase.add_argument("--approved-by", required=True, metavar="NAME", help="who approves")
    erase.set_defaults(handler=people_erase)
    cli_people.add_commands(people_commands, common)

    allotments = commands.add_parser("allotments", help="the beneficiaries' monthly allotment")
    allotment_commands = allotments.add_subparsers(
        dest="allotments_command", metavar="COMMAND", required=True
    )
    run = allotment_commands.add_parser(
        "run",
        parents=[common],
        help="grant the month's allotment to every beneficiary who has not had it",
        description="Grant the allotment amount of the programme's rules to every "
        "beneficiary who has not yet received it for the month (default: the current "
        "month), recorded as by the scheduler. Running it again grants only what is "
        "missing, so a daily timer gives a beneficiary who joined during the month that "
        "month's allotment the next day (docs/OPERATIONS.md).",
    )
    run.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="the month (default: the current one; the previous one only in the first "
        "days of a month, when the rules allow it)",
    )
    run.set_defaults(handler=allotments_run)

    add_commands(commands, common)
    cli_notify.add_commands(commands, common)
    return parser


# --- commands ---------------------------------------------------------------------------


def db_init(args: argparse.Namespace) -> int:
    settings = load_settings(args, require_secret=False)  # db init signs nothing
    url = settings.database_url
    if url.startswith("memory:"):
        print("memory:// keeps nothing between runs; there are no tables to create.")
        return 0
    with database_errors(url):
        created_schema = _prepare_database(url)
        init_db(url)
        _create_store_tables(url)
        events = _count_events(url)
    if created_schema:
        print(f"Created the schema {created_schema!r}.")
    print(
        f"The ledger's tables are ready at {_where(url)} (created if missing); "
        f"it holds {events:,} events."
    )
    return 0


def people_erase(args: argparse.Namespace) -> int:
    settings = load_settings(args, require_secret=False)
    url = settings.database_url
    if url.startswith("memory:"):
        raise CliError("memory:// keeps nothing between runs; give a SQLite or PostgreSQL URL")
    if args.requested_by == args.approved_by:
        raise CliError("an erasure is asked for by one person and approved by another")
    with database_errors(url):
        ledger = open_ledger(url, rules=settings.rules(), create_tables=False)
        try:
            ledger.request_erasure(args.account_id, Actor(args.requested_by))
            erased = ledger.approve_erasure(args.account_id, Actor(args.approved_by))
        finally:
            ledger.close()
    print(
        f"Erased the personal data of {erased.kind} account {erased.id} "
        f"(asked by {args.requested_by}, approved by {args.approved_by}); "
        f"its {erased.balance:,} beans and its entries stay in the books."
    )
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from api.demo import build_demo, demo_clock  # the demo's data, only when asked
    from api.demo_summary import summarize

    settings = load_settings(args, demo=True)
    url = settings.database_url
    memory = url.startswith("memory:")
    clock = demo_clock()
    with database_errors(url):
        if not memory:
            _prepare_database(url)
            init_db(url)
        ledger = open_ledger(
            url,
            clock=clock,
            rules=settings.rules(),
            keyring=settings.keyring(),
            create_tables=memory,
        )
    try:
        with database_errors(url):
            events = ledger.recorder.max_notification_id() or 0
            if not memory:  # refuse real data before showing or building anything
                _claim_store_for_demo(url, events)
        if events:
            if args.force:
                raise CliError(
                    f"{_where(url)} already holds {events:,} events, and a demo is only ever built "
                    "into an empty database: delete the file (or use another schema or database) "
                    "and run again"
                )
            print(
                f"{_where(url)} already holds {events:,} events, so no demo is built into it "
                "(a fresh demo needs an empty database). What it holds:"
            )
            print(summarize(ledger).format())
            return 0
        print(f"Building the demo community into {_where(url)} (seed {args.seed}) ...", flush=True)
        started = time.perf_counter()
        summary = build_demo(
            ledger, clock, seed=args.seed, progress=lambda line: print(f"  {line}", flush=True)
        )
        print(f"Built in {time.perf_counter() - started:.1f} s.")
        print(summary.format())
        return 0
    finally:
        ledger.close()


def allotments_run(args: argparse.Namespace) -> int:
    settings = load_settings(args, require_secret=False)  # grants sign nothing
    url = settings.database_url
    if url.startswith("memory:"):
        raise CliError("memory:// keeps nothing between runs; give a SQLite or PostgreSQL URL")
    with database_errors(url):
        ledger = open_ledger(url, rules=settings.rules(), create_tables=False)
        try:
            run = ledger.run_scheduled_allotments(args.period)
        finally:
            ledger.close()
    beans = run.total // run.granted if run.granted else 0
    print(
        f"Allotments for {run.period}: {run.granted:,} beneficiaries granted "
        f"{run.total:,} beans"
        + (f" ({beans:,} each)" if run.granted else "")
        + f"; {run.skipped:,} already had it."
    )
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from api.serve import serve  # gunicorn only when serving

    settings = load_settings(args)
    if settings.database_url.startswith("memory:"):
        raise CliError(
            "serve needs a database that several processes share: memory:// lives "
            "in one process (use sqlite:///… or postgresql://…)"
        )
    # Every worker must sign with the same keys: hand them the master's settings (in demo
    # mode the secret is drawn once, here), not a fresh load each.
    config = {
        "database_url": settings.database_url,
        "demo": settings.demo,
        "secret_key": settings.secret_key,
        "payment_code_keys": ",".join(settings.payment_code_keys),
    }
    if args.workers < 1 or args.threads < 1 or not 0 < args.port < 65536:
        raise CliError("--workers and --threads must be at least 1, --port 1 to 65535")
    with database_errors(settings.database_url):
        _prepare_database(settings.database_url)
    serve(
        settings, config, host=args.host, port=args.port, workers=args.workers, threads=args.threads
    )
    return 0


# --- helpers ----------------------------------------------------------------------------


def _prepare_database(url: str) -> str | None:
    """Check that a PostgreSQL server answers (with the driver's own reason if not) and
    create the URL's ``?schema=`` if it is missing; return the schema created, if any."""
    env = env_for_url(url)
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return None
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise CliError("PostgreSQL needs psycopg: pip install -e '.[postgres]'") from None
    schema = env.get("POSTGRES_SCHEMA")
    try:
        with psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
            autocommit=True,
        ) as conn:
            if not schema:
                return None
            found = conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
            ).fetchone()
            if found:
                return None
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            return schema
    except psycopg.Error as error:
        raise CliError(f"cannot use PostgreSQL at {redact(url)}: {one_line(error)}") from error


def _create_store_tables(url: str) -> None:
    """The API's own tables (users, tokens, idempotency keys) beside the event log."""
    from api.store import Store

    store = Store(url)
    try:
        store.create_tables()
    finally:
        store.close()


def _claim_store_for_demo(url: str, events: int) -> None:
    """The demo's mark on an empty database; NotADemoDatabase on real data."""
    from api.store import Store
    from ledger.clock import SystemClock

    store = Store(url)
    try:
        store.create_tables()
        claim_for_demo(store, events, SystemClock(), _where(url))
    finally:
        store.close()


def _count_events(url: str) -> int:
    ledger = open_ledger(url, create_tables=False)
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def _where(url: str) -> str:
    """The URL without its password; for SQLite, also the file it names."""
    if url.startswith("sqlite:///"):
        path = env_for_url(url)["SQLITE_DBNAME"]
        if path != ":memory:" and not Path(path).is_absolute():
            return f"{url} ({Path(path).resolve()})"
    return redact(url)


def _version() -> str:
    try:
        return metadata.version("goldbean")
    except metadata.PackageNotFoundError:
        return "unknown"
