"""The ledger application's machinery: persistence, time, retries, loading.

Command mixins (ledger/commands_*.py) build on :class:`LedgerCore`; ledger/application.py
puts them together as :class:`~ledger.application.Ledger`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import Environment

from ledger.accounts import Account, Beneficiary, Pool, Volunteer
from ledger.clock import Clock, SystemClock
from ledger.codes import Keyring
from ledger.errors import Conflict, IdempotencyKeyReused, LedgerError, NotFound, ValidationError
from ledger.fund import Fund
from ledger.ids import FUND_ID, POOL_ID, RULES_ID
from ledger.index import LedgerIndex
from ledger.merchants import Merchant
from ledger.personal import PersonalData, digest, personal_data_for
from ledger.rules import Rules
from ledger.views import LoggedEvent

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


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events to an aggregate (None before its first event).

    The library's default projector checks a runtime Protocol on every event, which
    costs a fifth of a command's CPU; our events are all the library's own classes.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerCore(Application):
    """Infrastructure shared by every command: the clock, the rules, the signing keys,
    bounded optimistic retries, and typed loading of aggregates."""

    name = "Goldbean"
    # Accounts live long; a snapshot every 50 events keeps a command's cost flat.
    snapshotting_intervals = {Volunteer: 50, Beneficiary: 50, Merchant: 50, Pool: 50, Fund: 50}
    snapshotting_projectors = {cls: project for cls in snapshotting_intervals}
    # An LRU cache of aggregates: a cached aggregate is brought up to date with one query
    # for its newer events ("fast-forward"), so writers in other processes are seen.
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        rules: Rules | None = None,
        keyring: Keyring | None = None,
        personal_data: PersonalData | None = None,
        max_attempts: int = 30,
    ) -> None:
        super().__init__(env)
        #: names, account numbers, card numbers, PIN verifiers, check-in codes: beside the
        #: log, never in it (ledger/personal.py)
        self.personal: PersonalData = personal_data or personal_data_for(
            self.recorder, create_tables=(env or {}).get("CREATE_TABLE") == "y"
        )
        self.clock: Clock = clock or SystemClock()
        #: what the settings fix; the rules on the record (ledger/rulebook.py) change
        #: the ones they name from the times they take effect
        self.base_rules = rules or Rules()
        self.calendar = self.base_rules.calendar
        self.keyring = keyring or Keyring.generate()
        self.max_attempts = max_attempts
        self.index = LedgerIndex(self)
        self._claims: dict[str, str] = {}  # account number -> account id; claims are immutable

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

    # --- the rules in force ----------------------------------------------------------------

    @property
    def rules(self) -> Rules:
        """The rules in force now. A command reads :meth:`rules_at` its own time."""
        return self.rules_at(self.now())

    def rules_at(self, at: datetime) -> Rules:
        """The rules in force at ``at``: the settings' until the rules are on the record,
        then the recorded ones with every approved change whose time has come."""
        try:
            book = self.repository.get(RULES_ID, projector_func=project, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return self.base_rules
        return book.rules_at(self.base_rules, at)

    # --- time -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def day_of(self, at: datetime) -> str:
        return self.calendar.day(at)

    # --- running commands --------------------------------------------------------------

    def run(
        self, attempt: Callable[[], T], what: str, replay: Callable[[], T | None] | None = None
    ) -> T:
        """Run ``attempt`` until it saves without a clash.

        ``attempt`` must load everything it needs afresh each time. A clash
        (IntegrityError) means another writer got to one of the same aggregates first,
        or created the same derived id; the next attempt sees what it wrote.

        ``replay`` (for commands with an idempotency key) returns the first result of the
        key, or None; it is asked before each attempt, and again when an attempt is
        refused: a twin request with the same key may have committed between the
        attempt's reads (after its effect, the code is used or the balance is spent), and
        then its result is the answer.
        """
        for number in range(1, self.max_attempts + 1):
            try:
                first = replay() if replay is not None else None
                return first if first is not None else attempt()
            except LedgerError:
                first = replay() if replay is not None else None
                if first is None:
                    raise
                log.info("%s: a twin request with the same key committed first", what)
                return first
            except IntegrityError:
                if number == self.max_attempts:
                    log.warning("%s: still clashing after %d attempts", what, number)
                    raise Conflict(f"{what} clashed with concurrent changes; try again") from None
                # Full jitter, growing to ~50 ms: clashing writers spread out quickly.
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**number)))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- moving beans ------------------------------------------------------------------

    def transfer(
        self,
        flow: str,
        amount: int,
        source: Account | str,
        target: Account | str,
        ref: object,
        at: datetime,
    ) -> None:
        """One double entry: ``amount`` beans of ``flow`` from ``source`` to ``target``.

        Either side may be a system account named by a string (``ISSUANCE`` or
        ``RETIRED``), which records nothing; the account sides record BeansDebited /
        BeansCredited naming each other, and the debited account refuses an overdraft.
        The caller saves both sides together.
        """
        day = self.day_of(at)
        source_name = source if isinstance(source, str) else source.id
        target_name = target if isinstance(target, str) else target.id
        if not isinstance(source, str):
            source.debit(
                flow=flow, amount=amount, counterparty=target_name, ref=ref, at=at, day=day
            )
        if not isinstance(target, str):
            target.credit(
                flow=flow, amount=amount, counterparty=source_name, ref=ref, at=at, day=day
            )

    # --- loading -----------------------------------------------------------------------

    def find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        """The aggregate with this id if it is a ``cls``, else None."""
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def find_existing(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        """Like find(), but one cheap query when the id is (as usual) still unused."""
        return self.find(aggregate_id, cls) if self.exists(aggregate_id) else None

    def keyed(
        self,
        key: str | None,
        record_id: UUID,
        cls: type[A],
        matches: Callable[[A], bool],
        view: Callable[[A], T],
        what: str,
    ) -> Callable[[], T | None] | None:
        """For a command with an idempotency ``key``: a function that returns the key's
        first result (its ``cls`` record's view), None while the key is unused, and raises
        IdempotencyKeyReused if the record does not ``match`` this command's values.
        None when there is no key."""
        if key is None:
            return None

        def replay() -> T | None:
            first = self.find_existing(record_id, cls)
            if first is None:
                return None
            if not matches(first):
                raise IdempotencyKeyReused(f"this idempotency key was used for another {what}")
            return view(first)

        return replay

    # --- secrets the log refers to by digest ---------------------------------------------

    def digest(self, kind: str, value: str) -> str:
        """The keyed digest by which the log refers to a secret (a card number, an account
        number, a check-in code) without holding it."""
        return digest(self.personal.lookup_key(), kind, value)

    @property
    def pin_pepper(self) -> bytes:
        return digest(self.personal.lookup_key(), "pin pepper", "").encode()

    def log_head(self) -> int:
        """The position of the last event recorded (0: none yet)."""
        return self.recorder.max_notification_id() or 0

    def read_log(
        self, after: int, limit: int, *, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[LoggedEvent]:
        """Events after position ``after``, oldest first, at most ``limit``, up to ``stop``
        (inclusive), of the given ``topics`` only if any are given."""
        batch = self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
        )
        return [
            LoggedEvent(
                position=n.id,
                originator_id=str(n.originator_id),
                version=n.originator_version,
                topic=n.topic,
                state=n.state.decode("utf-8") if isinstance(n.state, bytes) else str(n.state),
            )
            for n in batch
        ]

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
        return pool or Pool._create(Pool.Opened, id=POOL_ID, timestamp=at)

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


def check_text(value: object, what: str, *, max_length: int = 500) -> str:
    """Required text from a caller, trimmed; ValidationError if missing or unfit."""
    text = optional_text(value, what, max_length=max_length)
    if text is None:
        raise ValidationError(f"{what} is required")
    return text


def optional_text(value: object, what: str, *, max_length: int = 500) -> str | None:
    """Optional text from a caller, trimmed (None when absent or blank)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError(f"{what} is longer than {max_length} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValidationError(f"{what} contains control characters")
    return text or None
