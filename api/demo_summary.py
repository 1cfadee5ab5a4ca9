"""What a Goldbean ledger holds, in numbers a person can check (``goldbean demo``'s
summary, also of a database built earlier)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from api.report_sections import coverage_percent
from ledger.application import Ledger
from ledger.fund import Donation, Settlement
from ledger.incidents import Incident
from ledger.records import Redemption


@dataclass(frozen=True)
class Sample:
    """One account a person can try things with."""

    id: str
    name: str
    detail: str


@dataclass(frozen=True)
class DemoSummary:
    """What a ledger holds, in numbers a person can check."""

    volunteers: int
    beneficiaries: int
    merchants: int
    incidents: int
    redemptions: int
    events: int
    beans_outstanding: int
    fund_balance_fen: int
    liability_fen: int
    coverage: Decimal | None
    donations_fen: int
    settlements_paid: int
    first_day: str | None
    last_day: str | None
    refused: int = 0
    volunteer: Sample | None = None
    merchant: Sample | None = None
    beneficiary: Sample | None = None

    def format(self) -> str:
        coverage = coverage_percent(self.coverage) or "n/a (nothing owed)"
        lines = [
            f"Goldbean community, {self.first_day or '-'} to {self.last_day or '-'}",
            f"  people        {self.volunteers} volunteers, {self.beneficiaries} beneficiaries, "
            f"{self.merchants} merchants",
            f"  activity      {self.incidents:,} incidents, {self.redemptions:,} redemptions, "
            f"{self.events:,} events in the log",
            f"  beans         {self.beans_outstanding:,} outstanding (held by volunteers, "
            "beneficiaries, the pool and merchants)",
            f"  fund          balance {yuan(self.fund_balance_fen)} "
            f"(donations {yuan(self.donations_fen)}, "
            f"paid out {yuan(self.donations_fen - self.fund_balance_fen)})",
            f"                liability {yuan(self.liability_fen)}, coverage {coverage}",
            f"  settlements   {self.settlements_paid} paid in full",
        ]
        if self.refused:
            lines.append(f"  refused       {self.refused} commands (see the warnings above)")
        samples = {
            "volunteer": self.volunteer,
            "merchant": self.merchant,
            "beneficiary": self.beneficiary,
        }
        if any(samples.values()):
            lines.append("Try it with:")
            lines += [
                f"  {label:<12}  {s.name}  id {s.id}  {s.detail}"
                for label, s in samples.items()
                if s
            ]
        return "\n".join(lines)


def yuan(fen: int) -> str:
    """Fen as yuan for people: 123456 -> ¥1,234.56."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


# --- describing a ledger ---------------------------------------------------------------------


def summarize(ledger: Ledger, *, refused: int = 0) -> DemoSummary:
    """Count what ``ledger`` holds and pick sample accounts to try things with."""
    fund, index, recorder = ledger.get_fund(), ledger.index, ledger.recorder
    volunteers, merchants = index.ids_of("volunteer"), index.ids_of("merchant")
    beneficiaries = index.ids_of("beneficiary")
    settlements = [str(n.originator_id) for n in _notifications(ledger, Settlement.Prepared)]
    donations = [_event(ledger, n) for n in _notifications(ledger, Donation.Received)]
    events = recorder.max_notification_id() or 0
    first, last = (
        (_event(ledger, recorder.select_notifications(start=n, limit=1)[0]) for n in (1, events))
        if events
        else (None, None)
    )
    return DemoSummary(
        volunteers=len(volunteers),
        beneficiaries=len(beneficiaries),
        merchants=len(merchants),
        incidents=len(_notifications(ledger, Incident.Submitted)),
        redemptions=len(_notifications(ledger, Redemption.Made)),
        events=events,
        beans_outstanding=fund.outstanding_beans,
        fund_balance_fen=fund.balance_fen,
        liability_fen=fund.liability_fen,
        coverage=fund.coverage,
        donations_fen=sum(d.amount_fen for d in donations),
        settlements_paid=sum(ledger.get_settlement(s).status == "paid" for s in settlements),
        first_day=ledger.calendar.day(first.timestamp) if first else None,
        last_day=ledger.calendar.day(last.timestamp) if last else None,
        refused=refused,
        volunteer=_sample_volunteer(ledger, volunteers[:200]),
        merchant=_sample_merchant(ledger, merchants[:200]),
        beneficiary=_sample_beneficiary(ledger, beneficiaries[:200]),
    )


def _notifications(ledger: Ledger, event_class: type) -> list[Notification]:
    found: list[Notification] = []
    start, topics = 0, [get_topic(event_class)]
    while True:
        batch = ledger.recorder.select_notifications(
            start=start, limit=5000, topics=topics, inclusive_of_start=False
        )
        found.extend(batch)
        if len(batch) < 5000:
            return found
        start = batch[-1].id


def _event(ledger: Ledger, notification):
    return ledger.mapper.to_domain_event(notification)


def _sample_volunteer(ledger: Ledger, ids: list[str]) -> Sample | None:
    accounts = [ledger.get_account(v) for v in ids]
    if not accounts:
        return None
    best = max(accounts, key=lambda a: a.balance)
    detail = f"account number {best.number}, {best.balance:,} beans"
    return Sample(best.id, best.display_name, detail)


def _sample_merchant(ledger: Ledger, ids: list[str]) -> Sample | None:
    shops = [ledger.get_merchant(m) for m in ids]
    shops.sort(key=lambda m: m.category not in ledger.rules.beneficiary_categories)  # cards work
    for m in shops:
        if m.status == "active":
            return Sample(m.id, m.name, f"({m.category}), counter code {m.merchant_code}")
    return None


def _sample_beneficiary(ledger: Ledger, ids: list[str]) -> Sample | None:
    """The beneficiary with the most beans among those whose card has no PIN."""
    cards = [ledger.get_card(b) for b in ids]
    usable = [card for card in cards if card.card_code is not None and not card.has_pin]
    if not usable:
        return None
    balances = {card.account_id: ledger.get_balance(card.account_id) for card in usable}
    best = max(usable, key=lambda card: balances[card.account_id])
    detail = f"card code {best.card_code} (no PIN), {balances[best.account_id]:,} beans"
    return Sample(best.account_id, best.display_name, detail)
