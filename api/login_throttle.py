"""Sign-in throttling with growing delays, never a lock-out of the user everywhere.

Two subjects are counted for every sign-in attempt (rows of ``gb_login_attempts``):

* the pair (username, client address): :attr:`LoginThrottle.pair_free` failures pass
  freely, then each further failure makes the next attempt from that pair wait
  ``first_delay``, doubling per failure up to ``max_delay`` (1 s, 2 s, 4 s ... 15 min).
  An attacker hammering alice's password from one address slows down only that address's
  tries at alice: alice signing in from anywhere else is not held up;
* the address alone, across usernames, with many more free failures
  (:attr:`LoginThrottle.address_free`, default 100): it stops one machine from trying
  one password against every user, yet an office whose people all reach the server
  through one proxy address is only slowed down by a real attack, never locked out.

An IPv6 address counts by its /64 network (one household or host gets a whole /64).
A subject's count is forgotten after ``forget_after`` without a failure.

The attempt is counted *before* the password is checked: in one write transaction (a
row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) the subjects' rows are read, the
attempt is refused if one of them must still wait, and otherwise counted as a failure.
So 40 parallel guesses against a pair with 5 free failures get exactly 5 passwords
checked. A success then takes its attempt back: the pair is cleared, the address's count
goes down by one (a success never wipes an address's record: an attacker with an account
of their own could otherwise reset it). Refused attempts are not counted, so waiting out
a delay always works.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from api.store import Store, login_attempts

log = logging.getLogger(__name__)

_NEVER = datetime(2000, 1, 1, tzinfo=UTC)
MAX_ADDRESS = 100


class Throttled(Exception):
    """Raised when a sign-in attempt must wait; ``retry_after_seconds`` says how long."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed sign-ins; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


def address_key(address: str | None) -> str:
    """How an address is counted: IPv4 as it is, IPv6 by its /64, anything else as given
    (trimmed), a missing one as ``-``."""
    text = (address or "").strip()[:MAX_ADDRESS]
    if not text:
        return "-"
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class LoginThrottle:
    """Counts sign-in attempts on a :class:`~api.store.Store`; see the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        pair_free: int = 5,
        address_free: int = 100,
        first_delay: timedelta = timedelta(seconds=1),
        max_delay: timedelta = timedelta(minutes=15),
        forget_after: timedelta = timedelta(hours=1),
    ) -> None:
        if pair_free < 1 or address_free < 1:
            raise ValueError("the free failures must be at least 1")
        if not timedelta(0) < first_delay <= max_delay < forget_after:
            raise ValueError("need 0 < first_delay <= max_delay < forget_after")
        self.store = store
        self.pair_free = pair_free
        self.address_free = address_free
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.forget_after = forget_after

    def subjects(self, username: str | None, address: str | None) -> dict[str, int]:
        """The subjects an attempt counts against, each with its free failures. Without a
        well-formed ``username`` only the address counts."""
        where = address_key(address)
        found = {f"addr:{where}": self.address_free}
        if username:
            found[f"pair:{username}|{where}"] = self.pair_free
        return found

    def delay(self, failures: int, free: int) -> timedelta:
        """The wait before the next attempt after ``failures`` failures."""
        if failures < free:
            return timedelta(0)
        doublings = min(failures - free, 40)  # 2**40 s is past any cap
        return min(self.max_delay, self.first_delay * (2**doublings))

    def reserve(self, subjects: dict[str, int], now: datetime) -> None:
        """Count an attempt against every subject, or raise Throttled (counting nothing)
        when one of them must still wait. One transaction; rows locked in a fixed order."""
        with self.store.write() as conn:
            counts = {s: self._locked_count(conn, s, now) for s in sorted(subjects)}
            wait = max(until - now for _, until in counts.values())
            if wait > timedelta(0):
                raise Throttled(max(1, math.ceil(wait.total_seconds())))
            for subject, (failures, _) in counts.items():
                failures += 1
                conn.execute(
                    update(login_attempts)
                    .where(login_attempts.c.subject == subject)
                    .values(
                        failures=failures,
                        last_failure_at=now,
                        next_attempt_at=now + self.delay(failures, subjects[subject]),
                    )
                )

    def succeeded(self, subjects: dict[str, int]) -> None:
        """Take back the attempt that succeeded: clear the pair, lower the address by one."""
        with self.store.write() as conn:
            for subject in sorted(subjects):
                if subject.startswith("pair:"):
                    conn.execute(delete(login_attempts).where(login_attempts.c.subject == subject))
                    continue
                row = conn.execute(
                    select(login_attempts.c.failures, login_attempts.c.last_failure_at)
                    .where(login_attempts.c.subject == subject)
                    .with_for_update()
                ).first()
                if row is None:
                    continue
                failures = max(0, row.failures - 1)
                conn.execute(
                    update(login_attempts)
                    .where(login_attempts.c.subject == subject)
                    .values(
                        failures=failures,
                        next_attempt_at=row.last_failure_at
                        + self.delay(failures, subjects[subject]),
                    )
                )

    def purge(self, now: datetime) -> int:
        """Forget subjects without a failure for ``forget_after``; the rows deleted."""
        with self.store.write() as conn:
            return conn.execute(
                delete(login_attempts).where(
                    login_attempts.c.last_failure_at <= now - self.forget_after
                )
            ).rowcount

    def _locked_count(self, conn: Connection, subject: str, now: datetime) -> tuple[int, datetime]:
        """The subject's live failures and when its next attempt may be made, its row
        created if missing and locked until the transaction ends."""
        conn.execute(
            self.store.insert(login_attempts)
            .values(subject=subject, failures=0, last_failure_at=now, next_attempt_at=_NEVER)
            .on_conflict_do_nothing()
        )
        row = conn.execute(
            select(login_attempts).where(login_attempts.c.subject == subject).with_for_update()
        ).one()
        if now - row.last_failure_at >= self.forget_after:
            return 0, _NEVER
        return row.failures, row.next_attempt_at
