"""Bean accounts: volunteers, beneficiaries and the gift pool (merchants are in
merchants.py).

Every bean movement is double entry (SPEC §3): the debited account records
``BeansDebited`` and the credited one ``BeansCredited`` in the same atomic save. The
system accounts ``issuance`` and ``retired`` are not aggregates (every award would write
them); their balances follow from the flows: an award or allotment debits issuance, a
correction credits it, a settlement credits retired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.errors import AwardCapExceeded, InsufficientBalance, LimitExceeded, PinLocked, WrongPin
from ledger.money import check_beans


class Flow:
    """The kinds of bean movement of SPEC §3."""

    AWARD = "award"
    ALLOTMENT = "allotment"
    GIFT = "gift"
    POOL_ALLOCATION = "pool_allocation"
    REDEMPTION = "redemption"
    REFUND = "refund"
    SETTLEMENT = "settlement"
    CORRECTION = "correction"

    ISSUING = (AWARD, ALLOTMENT)  # credited from issuance
    ALL = (AWARD, ALLOTMENT, GIFT, POOL_ALLOCATION, REDEMPTION, REFUND, SETTLEMENT, CORRECTION)


ISSUANCE = "issuance"
RETIRED = "retired"


class Account(Aggregate):
    """A bean account. Subclasses add the rules of their kind."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        balance: int

    kind = "account"

    class Opened(Aggregate.Created):
        """A person's account is opened with nothing that names them: the name and the
        account number are personal data (ledger/personal.py), kept beside the log."""

        def apply(self, account: Account) -> None:
            account.balance = 0
            account.init_state()

    class BeansCredited(Aggregate.Event):
        flow: str
        amount: int
        counterparty: str
        ref: str
        day: str

        def apply(self, account: Account) -> None:
            account.balance += self.amount
            account.on_credited(self)

    class BeansDebited(Aggregate.Event):
        flow: str
        amount: int
        counterparty: str
        ref: str
        day: str

        def apply(self, account: Account) -> None:
            account.balance -= self.amount
            account.on_debited(self)

    def init_state(self) -> None:
        """Set the kind's own starting state."""

    def on_credited(self, event: Any) -> None:
        """Update the kind's own state after a credit."""

    def on_debited(self, event: Any) -> None:
        """Update the kind's own state after a debit."""

    def credit(
        self, *, flow: str, amount: int, counterparty: object, ref: object, at, day: str
    ) -> None:
        check_beans(amount)
        self.trigger_event(
            self.BeansCredited,
            timestamp=at,
            flow=flow,
            amount=amount,
            counterparty=str(counterparty),
            ref=str(ref),
            day=day,
        )

    def debit(
        self, *, flow: str, amount: int, counterparty: object, ref: object, at, day: str
    ) -> None:
        check_beans(amount)
        self.check_can_pay(amount)
        self.trigger_event(
            self.BeansDebited,
            timestamp=at,
            flow=flow,
            amount=amount,
            counterparty=str(counterparty),
            ref=str(ref),
            day=day,
        )

    def check_can_pay(self, amount: int) -> None:
        """Raise InsufficientBalance unless the account holds ``amount`` beans."""
        if amount > self.balance:
            raise InsufficientBalance(
                f"the account holds {self.balance} beans, {amount} are needed"
            )


class Person(Account):
    """A volunteer's or beneficiary's account: a person, whose name, number and card are
    personal data (ledger/personal.py) that may be erased on request, by two people."""

    if TYPE_CHECKING:  # set by ErasureRequested; read with erasure_request()
        erasure_requested_by: str | None

    class ErasureRequested(Aggregate.Event):
        """Someone asked for the person's data to be erased (a second person approves)."""

        by: str

        def apply(self, account: Person) -> None:
            account.erasure_requested_by = self.by

    class PersonalDataErased(Aggregate.Event):
        """The person's name, number and card were deleted from the personal-data store;
        the account and its entries stay, so the books still add up."""

        by: str

        def apply(self, account: Person) -> None:
            account.erasure_requested_by = None
            if isinstance(account, Beneficiary):  # the card named the person: it is void
                account.card_digest, account.has_pin = None, False

    def erasure_request(self) -> str | None:
        """Who asked for this person's data to be erased and awaits a second person."""
        return getattr(self, "erasure_requested_by", None)


class Volunteer(Person):
    """A resident who reports and helps; earns awards, spends, gives."""

    kind = "volunteer"

    class LeaderboardChoiceMade(Aggregate.Event):
        opt_in: bool

        def apply(self, account: Volunteer) -> None:
            account.leaderboard_opt_in = self.opt_in

    def init_state(self) -> None:
        self.leaderboard_opt_in = False
        self.award_day = ""
        self.awarded_on_day = 0

    def on_credited(self, event: Any) -> None:
        if event.flow == Flow.AWARD:
            if event.day != self.award_day:
                self.award_day, self.awarded_on_day = event.day, 0
            self.awarded_on_day += event.amount

    def awarded_on(self, day: str) -> int:
        return self.awarded_on_day if day == self.award_day else 0

    def check_award_cap(self, amount: int, day: str, cap: int) -> None:
        """Raise AwardCapExceeded if ``amount`` more on ``day`` would pass ``cap``."""
        if self.awarded_on(day) + amount > cap:
            raise AwardCapExceeded(
                f"this volunteer was awarded {self.awarded_on(day)} beans on {day}; "
                f"{amount} more would pass the daily cap of {cap}"
            )

    def choose_leaderboard(self, opt_in: bool, at) -> None:
        if opt_in != self.leaderboard_opt_in:
            self.trigger_event(self.LeaderboardChoiceMade, timestamp=at, opt_in=bool(opt_in))


class Beneficiary(Person):
    """An elderly or special-care resident who spends with a printed card."""

    kind = "beneficiary"

    class CardIssued(Aggregate.Event):
        """A new card: the log keeps a keyed digest of its number (to tell the current
        card from a replaced one) and whether it has a PIN; the number and the PIN's
        verifier are personal data."""

        card_digest: str
        has_pin: bool

        def apply(self, account: Beneficiary) -> None:
            account.card_digest = self.card_digest
            account.has_pin = self.has_pin
            account.pin_failures = 0
            account.pin_locked = False

    class WrongPinEntered(Aggregate.Event):
        failures: int
        locked: bool

        def apply(self, account: Beneficiary) -> None:
            account.pin_failures = self.failures
            account.pin_locked = self.locked

    class CardUnlocked(Aggregate.Event):
        by: str

        def apply(self, account: Beneficiary) -> None:
            account.pin_failures = 0
            account.pin_locked = False

    def init_state(self) -> None:
        self.card_digest: str | None = None
        self.has_pin = False
        self.pin_failures = 0
        self.pin_locked = False
        self.spend_day = ""
        self.spent_on_day = 0
        self.spent_refs: list[str] = []  # the day's card redemptions, for same-day refunds

    def on_debited(self, event: Any) -> None:
        if event.flow == Flow.REDEMPTION:
            if event.day != self.spend_day:
                self.spend_day, self.spent_on_day, self.spent_refs = event.day, 0, []
            self.spent_on_day += event.amount
            self.spent_refs.append(event.ref)
            self.pin_failures = 0  # a card redemption passed its PIN check

    def on_credited(self, event: Any) -> None:
        # Refunding one of today's purchases gives back that much of today's allowance;
        # refunding an older purchase does not.
        if (
            event.flow == Flow.REFUND
            and event.day == self.spend_day
            and event.ref in self.spent_refs
        ):
            self.spent_on_day = max(0, self.spent_on_day - event.amount)

    def spent_on(self, day: str) -> int:
        return self.spent_on_day if day == self.spend_day else 0

    def check_daily_limit(self, amount: int, day: str, limit: int) -> None:
        """Raise LimitExceeded if spending ``amount`` more on ``day`` passes ``limit``."""
        if self.spent_on(day) + amount > limit:
            left = max(0, limit - self.spent_on(day))
            raise LimitExceeded(
                f"the card's daily limit is {limit} beans; {left} left today, {amount} asked",
                limit="card_daily",
                limit_beans=limit,
                left_today=left,
            )

    def issue_card(self, card_digest: str, has_pin: bool, at) -> None:
        self.trigger_event(self.CardIssued, timestamp=at, card_digest=card_digest, has_pin=has_pin)

    def check_pin_not_locked(self) -> None:
        if self.pin_locked:
            raise PinLocked("this card is locked after too many wrong PINs; ask a coordinator")

    def record_wrong_pin(self, max_attempts: int, at) -> WrongPin:
        """Record one wrong PIN and return the error to raise (PinLocked on the last try)."""
        failures = self.pin_failures + 1
        locked = failures >= max_attempts
        self.trigger_event(self.WrongPinEntered, timestamp=at, failures=failures, locked=locked)
        if locked:
            return PinLocked(f"wrong PIN {failures} times: the card is now locked")
        return WrongPin(f"wrong PIN ({max_attempts - failures} tries left)")

    def unlock_card(self, by: str, at) -> None:
        self.trigger_event(self.CardUnlocked, timestamp=at, by=by)


class Pool(Account):
    """The gift pool (爱心池): volunteers give into it, coordinators allocate from it."""

    kind = "pool"
