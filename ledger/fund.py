"""The bean fund: cash donations in, settlement payments out (SPEC §4).

The fund is one aggregate with a fixed id. It owns the rule that a settlement line is
paid only while its balance covers the line's cash plus rebate, so a donation and a
payment never race past each other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.errors import FourEyesRequired, InsufficientFund, InvalidState, NotFound

#: what a donation may be: the ledger's bounds, which the API's schema and the page's
#: form ask for rather than repeat
MAX_DONATION_FEN = 10**12  # ten billion yuan: far above any real donation
MAX_DONOR_NAME = 120
MAX_RECEIPT_NO = 64

PREPARED, APPROVED, PAID, CANCELLED = "prepared", "approved", "paid", "cancelled"
MAX_REASON = 500


class Fund(Aggregate):
    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        balance_fen: int
        donated_fen: int
        paid_fen: int

    class Opened(Aggregate.Created):
        def apply(self, fund: Fund) -> None:
            fund.balance_fen = 0
            fund.donated_fen = 0
            fund.paid_fen = 0

    class DonationReceived(Aggregate.Event):
        donation_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            fund.balance_fen += self.amount_fen
            fund.donated_fen += self.amount_fen

    class SettlementLinePaid(Aggregate.Event):
        settlement_id: str
        merchant_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            fund.balance_fen -= self.amount_fen
            fund.paid_fen += self.amount_fen

    class DonationReversed(Aggregate.Event):
        donation_id: str
        amount_fen: int

        def apply(self, fund: Fund) -> None:
            fund.balance_fen -= self.amount_fen
            fund.donated_fen -= self.amount_fen

    def receive(self, donation_id: object, amount_fen: int, at: datetime) -> None:
        self.trigger_event(
            self.DonationReceived, timestamp=at, donation_id=str(donation_id), amount_fen=amount_fen
        )

    def take_back(self, donation_id: object, amount_fen: int, at: datetime) -> None:
        """Reverse a donation recorded by mistake; the cash it counted must still be here
        (a fund that paid it out cannot un-receive it: record what really came in first)."""
        if amount_fen > self.balance_fen:
            raise InsufficientFund(
                f"the fund holds {self.balance_fen} fen; reversing this donation takes "
                f"{amount_fen} fen"
            )
        self.trigger_event(
            self.DonationReversed,
            timestamp=at,
            donation_id=str(donation_id),
            amount_fen=amount_fen,
        )

    def pay(self, settlement_id: object, merchant_id: str, amount_fen: int, at: datetime) -> None:
        if amount_fen > self.balance_fen:
            raise InsufficientFund(
                f"the fund holds {self.balance_fen} fen; this line needs {amount_fen} fen"
            )
        self.trigger_event(
            self.SettlementLinePaid,
            timestamp=at,
            settlement_id=str(settlement_id),
            merchant_id=merchant_id,
            amount_fen=amount_fen,
        )


class PaymentReference(Aggregate):
    """Claims a payment reference (a bank transfer's) for the one settlement line it
    paid; its id is derived from the reference (:func:`payment_reference_key`), so a
    reference pays one line of the fund, once."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        settlement_id: str
        merchant_id: str

    class Used(Aggregate.Created):
        settlement_id: str
        merchant_id: str

        def apply(self, reference: PaymentReference) -> None:
            reference.settlement_id = self.settlement_id
            reference.merchant_id = self.merchant_id


def payment_reference_key(payment_ref: str) -> str:
    """A payment reference as banks compare them: case and spacing do not matter."""
    return "".join(payment_ref.split()).casefold()


class Donation(Aggregate):
    """A cash donation; its id is derived from the receipt number, which is unique."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        anonymous: bool
        amount_fen: int
        received_on: date
        receipt_no: str
        by: str
        at: datetime
        reversed_by: str  # set by Reversed only

    class Received(Aggregate.Created):
        """The donor's name is personal data (ledger/personal.py): a named donor's name is
        published in the report from there, an anonymous donor's never."""

        anonymous: bool
        amount_fen: int
        received_on: date
        receipt_no: str
        by: str

        def apply(self, donation: Donation) -> None:
            donation.anonymous = self.anonymous
            donation.amount_fen, donation.received_on = self.amount_fen, self.received_on
            donation.receipt_no, donation.by, donation.at = self.receipt_no, self.by, self.timestamp

    class Reversed(Aggregate.Event):
        """The donation was recorded by mistake: its cash leaves the fund's figures."""

        amount_fen: int
        receipt_no: str
        by: str
        reason: str

        def apply(self, donation: Donation) -> None:
            donation.reversed_by = self.by

    @property
    def reversed(self) -> bool:
        return getattr(self, "reversed_by", None) is not None

    def reverse(self, by: str, reason: str, at: datetime) -> None:
        """Reverse this donation: once, by another fund officer than the one who
        recorded it (four eyes)."""
        if self.reversed:
            raise InvalidState(f"the donation {self.receipt_no} is already reversed")
        if by == self.by:
            raise FourEyesRequired(
                "a donation is reversed by another fund officer than the one who recorded it"
            )
        self.trigger_event(
            self.Reversed,
            timestamp=at,
            amount_fen=self.amount_fen,
            receipt_no=self.receipt_no,
            by=by,
            reason=reason,
        )


class Settlement(Aggregate):
    """Cash owed to merchants for the beans they redeemed before a cutoff.

    Lines are plain dicts ``{merchant_id, beans, cash_fen, rebate_fen, paid_at,
    payment_ref}`` so that snapshots and events stay JSON.
    """

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        period: str
        cutoff: datetime
        lines: list[dict]
        prepared_by: str
        approved_by: str | None
        status: str

    class Prepared(Aggregate.Created):
        period: str
        cutoff: datetime
        lines: list[dict]
        by: str

        def apply(self, settlement: Settlement) -> None:
            settlement.period, settlement.cutoff = self.period, self.cutoff
            settlement.lines = [dict(line, paid_at=None, payment_ref=None) for line in self.lines]
            settlement.prepared_by = self.by
            settlement.approved_by = None
            settlement.status = PREPARED

    class Approved(Aggregate.Event):
        by: str

        def apply(self, settlement: Settlement) -> None:
            settlement.approved_by = self.by
            settlement.status = APPROVED

    class LinePaid(Aggregate.Event):
        merchant_id: str
        payment_ref: str
        by: str

        def apply(self, settlement: Settlement) -> None:
            line = settlement.line(self.merchant_id)
            line["paid_at"], line["payment_ref"] = self.timestamp, self.payment_ref
            if all(line["paid_at"] is not None for line in settlement.lines):
                settlement.status = PAID

    class Cancelled(Aggregate.Event):
        """Cancelled before any line was paid: its reserved beans go back to the
        merchants (each records ``SettlementReleased``)."""

        merchant_ids: list[str]
        by: str
        reason: str

        def apply(self, settlement: Settlement) -> None:
            settlement.status = CANCELLED

    def cancel(self, by: str, reason: str, at: datetime) -> None:
        """Cancel a prepared or approved settlement none of whose lines is paid."""
        if self.status not in (PREPARED, APPROVED):
            raise InvalidState(f"this settlement is {self.status}; it cannot be cancelled")
        paid = [line["merchant_id"] for line in self.lines if line["paid_at"] is not None]
        if paid:
            raise InvalidState(
                f"{len(paid)} line(s) of this settlement are paid; it cannot be cancelled"
            )
        self.trigger_event(
            self.Cancelled,
            timestamp=at,
            merchant_ids=[line["merchant_id"] for line in self.lines],
            by=by,
            reason=reason,
        )

    @property
    def total_fen(self) -> int:
        return sum(line["cash_fen"] + line["rebate_fen"] for line in self.lines)

    def line(self, merchant_id: str) -> dict:
        for line in self.lines:
            if line["merchant_id"] == merchant_id:
                return line
        raise NotFound(f"settlement {self.id} has no line for merchant {merchant_id}")

    def approve(self, by: str, at: datetime) -> None:
        if self.status != PREPARED:
            raise InvalidState(f"this settlement is already {self.status}")
        if by == self.prepared_by:
            raise FourEyesRequired(
                "a settlement is approved by another officer than the one who prepared it"
            )
        self.trigger_event(self.Approved, timestamp=at, by=by)

    def check_can_pay(self, merchant_id: str) -> dict:
        if self.status == CANCELLED:
            raise InvalidState("this settlement was cancelled")
        if self.status == PREPARED:
            raise InvalidState("this settlement must be approved before it is paid")
        line = self.line(merchant_id)
        if line["paid_at"] is not None:
            raise InvalidState(f"this line was already paid ({line['payment_ref']})")
        return line

    def mark_paid(self, merchant_id: str, payment_ref: str, by: str, at: datetime) -> None:
        self.trigger_event(
            self.LinePaid, timestamp=at, merchant_id=merchant_id, payment_ref=payment_ref, by=by
        )
