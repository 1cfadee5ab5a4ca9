"""What a request reaches through the app: the bottom floor of ``api/``.

``create_app`` (the composition root, api/app.py) builds the ledger, the stores and the
projection runner once and keeps them in ``app.extensions``; endpoints, pages and the
command-line tool reach them only through these accessors, so no module needs the app
factory itself. This module imports nothing from the floors above it (endpoints, pages,
the app).

:func:`reading` gives a connection to the read tables. With ``projections_inline`` (the
default) it first applies the events recorded since the last read, so a client reads
its own writes; a deployment with ``goldbean projections run`` beside the server can turn
that off and read whatever the projector has reached (``/readyz`` shows the lag).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import Connection

from api.settings import Settings
from api.store import Store
from ledger.application import Ledger
from projections.runner import Runner, default_projections

if TYPE_CHECKING:  # the types only: auth and idempotency sit on this floor's level too
    from api.auth import Auth
    from api.idempotency import IdempotencyStore
    from api.jobs import Jobs

LEDGER = "goldbean.ledger"
SETTINGS = "goldbean.settings"
STORE = "goldbean.store"
PROJECTIONS = "goldbean.projections"
AUTH = "goldbean.auth"
IDEMPOTENCY = "goldbean.idempotency"
JOBS = "goldbean.jobs"


def ledger_of(app: Flask | None = None) -> Ledger:
    return (app or current_app).extensions[LEDGER]


def settings_of(app: Flask | None = None) -> Settings:
    return (app or current_app).extensions[SETTINGS]


def store_of(app: Flask | None = None) -> Store:
    """The plain tables beside the log (users, tokens, idempotency keys, read tables)."""
    return (app or current_app).extensions[STORE]


def auth_of(app: Flask | None = None) -> Auth:
    return (app or current_app).extensions[AUTH]


def idempotency_of(app: Flask | None = None) -> IdempotencyStore:
    return (app or current_app).extensions[IDEMPOTENCY]


def jobs_of(app: Flask | None = None) -> Jobs:
    """Long work run beside the requests, with its progress (api/jobs.py)."""
    return (app or current_app).extensions[JOBS]


def runner_of(app: Flask | None = None) -> Runner:
    return (app or current_app).extensions[PROJECTIONS]


def make_runner(store: Store, ledger: Ledger) -> Runner:
    """The projections of ``ledger``'s log, kept in ``store``'s database."""
    return Runner(
        store,
        ledger.recorder,
        ledger.mapper.transcoder,
        default_projections(ledger.calendar, ledger.personal),
    )


@contextmanager
def reading() -> Iterator[Connection]:
    """A read transaction on the read tables, caught up first when inline."""
    app = current_app
    if settings_of(app).projections_inline:
        runner_of(app).catch_up()
    with store_of(app).read() as conn:
        yield conn
