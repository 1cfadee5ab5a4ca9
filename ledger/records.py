"""Records of bean movements, and claims on unique natural keys.

Each record is an aggregate whose id is derived from the caller's idempotency key (or
from a natural key such as an allotment's beneficiary and period), created in the same
atomic save as the accounts it moves beans between. A repeated command finds the record
and returns the first result; a concurrent one fails to create it and retries into the
same answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.accounts import Flow
from ledger.credits import CreditRecord
from ledger.errors import RefundExceedsRedemption, RefundWindowClosed


class Redemption(Aggregate):
    """Beans a volunteer or beneficiary paid to a merchant, by code, card or merchant code."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        payer_id: str
        merchant_id: str
        amount: int
        method: str
        note: str | None
        fingerprint: str
        day: str
        at: datetime
        refunded: int
        refunds: dict[str, list]

    class Made(Aggregate.Created):
        payer_id: str
        merchant_id: str
        amount: int
        method: str
        note: str | None
        fingerprint: str
        day: str

        def apply(self, redemption: Redemption) -> None:
            redemption.payer_id = self.payer_id
            redemption.merchant_id = self.merchant_id
            redemption.amount = self.amount
            redemption.method = self.method
            redemption.note = self.note
            redemption.fingerprint = self.fingerprint
            redemption.day = self.day
            redemption.at = self.timestamp
            redemption.refunded = 0
            redemption.refunds = {}

    class Refunded(Aggregate.Event):
        refund_id: str
        amount: int
        key: str | None

        def apply(self, redemption: Redemption) -> None:
            redemption.refunded += self.amount
            if self.key is not None:
                redemption.refunds[self.key] = [self.refund_id, self.amount]

    @property
    def unrefunded(self) -> int:
        return self.amount - self.refunded

    def check_refund(self, amount: int, at: datetime, window_days: int) -> None:
        if (at - self.at).total_seconds() > window_days * 86_400:
            raise RefundWindowClosed(
                f"refunds are possible for {window_days} days after a redemption"
            )
        if amount > self.unrefunded:
            raise RefundExceedsRedemption(
                f"{self.unrefunded} of this redemption's {self.amount} beans are left to refund"
            )

    def refund(self, refund_id: str, amount: int, key: str | None, at: datetime) -> None:
        self.trigger_event(self.Refunded, timestamp=at, refund_id=refund_id, amount=amount, key=key)


class Gift(CreditRecord):
    """Beans a volunteer gave to a beneficiary or to the pool."""

    credit_flow = Flow.GIFT

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        from_id: str
        to_id: str
        to_pool: bool
        amount: int
        message: str | None
        at: datetime

    class Given(Aggregate.Created):
        from_id: str
        to_id: str
        to_pool: bool
        amount: int
        message: str | None

        def apply(self, gift: Gift) -> None:
            gift.from_id, gift.to_id, gift.to_pool = self.from_id, self.to_id, self.to_pool
            gift.amount, gift.message, gift.at = self.amount, self.message, self.timestamp
            gift.init_credits()
            if not self.to_pool:  # the pool is not corrected
                gift.note_credit(self.to_id, self.amount, self.timestamp)


class PoolAllocation(CreditRecord):
    """Beans a coordinator moved from the pool to a beneficiary."""

    credit_flow = Flow.POOL_ALLOCATION

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        to_id: str
        amount: int
        by: str
        at: datetime

    class Allocated(Aggregate.Created):
        to_id: str
        amount: int
        by: str

        def apply(self, allocation: PoolAllocation) -> None:
            allocation.to_id, allocation.amount, allocation.by = self.to_id, self.amount, self.by
            allocation.at = self.timestamp
            allocation.init_credits()
            allocation.note_credit(self.to_id, self.amount, self.timestamp)


class Correction(Aggregate):
    """Beans a coordinator took back to issuance to reverse an erroneous credit: an award,
    allotment, gift received or pool allocation, which ``corrects`` names (the record's
    id; corrections recorded before issue 14 may name nothing, or anything)."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        account_id: str
        amount: int
        reason: str
        corrects: str | None
        by: str
        at: datetime

    class Made(Aggregate.Created):
        account_id: str
        amount: int
        reason: str
        corrects: str | None
        by: str

        def apply(self, correction: Correction) -> None:
            correction.account_id, correction.amount = self.account_id, self.amount
            correction.reason, correction.corrects = self.reason, self.corrects
            correction.by, correction.at = self.by, self.timestamp


class Allotment(CreditRecord):
    """A beneficiary's monthly grant; its id is derived from beneficiary and period."""

    credit_flow = Flow.ALLOTMENT

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        beneficiary_id: str
        period: str
        amount: int
        by: str
        at: datetime

    class Granted(Aggregate.Created):
        beneficiary_id: str
        period: str
        amount: int
        by: str

        def apply(self, allotment: Allotment) -> None:
            allotment.beneficiary_id, allotment.period = self.beneficiary_id, self.period
            allotment.amount, allotment.by, allotment.at = self.amount, self.by, self.timestamp
            allotment.init_credits()
            allotment.note_credit(self.beneficiary_id, self.amount, self.timestamp)


class AccountNumberClaimed(Aggregate):
    """Claims an account number (id derived from the number) for one account."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        account_id: str

    class Claimed(Aggregate.Created):
        account_id: str

        def apply(self, claim: AccountNumberClaimed) -> None:
            claim.account_id = self.account_id


class CardRegistered(Aggregate):
    """Maps a printed card's number (id derived from it) to its beneficiary."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        beneficiary_id: str

    class Registered(Aggregate.Created):
        beneficiary_id: str

        def apply(self, card: CardRegistered) -> None:
            card.beneficiary_id = self.beneficiary_id


class PaymentCodeUsed(Aggregate):
    """Marks a volunteer payment code (id derived from the code) as accepted once."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        redemption_id: str

    class Used(Aggregate.Created):
        redemption_id: str

        def apply(self, use: PaymentCodeUsed) -> None:
            use.redemption_id = self.redemption_id


class CheckinCodeClaimed(Aggregate):
    """Maps an activity's check-in code (id derived from the code) to its activity, so a
    volunteer's scan finds the activity with one lookup."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        activity_id: str

    class Claimed(Aggregate.Created):
        activity_id: str

        def apply(self, claim: CheckinCodeClaimed) -> None:
            claim.activity_id = self.activity_id
