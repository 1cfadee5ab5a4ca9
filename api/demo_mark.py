"""Which databases demo mode may use: only those the demo built.

Demo mode publishes a password (``goldbean-demo``) for staff sign-ins, binds sign-ins to
accounts and prints a till token and a card code. On a database with real data that
would hand the fund to anyone who read the README, so the demo claims a database only
while it is empty (no event, no user), by writing the mark ``built_by = demo`` into the
store's ``gb_marks`` table *before* it builds anything, and every later start in demo
mode checks that mark. A database without it that holds data is refused with
:class:`NotADemoDatabase`, before anything is written.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from api.store import Store, marks, users
from ledger.clock import Clock

log = logging.getLogger(__name__)

BUILT_BY = "built_by"
DEMO = "demo"


class NotADemoDatabase(Exception):
    """Raised when demo mode is asked to run on a database that holds data the demo did
    not build (events or users, and no demo mark)."""


def is_demo_database(store: Store) -> bool:
    """True if the demo claimed this database (it may still be empty)."""
    with store.read() as conn:
        value = conn.execute(select(marks.c.value).where(marks.c.name == BUILT_BY)).scalar()
    return value == DEMO


def claim_for_demo(store: Store, events: int, clock: Clock, where: str) -> None:
    """Let the demo use this database: one it built already, or an empty one, which it
    marks now. ``events`` is how many events the log holds; ``where`` names the database
    in the refusal.

    Raises NotADemoDatabase for a database with events or users and no demo mark."""
    with store.write() as conn:
        value = conn.execute(select(marks.c.value).where(marks.c.name == BUILT_BY)).scalar()
        if value == DEMO:
            return
        has_users = conn.execute(select(users.c.username).limit(1)).first() is not None
        if value is not None or events or has_users:
            raise NotADemoDatabase(
                f"{where} holds data that the demo did not build, and demo mode never runs "
                "on real data: unset GOLDBEAN_DEMO, or give the demo an empty database"
            )
        stmt = store.insert(marks).values(name=BUILT_BY, value=DEMO, recorded_at=clock.now())
        conn.execute(stmt.on_conflict_do_nothing())
    log.warning("demo mode: %s is now marked as the demo's database", where)
