"""``goldbean serve``: the API under gunicorn.

The master prepares the database once (tables, and the demo community in demo mode)
*before* any worker starts, because several processes creating PostgreSQL tables at once
fail with "tuple concurrently updated"; workers then open the ledger without creating
anything. Workers are gunicorn's threaded workers: a request mostly waits on the database,
so a few threads per process keep the 2 cores busy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from api.auth import Auth
from api.context import make_runner
from api.demo_mark import claim_for_demo
from api.settings import Settings
from api.store import Store
from ledger.clock import SystemClock
from ledger.persistence import init_db, open_ledger, redact

log = logging.getLogger(__name__)


class GoldbeanServer(BaseApplication):
    """gunicorn running ``api.app.create_app(config)`` in each worker."""

    def __init__(self, config: Mapping[str, Any], options: Mapping[str, Any]) -> None:
        self.app_config = dict(config)
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Callable:
        from api.app import create_app  # in the worker, after the fork

        app = create_app(self.app_config)
        if self.app_config.get("demo"):
            start_projector(app)
        return app


def start_projector(app: Any) -> threading.Thread:
    """Keep the read models up to date from a thread of this worker (the demo server's
    in-process projector; production runs ``goldbean projections run`` beside gunicorn).
    Several workers doing so is safe: a batch is applied by exactly one of them."""
    from api.context import runner_of

    runner = runner_of(app)
    stop = threading.Event()
    thread = threading.Thread(
        target=runner.run, args=(stop,), name="goldbean-projector", daemon=True
    )
    thread.start()
    app.extensions["goldbean.projector_stop"] = stop
    return thread


def prepare_database(settings: Settings, *, say: Callable[[str], None] = print) -> None:
    """Create the tables once, create the admin from ``GOLDBEAN_ADMIN_PASSWORD`` if there
    is none, and in demo mode build the demo into an empty database.

    In demo mode, raises NotADemoDatabase before writing anything when the database holds
    data that the demo did not build (:mod:`api.demo_mark`)."""
    url = settings.database_url
    if not url.startswith("memory:"):
        init_db(url)
    store = Store(url)
    try:
        store.create_tables()
        if settings.demo:
            _claim_for_demo(settings, store)
        if settings.admin_password and Auth(store, SystemClock()).bootstrap_admin(
            settings.admin_password
        ):
            say("Created the user 'admin' from GOLDBEAN_ADMIN_PASSWORD.")
    finally:
        store.close()
    if not settings.demo:
        return
    from api.demo import build_demo, demo_clock
    from api.demo_summary import summarize
    from api.demo_users import create_demo_users, format_logins

    clock = demo_clock()
    ledger = open_ledger(url, clock=clock, rules=settings.rules(), keyring=settings.keyring())
    store = Store(url)
    try:
        if (ledger.recorder.max_notification_id() or 0) == 0:
            say(f"Building the demo community into {redact(url)} ...")
            build_demo(ledger, clock, progress=lambda line: say(f"  {line}"))
        summary = summarize(ledger)
        say(summary.format())
        caught_up = make_runner(store, ledger).catch_up()
        if caught_up:
            say(f"Read models brought up to date with {caught_up:,} events.")
        auth = Auth(store, SystemClock())
        say(format_logins(create_demo_users(auth, summary)))
        if summary.merchant:
            _, token = auth.create_terminal(summary.merchant.id, "demo till")
            say(
                f"POS page: /pos; sign in as {summary.merchant.name}'s till with the "
                f"terminal token {token} (a new one at each start)."
            )
    finally:
        store.close()
        ledger.close()


def _claim_for_demo(settings: Settings, store: Store) -> None:
    """Refuse (NotADemoDatabase) a database with data the demo did not build; mark an
    empty one as the demo's."""
    ledger = open_ledger(settings.database_url, create_tables=False)
    try:
        events = ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()
    claim_for_demo(store, events, SystemClock(), redact(settings.database_url))


def serve(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    host: str,
    port: int,
    workers: int,
    threads: int = 4,
) -> None:
    """Prepare the database, then run gunicorn until it is stopped."""
    prepare_database(settings)
    print(
        f"Goldbean on http://{host}:{port}/ (the pages; sign in at /login), the API at "
        f"http://{host}:{port}/api/v1/ (interactive docs: http://{host}:{port}/api/docs); "
        f"database {redact(settings.database_url)}. "
        "Stop with Ctrl-C.",
        flush=True,
    )
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,  # api.app logs one structured line per request
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "goldbean",
    }
    GoldbeanServer(config, options).run()
