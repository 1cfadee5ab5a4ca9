"""Records that credit accounts, and the corrections that take some of it back.

An award (incident or activity), an allotment, a gift to a beneficiary and an allocation
from the gift pool each credit one or more accounts; the record of it is the aggregate
that knows how much each account was credited. A correction names that record
(``corrects``) and the record owns the rule that it never takes back more than is left
of what it credited that account (SPEC §3: a compensating entry names the entry it
corrects). Saving the record with the correction makes two concurrent corrections of the
same credit clash, so the second one sees the first.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate

from ledger.errors import CorrectionExceedsCredit, UnknownCredit


class CreditRecord(Aggregate):
    """A record that credited accounts. Subclasses call :meth:`note_credit` from the
    ``apply`` of the events that credit, and set ``credit_flow``."""

    credit_flow: ClassVar[str]

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        credits: dict[str, int]
        credited_at: dict[str, datetime]
        corrected: dict[str, int]

    class CreditCorrected(Aggregate.Event):
        """Part of what this record credited ``account_id`` was taken back by a
        correction. ``credited_at`` is when the account was credited (the leaderboard
        takes net awards from that month)."""

        correction_id: str
        account_id: str
        amount: int
        flow: str
        credited_at: datetime

        def apply(self, record: Any) -> None:
            record.corrected[self.account_id] = (
                record.corrected.get(self.account_id, 0) + self.amount
            )

    def init_credits(self) -> None:
        self.credits = {}
        self.credited_at = {}
        self.corrected = {}

    def note_credit(self, account_id: str, amount: int, at: datetime) -> None:
        if amount > 0:
            self.credits[account_id] = self.credits.get(account_id, 0) + amount
            self.credited_at[account_id] = at

    def left_to_correct(self, account_id: str) -> int:
        """Beans this record credited ``account_id`` and no correction took back yet."""
        return self.credits.get(account_id, 0) - self.corrected.get(account_id, 0)

    def check_correction(self, account_id: str, amount: int) -> None:
        """Raise UnknownCredit if this record credited ``account_id`` nothing, and
        CorrectionExceedsCredit if ``amount`` is more than is left of it."""
        credited = self.credits.get(account_id, 0)
        if credited == 0:
            raise UnknownCredit(
                f"{type(self).__name__.lower()} {self.id} credited account {account_id} nothing"
            )
        left = self.left_to_correct(account_id)
        if amount > left:
            raise CorrectionExceedsCredit(
                f"{left} of the {credited} beans this {self.credit_flow.replace('_', ' ')} "
                f"credited are left to correct; {amount} asked"
            )

    def correct(self, correction_id: object, account_id: str, amount: int, at: datetime) -> None:
        self.check_correction(account_id, amount)
        self.trigger_event(
            self.CreditCorrected,
            timestamp=at,
            correction_id=str(correction_id),
            account_id=account_id,
            amount=amount,
            flow=self.credit_flow,
            credited_at=self.credited_at[account_id],
        )
