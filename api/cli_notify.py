"""``goldbean notify run|status``: posting the notices to the community's webhook
(api/notify.py, docs/OPERATIONS.md "Notices").

    goldbean notify run [--once] [--poll SECONDS]   post the notices whose time has come,
                                                    until stopped (or one round with
                                                    --once); needs GOLDBEAN_NOTIFY_WEBHOOK
    goldbean notify status                          how many are pending, delivered, expired

``goldbean projections run`` also posts them, in a thread of its own, when the webhook is
configured: run one or the other (running both is safe, only wasteful).
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import timedelta
from typing import Any

from api.cli_support import CliError, database_errors, load_settings
from api.notify import Outbox, Webhook
from api.settings import Settings
from api.store import Store
from ledger.persistence import open_ledger
from ledger.personal import PersonalData


def outbox_for(settings: Settings, store: Store, people: PersonalData | None) -> Outbox | None:
    """The outbox posting to the configured webhook (None when none is configured)."""
    if not settings.notify_webhook:
        return None
    return Outbox(
        store,
        Webhook(settings.notify_webhook),
        people,
        include_phone=settings.notify_include_phone,
        max_age=timedelta(hours=settings.notify_max_age_hours),
    )


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    notify = commands.add_parser("notify", help="post the notices to the community's webhook")
    verbs = notify.add_subparsers(dest="notify_command", metavar="COMMAND", required=True)
    run = verbs.add_parser(
        "run", parents=[common], help="post the notices due (GOLDBEAN_NOTIFY_WEBHOOK)"
    )
    run.add_argument("--once", action="store_true", help="one round, then exit")
    run.add_argument("--poll", type=float, default=5.0, help="seconds between rounds (5.0)")
    run.set_defaults(handler=notify_run)
    verbs.add_parser(
        "status", parents=[common], help="how many notices are pending, delivered, expired"
    ).set_defaults(handler=notify_status)


def _open(args: argparse.Namespace) -> tuple[Settings, Any, Store]:
    settings = load_settings(args, require_secret=False)
    url = settings.database_url
    if url.startswith("memory:"):
        raise CliError("memory:// keeps nothing between runs; give a SQLite or PostgreSQL URL")
    with database_errors(url):
        ledger = open_ledger(url, rules=settings.rules(), create_tables=False)
    return settings, ledger, Store(url)


def notify_run(args: argparse.Namespace) -> int:
    settings, ledger, store = _open(args)
    try:
        outbox = outbox_for(settings, store, ledger.personal)
        if outbox is None:
            raise CliError("no webhook: set GOLDBEAN_NOTIFY_WEBHOOK to the gateway's address")
        with database_errors(settings.database_url):
            if args.once:
                done = outbox.deliver_due(limit=10_000)
                print(
                    f"Delivered {done.delivered}, failed {done.failed} (retried later), "
                    f"expired {done.expired}."
                )
                return 0
            stop = threading.Event()

            def _stop(signum: int, _frame: Any) -> None:
                print(f"goldbean notify: stopping ({signal.Signals(signum).name})", flush=True)
                stop.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            print("Posting notices; stop with Ctrl-C.", flush=True)
            outbox.run(stop, poll_seconds=args.poll)
        return 0
    finally:
        store.close()
        ledger.close()


def notify_status(args: argparse.Namespace) -> int:
    settings, ledger, store = _open(args)
    try:
        with database_errors(settings.database_url):
            counts = Outbox(store, Webhook("http://unused.invalid")).counts()
        print(
            f"pending {counts['pending']:,}  delivered {counts['delivered']:,}  "
            f"expired {counts['expired']:,}"
        )
        if not settings.notify_webhook:
            print("No webhook is configured (GOLDBEAN_NOTIFY_WEBHOOK): nothing is posted.")
        return 0
    finally:
        store.close()
        ledger.close()
