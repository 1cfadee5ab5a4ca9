"""The ledger application's machinery: persistence, time, retries, loading.

Command mixins (ledger/commands_*.py) build on :class:`LedgerCore`; ledger/application.py
puts them together as :class:`~ledger.application.Ledger`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import Environment

from ledger.accounts import Account, Beneficiary, Pool, Volunteer
from ledger.clock import Clock, SystemClock
from ledger.codes import Keyring
from ledger.errors import Conflict, NotFound, ValidationError
from ledger.fund import Fund
from ledger.ids import FUND_ID, POOL_ID
from ledger.index import LedgerIndex
from ledger.merchants import Merchant
from ledger.rules import Rules

log = logging.getLogger(__name__)

A = TypeVar("A")
T = TypeVar("T")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class LedgerCore(Application):
    """Infrastructure shared by every command: the clock, the rules, the signing keys,
    bounded optimistic retries, and typed loading of aggregates."""

    name = "Goldbean"
    # Accounts live long; a snapshot every 50 events keeps a command's cost flat.
    snapshotting_intervals = {Volunteer: 50, Beneficiary: 50, Merchant: 50, Pool: 50, Fund: 50}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        rules: Rules | None = None,
        keyring: Keyring | None = None,
        max_attempts: int = 30,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.rules = rules or Rules()
        self.calendar = self.rules.calendar
        self.keyring = keyring or Keyring.generate()
        self.max_attempts = max_attempts
        self.index = LedgerIndex(self)

    # The ledger is configured only by what it is given (ledger.persistence builds the
    # env from GOLDBEAN_DATABASE_URL); stray PERSISTENCE_* variables must not leak in.
    def construct_env(self, name: str, env: Any = None) -> Environment:
        values = dict(type(self).env)
        if type(self).snapshotting_intervals:
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        values.update(env or {})
        return Environment(name, values)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # --- time -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def day_of(self, at: datetime) -> str:
        return self.calendar.day(at)

    # --- running commands --------------------------------------------------------------

    def run(self, attempt: Callable[[], T], what: str) -> T:
        """Run ``attempt`` until it saves without a clash.

        ``attempt`` must load everything it needs afresh each time. A clash
        (IntegrityError) means another writer got to one of the same aggregates first,
        or created the same derived id; the next attempt sees what it wrote.
        """
        for number in range(1, self.max_attempts + 1):
            try:
                return attempt()
            except IntegrityError:
                if number == self.max_attempts:
                    log.warning("%s: still clashing after %d attempts", what, number)
                    raise Conflict(f"{what} clashed with concurrent changes; try again") from None
                # Full jitter, growing to ~50 ms: clashing writers spread out quickly.
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**number)))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- loading -----------------------------------------------------------------------

    def find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        """The aggregate with this id, or None; a TypeError-free check of its class."""
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def load(self, aggregate_id: object, cls: type[A], what: str) -> A:
        """The ``cls`` aggregate with this id; NotFound if there is none of that kind."""
        found = self.find(as_uuid(aggregate_id, what), cls)
        if found is None:
            raise NotFound(f"no {what} {aggregate_id}")
        return found

    def load_account(self, account_id: object, *kinds: type[Account]) -> Account:
        kinds = kinds or (Volunteer, Beneficiary)
        names = " or ".join(k.kind for k in kinds)
        return self.load(account_id, kinds, f"{names} account")  # type: ignore[arg-type]

    def load_or_open_pool(self, at: datetime) -> Pool:
        pool = self.find(POOL_ID, Pool)
        return pool or Pool._create(
            Pool.Opened, id=POOL_ID, timestamp=at, display_name="pool", number=None
        )

    def load_or_open_fund(self, at: datetime) -> Fund:
        fund = self.find(FUND_ID, Fund)
        return fund or Fund._create(Fund.Opened, id=FUND_ID, timestamp=at)


def as_uuid(value: object, what: str = "id") -> UUID:
    """Parse an id given by a caller; NotFound for anything that is not a UUID."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound(f"no {what} {value!r}") from None


def check_text(
    value: object, what: str, *, max_length: int = 500, required: bool = True
) -> str | None:
    """Trimmed text from a caller, or ValidationError."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationError(f"{what} is required")
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError(f"{what} is longer than {max_length} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValidationError(f"{what} contains control characters")
    return text or None
