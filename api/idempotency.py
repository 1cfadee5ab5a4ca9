"""Idempotency-Key handling (SPEC §6), stored durably in ``gb_idempotency``.

A request with a key first calls :meth:`IdempotencyStore.begin`:

* :class:`Proceed` -- this request claimed the key (it inserted the pending row): run it,
  then :meth:`~IdempotencyStore.complete` with the response, or
  :meth:`~IdempotencyStore.release` if it failed in a way a retry should repeat (5xx);
* :class:`Replay` -- the key was completed earlier for the same request: answer the stored
  status and body again without doing anything;
* :class:`Mismatch` -- the key was used for a different request: ``422
  idempotency_key_reused``;
* :class:`InProgress` -- another request holds the key and did not finish within
  ``wait_seconds``: ``409 conflict`` (the client retries later).

The primary key ``(scope, key)`` decides who claims a key: two simultaneous requests both
``INSERT ... ON CONFLICT DO NOTHING``; exactly one row is inserted (PostgreSQL makes the
second insert wait for the first transaction; SQLite serializes writers), and the other
request polls until the winner completes. ``scope`` is the caller (a user or a terminal),
so two callers never share keys; ``request_hash`` is the caller's digest of the request
(method, path and body).

A claim is a lease its worker keeps alive: while the request runs, a heartbeat thread
of the worker renews the claim's ``created_at`` every ``heartbeat_seconds`` (one UPDATE
for all the worker's claims in flight). A worker killed mid-request (SIGKILL, OOM, a
machine that dies) stops renewing, and a claim not renewed for ``stale_after`` (4 s) is
taken over by the next request with the key, at once: a till's retry gets its answer
within seconds, never minutes. ``409 conflict`` therefore means the first request is
really still running. The ledger's records derived from the key still stop a double
effect when a request that had committed is run again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Row, delete, select, update

from api.store import Store, idempotency
from ledger.clock import Clock

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
#: consecutive failed renewals after which a worker lets its claims die (its requests
#: cannot complete without the database either)
MAX_RENEWAL_FAILURES = 10


@dataclass(frozen=True)
class Proceed:
    """This request claimed the key: run it, then complete or release the key."""


@dataclass(frozen=True)
class Replay:
    """The key was completed for the same request: answer ``status`` and ``body``."""

    status: int
    body: str


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request (422 idempotency_key_reused)."""


@dataclass(frozen=True)
class InProgress:
    """Another request holds the key and has not finished yet (409 conflict)."""


Decision = Proceed | Replay | Mismatch | InProgress


def check_key(key: str) -> None:
    """Raise ValueError unless ``key`` is 1 to 255 visible ASCII characters."""
    if (
        not isinstance(key, str)
        or not 1 <= len(key) <= MAX_KEY_LENGTH
        or not all("!" <= ch <= "~" for ch in key)
    ):
        raise ValueError(f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} visible ASCII characters")


class IdempotencyStore:
    """Claims, results and replays of Idempotency-Keys on a :class:`~api.store.Store`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        wait_seconds: float = 8.0,
        poll_seconds: float = 0.05,
        ttl: timedelta = timedelta(days=2),
        stale_after: timedelta = timedelta(seconds=4),
        heartbeat_seconds: float = 1.0,
    ) -> None:
        if heartbeat_seconds * 2 >= stale_after.total_seconds():
            raise ValueError("the heartbeat must renew a claim well within stale_after")
        self.store = store
        self.clock = clock
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.ttl = ttl
        self.stale_after = stale_after
        self.heartbeat_seconds = heartbeat_seconds
        self._held: set[tuple[str, str]] = set()  # this process's claims in flight
        self._held_lock = threading.Lock()
        self._beating_in: int | None = None  # the pid whose heartbeat thread runs

    def begin(self, scope: str, key: str, request_hash: str) -> Decision:
        """Claim ``key`` for this request or learn what became of it (see the module).
        Waits up to ``wait_seconds`` (real time) for a request in progress to finish.
        Raises ValueError for a malformed key."""
        check_key(key)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self._claim(scope, key, request_hash):
                self._hold(scope, key)
                return Proceed()
            with self.store.read() as conn:
                row = conn.execute(
                    select(idempotency).where(
                        idempotency.c.scope == scope, idempotency.c.key == key
                    )
                ).first()
            if row is None:  # released or purged since our insert failed: try again
                continue
            if row.request_hash != request_hash:
                return Mismatch()
            if row.status is not None:
                return Replay(row.status, row.response_body or "")
            if self.clock.now() - row.created_at >= self.stale_after and self._take_over(row):
                log.warning("idempotency key of %s taken over from a dead claim", scope)
                self._hold(scope, key)
                return Proceed()
            if time.monotonic() >= deadline:
                return InProgress()
            time.sleep(self.poll_seconds)

    def complete(self, scope: str, key: str, status: int, body_text: str) -> None:
        """Store the response of the request that claimed ``key``, for replays."""
        self._let_go(scope, key)
        with self.store.write() as conn:
            done = conn.execute(
                update(idempotency)
                .where(
                    idempotency.c.scope == scope,
                    idempotency.c.key == key,
                    idempotency.c.status.is_(None),
                )
                .values(status=status, response_body=body_text, completed_at=self.clock.now())
            ).rowcount
        if not done:
            log.warning("idempotency key of %s was no longer pending at completion", scope)

    def release(self, scope: str, key: str) -> None:
        """Drop a pending claim (the request failed, say with a 5xx), so a retry runs."""
        self._let_go(scope, key)
        with self.store.write() as conn:
            conn.execute(
                delete(idempotency).where(
                    idempotency.c.scope == scope,
                    idempotency.c.key == key,
                    idempotency.c.status.is_(None),
                )
            )

    def purge(self) -> int:
        """Delete keys created more than ``ttl`` ago; returns how many."""
        with self.store.write() as conn:
            return conn.execute(
                delete(idempotency).where(idempotency.c.created_at < self.clock.now() - self.ttl)
            ).rowcount

    def _claim(self, scope: str, key: str, request_hash: str) -> bool:
        stmt = (
            self.store.insert(idempotency)
            .values(scope=scope, key=key, request_hash=request_hash, created_at=self.clock.now())
            .on_conflict_do_nothing()
            .returning(idempotency.c.key)  # (rowcount of a Core INSERT is -1 on psycopg)
        )
        with self.store.write() as conn:
            return conn.execute(stmt).first() is not None

    def _take_over(self, row: Row) -> bool:
        """Restart a stale pending claim as ours, unless someone else did just now."""
        with self.store.write() as conn:
            return (
                conn.execute(
                    update(idempotency)
                    .where(
                        idempotency.c.scope == row.scope,
                        idempotency.c.key == row.key,
                        idempotency.c.status.is_(None),
                        idempotency.c.created_at == row.created_at,
                    )
                    .values(created_at=self.clock.now())
                ).rowcount
                == 1
            )

    # --- the heartbeat ----------------------------------------------------------------

    def _hold(self, scope: str, key: str) -> None:
        with self._held_lock:
            self._held.add((scope, key))
            if self._beating_in != os.getpid():  # first claim here, or a forked worker
                self._beating_in = os.getpid()
                threading.Thread(
                    target=self._beat, name="idempotency-heartbeat", daemon=True
                ).start()

    def _let_go(self, scope: str, key: str) -> None:
        with self._held_lock:
            self._held.discard((scope, key))

    def _beat(self) -> None:
        """Renew this process's claims in flight; stop when none is left (the next claim
        starts the heartbeat again)."""
        pid, failures = os.getpid(), 0
        while True:
            time.sleep(self.heartbeat_seconds)
            with self._held_lock:
                held = list(self._held)
                if not held or self._beating_in != pid:
                    self._beating_in = None
                    return
            try:
                self.renew(held)
                failures = 0
            except Exception as error:  # a database outage: the next beat tries again
                failures += 1
                log.warning("could not renew %d idempotency claims: %s", len(held), error)
                if failures >= MAX_RENEWAL_FAILURES:  # the store is gone: the claims die
                    with self._held_lock:
                        self._held.clear()
                        self._beating_in = None
                    return

    def renew(self, held: list[tuple[str, str]]) -> int:
        """Mark these pending claims as alive now; returns how many were still pending."""
        now = self.clock.now()
        renewed = 0
        with self.store.write() as conn:
            for scope, key in held:
                renewed += conn.execute(
                    update(idempotency)
                    .where(
                        idempotency.c.scope == scope,
                        idempotency.c.key == key,
                        idempotency.c.status.is_(None),
                    )
                    .values(created_at=now)
                ).rowcount
        return renewed
