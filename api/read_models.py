"""The API's access to the read models of ``projections/``.

:func:`reading` gives a connection to the read tables. With ``projections_inline`` (the
default) it first applies the events recorded since the last read, so a client reads
its own writes; a deployment with ``goldbean projections run`` beside the server can turn
that off and read whatever the projector has reached (``/readyz`` shows the lag).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Connection

from api.settings import Settings
from api.store import Store
from ledger.application import Ledger
from projections.runner import Runner, default_projections


def make_runner(store: Store, ledger: Ledger) -> Runner:
    """The projections of ``ledger``'s log, kept in ``store``'s database."""
    return Runner(
        store, ledger.recorder, ledger.mapper.transcoder, default_projections(ledger.calendar)
    )


def runner_of(app: Flask | None = None) -> Runner:
    return (app or current_app).extensions["goldbean.projections"]


@contextmanager
def reading() -> Iterator[Connection]:
    """A read transaction on the read tables, caught up first when inline."""
    app = current_app
    settings: Settings = app.extensions["goldbean.settings"]
    if settings.projections_inline:
        runner_of(app).catch_up()
    store: Store = app.extensions["goldbean.store"]
    with store.read() as conn:
        yield conn
