"""Partner merchants: a bean account that receives redemptions and is settled in cash.

A merchant's ``balance`` is the beans it holds and has not yet been paid for. Beans
received are kept in buckets by local day so that a settlement can take exactly what was
recorded before its cutoff; a prepared settlement *reserves* its beans, so a refund can
only spend beans that are neither paid nor promised to a settlement.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.accounts import Account, Flow
from ledger.errors import InvalidState, MerchantSuspended


class Merchant(Account):
    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        display_name: str
        number: str
        category: str
        rebate_bps: int

    kind = "merchant"

    class Registered(Account.Opened):
        """A shop is public: its name and number are in the log (and on its counter sign)."""

        display_name: str
        number: str
        category: str
        rebate_bps: int

        def apply(self, merchant: Any) -> None:
            super().apply(merchant)
            merchant.display_name = self.display_name
            merchant.number = self.number
            merchant.category = self.category
            merchant.rebate_bps = self.rebate_bps

    class Suspended(Aggregate.Event):
        by: str

        def apply(self, merchant: Merchant) -> None:
            merchant.status = "suspended"

    class Reactivated(Aggregate.Event):
        by: str

        def apply(self, merchant: Merchant) -> None:
            merchant.status = "active"

    class SettlementReserved(Aggregate.Event):
        settlement_id: str
        cutoff_day: str
        beans: int

        def apply(self, merchant: Merchant) -> None:
            before = {day: n for day, n in merchant.buckets.items() if day < self.cutoff_day}
            for day in before:
                del merchant.buckets[day]
            # Beans recorded before the cutoff that this settlement could not take (later
            # refunds spent them) wait for the next one, dated the last day they can be
            # from, so no settlement with an earlier cutoff takes them.
            carried = sum(before.values()) - self.beans
            if carried:
                last_day = date.fromisoformat(self.cutoff_day) - timedelta(days=1)
                merchant.buckets[last_day.isoformat()] = carried
            merchant.reserved += self.beans

    class SettlementReleased(Aggregate.Event):
        """A cancelled settlement gives back the beans it reserved; they wait for the next
        settlement, dated the last day they can be from (the day before its cutoff)."""

        settlement_id: str
        cutoff_day: str
        beans: int

        def apply(self, merchant: Merchant) -> None:
            merchant.reserved -= self.beans
            day = (date.fromisoformat(self.cutoff_day) - timedelta(days=1)).isoformat()
            merchant.buckets[day] = merchant.buckets.get(day, 0) + self.beans

    def init_state(self) -> None:
        self.status = "active"
        self.buckets: dict[str, int] = {}
        self.reserved = 0

    def on_credited(self, event: Any) -> None:
        self.buckets[event.day] = self.buckets.get(event.day, 0) + event.amount

    def on_debited(self, event: Any) -> None:
        if event.flow == Flow.SETTLEMENT:
            self.reserved -= event.amount
        else:
            self.buckets[event.day] = self.buckets.get(event.day, 0) - event.amount

    @property
    def name(self) -> str:
        return self.display_name

    @property
    def unsettled_beans(self) -> int:
        """Beans held and not yet in any settlement."""
        return self.balance - self.reserved

    def check_active(self) -> None:
        if self.status != "active":
            raise MerchantSuspended(f"merchant {self.name} is suspended")

    def check_can_pay(self, amount: int) -> None:
        """A refund is bounded by its redemption (what is left of it, within the refund
        window), not by the beans the merchant holds: a refund of a sale that was already
        settled leaves the merchant owing beans (fewer than 0 unsettled), a deduction
        that its next settlements net against its later redemptions (docs/LEDGER.md).
        Settlement debits spend reserved beans, which debit_settled() checks."""

    def debit_settled(self, *, amount: int, ref: object, at, day: str) -> None:
        """Retire ``amount`` reserved beans that the fund has just paid for."""
        if amount > self.reserved:
            raise InvalidState(f"merchant {self.name} has only {self.reserved} beans reserved")
        self.trigger_event(
            self.BeansDebited,
            timestamp=at,
            flow=Flow.SETTLEMENT,
            amount=amount,
            counterparty="retired",
            ref=str(ref),
            day=day,
        )

    def beans_before(self, cutoff_day: str) -> int:
        """Beans a settlement with this cutoff would take now."""
        recorded = sum(n for day, n in self.buckets.items() if day < cutoff_day)
        return max(0, min(recorded, self.unsettled_beans))

    def reserve_for_settlement(self, settlement_id: object, cutoff_day: str, at) -> int:
        """Promise the beans recorded before ``cutoff_day`` to a settlement; return them."""
        beans = self.beans_before(cutoff_day)
        if beans > 0:
            self.trigger_event(
                self.SettlementReserved,
                timestamp=at,
                settlement_id=str(settlement_id),
                cutoff_day=cutoff_day,
                beans=beans,
            )
        return beans

    def release_settlement(self, settlement_id: object, cutoff_day: str, beans: int, at) -> None:
        """Give back ``beans`` reserved for a settlement that was cancelled."""
        if beans > self.reserved:
            raise InvalidState(f"merchant {self.name} has only {self.reserved} beans reserved")
        self.trigger_event(
            self.SettlementReleased,
            timestamp=at,
            settlement_id=str(settlement_id),
            cutoff_day=cutoff_day,
            beans=beans,
        )

    def suspend(self, by: str, at) -> None:
        if self.status == "active":
            self.trigger_event(self.Suspended, timestamp=at, by=by)

    def reactivate(self, by: str, at) -> None:
        if self.status != "active":
            self.trigger_event(self.Reactivated, timestamp=at, by=by)
