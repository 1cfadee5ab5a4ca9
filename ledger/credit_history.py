"""Which credits of an account a correction may name, with what is left of each: the
coordinator's corrections page offers them as a choice (issue 14)."""

from __future__ import annotations

from uuid import UUID

from ledger.accounts import Account, Beneficiary, Flow, Volunteer
from ledger.activities import Activity
from ledger.core import LedgerCore
from ledger.credits import CreditRecord
from ledger.incidents import Incident
from ledger.records import Allotment, Gift, PoolAllocation
from ledger.views import CreditView

CORRECTABLE = (Flow.AWARD, Flow.ALLOTMENT, Flow.GIFT, Flow.POOL_ALLOCATION)


class CreditQueries(LedgerCore):
    def list_credits(
        self, account_id: object, *, limit: int = 100, scan: int = 2000
    ) -> list[CreditView]:
        """The account's credits a correction may name, newest first: each incident or
        activity that awarded it, allotment, gift or pool allocation it received, with
        what it credited and what is ``left`` to correct (0 once corrected in full).
        At most ``limit`` credits, from the account's last ``scan`` events.

        Raises NotFound when the id is no volunteer's or beneficiary's account.
        """
        account = self.load_account(account_id, Volunteer, Beneficiary)
        holder = str(account.id)
        refs: dict[str, None] = {}
        for event in self.events.get(account.id, desc=True, limit=scan):
            if (
                isinstance(event, Account.BeansCredited)
                and event.flow in CORRECTABLE
                and event.amount > 0
            ):
                refs.setdefault(str(event.ref), None)
                if len(refs) >= limit:
                    break
        found = []
        for ref in refs:
            record = self.find(UUID(ref), CreditRecord)
            if record is None or record.credits.get(holder, 0) <= 0:
                continue
            found.append(
                CreditView(
                    id=str(record.id),
                    kind=_kind(record),
                    flow=record.credit_flow,
                    label=_label(record),
                    credited=record.credits[holder],
                    left=record.left_to_correct(holder),
                    at=record.credited_at[holder],
                )
            )
        return found


def _kind(record: CreditRecord) -> str:
    kinds = {
        Incident: "incident",
        Activity: "activity",
        Allotment: "allotment",
        Gift: "gift",
        PoolAllocation: "pool_allocation",
    }
    return kinds.get(type(record), record.credit_flow)


def _label(record: CreditRecord) -> str:
    """A short word for the credit: an incident's category, an activity's title, an
    allotment's period (names of people stay out: they live beside the log)."""
    if isinstance(record, Incident):
        return record.category
    if isinstance(record, Activity):
        return record.title
    if isinstance(record, Allotment):
        return record.period
    return ""
