"""The ``books`` projection: balances and entries of every account, merchants'
redemptions, monthly figures and settlement lines, and the monthly figures of the
public fund report (docs/REPORTS.md defines each figure).

Each bean movement is counted once, by its credit side, except corrections and
settlements, which have only a debit side (their other side is issuance or retired).

What each of the ledger's event types does is in ``HANDLERS`` (by class, at the end of
the module); the event types that change nothing here are in ``IGNORED``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger.accounts import Account, Beneficiary, Pool, Volunteer
from ledger.activities import Activity
from ledger.approvals import ApprovalRequest
from ledger.calendar import ProgrammeCalendar
from ledger.fund import Donation, Fund, PaymentReference, Settlement
from ledger.incidents import Incident
from ledger.merchants import Merchant
from ledger.personal import PersonalData
from ledger.records import (
    AccountNumberClaimed,
    Allotment,
    CardRegistered,
    CheckinCodeClaimed,
    Correction,
    Gift,
    PaymentCodeUsed,
    PoolAllocation,
    Redemption,
)
from ledger.rulebook import RuleBook
from ledger.teams import Grid, Team
from projections import tables as t
from projections.dispatch import Dispatch, topics
from projections.events import LocalMonths, StoredEvent
from projections.rows import Rows, append

ANONYMOUS = "匿名 / anonymous"

# The monthly figure each flow adds to, on the side that counts it.
CREDIT_FIGURES = {
    "allotment": "allotments",
    "redemption": "redeemed",
    "refund": "refunded",
    "gift": "gifted",
}
DEBIT_FIGURES = {"settlement": "retired", "correction": "corrected"}


def new_month(period: str) -> dict[str, Any]:
    return {"period": period} | dict.fromkeys(t.MONTH_FIGURES, 0)


class Books:
    """One batch of the ``books`` projection, applied inside the batch's transaction."""

    name = "books"
    tables: tuple[Table, ...] = (
        t.accounts,
        t.entries,
        t.redemptions,
        t.merchant_months,
        t.settlement_lines,
        t.months,
        t.donations,
        t.payouts,
        t.volunteer_months,
        t.award_corrections,
        t.merchant_rates,
        t.subjects,
        t.incidents,
        t.rule_changes,
    )

    def __init__(self, calendar: ProgrammeCalendar, people: PersonalData | None = None) -> None:
        self.calendar = calendar
        self.dispatch = DISPATCH
        #: names of people and donors (they are not in the log: ledger/personal.py)
        self.people = people

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        batch = _Batch(conn, self.calendar, self.people)
        handler = self.dispatch.handler
        relevant = [(e, h) for e in events if (h := handler(e.topic)) is not None]
        batch.prefetch([e for e, _ in relevant])
        for event, handle in relevant:
            handle(batch, event)
        batch.flush()


class _Batch:
    def __init__(
        self, conn: Connection, calendar: ProgrammeCalendar, people: PersonalData | None
    ) -> None:
        self.conn = conn
        self.people = people
        self.calendar = calendar
        self.local_month = LocalMonths(calendar.zone)
        self._periods: dict[int, str] = {}
        self.accounts = Rows(conn, t.accounts)
        self.redemptions = Rows(conn, t.redemptions)
        self.merchant_months = Rows(conn, t.merchant_months)
        self.lines = Rows(conn, t.settlement_lines)
        self.months = Rows(conn, t.months)
        self.volunteer_months = Rows(conn, t.volunteer_months)
        self.award_corrections = Rows(conn, t.award_corrections)
        self.merchant_rates = Rows(conn, t.merchant_rates)
        self.subjects = Rows(conn, t.subjects)
        self.incidents = Rows(conn, t.incidents)
        self.entries: list[dict[str, Any]] = []
        self.donations: list[dict[str, Any]] = []
        self.payouts: list[dict[str, Any]] = []
        self.rule_changes: list[dict[str, Any]] = []

    # --- reading and writing ----------------------------------------------------------

    def period(self, event: StoredEvent) -> str:
        found = self._periods.get(event.position)
        if found is None:
            day = event.data.get("day")  # credits and debits carry their local day
            found = day[:7] if isinstance(day, str) else self.local_month(event.at)
            self._periods[event.position] = found
        return found

    def prefetch(self, events: list[StoredEvent]) -> None:
        """Read every row this batch is likely to touch in a few queries."""
        originators = {e.id for e in events if e.topic in _ACCOUNT_EVENTS}
        periods = {self.period(e) for e in events}
        moves = [e for e in events if e.topic in _MOVES]
        self.accounts.prefetch(originators)
        # Rows created by this batch need no reading: they cannot exist yet.
        created = {e.id: e.position for e in events if e.version == 1}
        self.redemptions.prefetch(
            e.id for e in events if e.topic in _REDEMPTION_EVENTS and e.id not in created
        )
        self.incidents.prefetch(
            e.id for e in events if e.topic in _INCIDENT_EVENTS and e.id not in created
        )
        self.months.prefetch(periods)
        self.merchant_months.prefetch(
            (e.id, self.period(e)) for e in moves if e.topic in _MERCHANT_MOVES
        )
        self.volunteer_months.prefetch(
            (self.period(e), e.id) for e in moves if e.topic in _VOLUNTEER_MOVES
        )
        self.subjects.prefetch(
            ref
            for e in moves
            if e.data["flow"] == "award"
            and created.get(ref := e.data["ref"], e.position) >= e.position
        )

    def flush(self) -> None:
        for rows in (
            self.accounts,
            self.redemptions,
            self.merchant_months,
            self.lines,
            self.months,
            self.volunteer_months,
            self.award_corrections,
            self.merchant_rates,
            self.subjects,
            self.incidents,
        ):
            rows.flush()
        append(self.conn, t.entries, self.entries)
        append(self.conn, t.donations, self.donations)
        append(self.conn, t.payouts, self.payouts)
        append(self.conn, t.rule_changes, self.rule_changes)

    def month(self, period: str) -> dict[str, Any]:
        return self.months.get_or_put(period, new_month(period))

    # --- accounts -----------------------------------------------------------------------

    def personal(self, subject_id: str) -> dict[str, str]:
        return self.people.get(subject_id) if self.people is not None else {}

    def opened(self, event: StoredEvent, kind: str) -> None:
        if "display_name" in event.data:  # a merchant: its name is public
            name = event.data["display_name"]
        elif kind == "pool":
            name = "pool"
        else:
            name = self.personal(event.id).get("display_name", "")
        self.accounts.put(
            {
                "id": event.id,
                "kind": kind,
                "display_name": name,
                "balance": 0,
                "leaderboard_opt_in": False,
                "rebate_bps": event.data.get("rebate_bps"),
            }
        )

    def merchant_registered(self, event: StoredEvent) -> None:
        self.opened(event, Merchant.kind)
        period = self.period(event)
        self.month(period)  # the month's liability prices its rate, even with no other figure
        self.merchant_rates.put(
            {
                "merchant_id": event.id,
                "period": period,
                "rebate_bps": event.data["rebate_bps"],
            }
        )

    def move(self, event: StoredEvent, signed: int) -> dict[str, Any]:
        account = self.accounts.get_or_put(
            event.id,
            {  # cannot happen for a log written by the ledger; kept total for safety
                "id": event.id,
                "kind": event.kind.lower(),
                "display_name": "",
                "balance": 0,
                "leaderboard_opt_in": False,
                "rebate_bps": None,
            },
        )
        account["balance"] += signed
        data = event.data
        self.entries.append(
            {
                "account_id": event.id,
                "version": event.version,
                "position": event.position,
                "at": event.at,
                "flow": data["flow"],
                "amount": signed,
                "balance_after": account["balance"],
                "counterparty": data["counterparty"],
                "ref": data["ref"],
            }
        )
        return account

    def credited(self, event: StoredEvent) -> None:
        amount, flow = event.data["amount"], event.data["flow"]
        self.move(event, amount)
        month = self.month(self.period(event))
        if flow == "award":
            subject = self.subjects.get(event.data["ref"])
            if subject is not None and subject["kind"] == "activity":
                month["activity_awards"] += amount
            else:
                month["incident_awards"] += amount
        elif flow in CREDIT_FIGURES:
            month[CREDIT_FIGURES[flow]] += amount

    def volunteer_credited(self, event: StoredEvent) -> None:
        self.credited(event)
        amount, flow = event.data["amount"], event.data["flow"]
        if flow == "award":
            period = self.period(event)
            earned = self.volunteer_months.get_or_put(
                (period, event.id), {"period": period, "account_id": event.id, "earned": 0}
            )
            earned["earned"] += amount

    def merchant_credited(self, event: StoredEvent) -> None:
        self.credited(event)
        if event.data["flow"] == "redemption":
            merchant_month = self.merchant_month(event.id, self.period(event))
            merchant_month["redeemed"] += event.data["amount"]

    def debited(self, event: StoredEvent) -> None:
        amount, flow = event.data["amount"], event.data["flow"]
        self.move(event, -amount)
        if flow in DEBIT_FIGURES:
            self.month(self.period(event))[DEBIT_FIGURES[flow]] += amount

    def merchant_debited(self, event: StoredEvent) -> None:
        self.debited(event)
        if event.data["flow"] == "refund":
            merchant_month = self.merchant_month(event.id, self.period(event))
            merchant_month["refunded"] += event.data["amount"]

    def merchant_month(self, merchant_id: str, period: str) -> dict[str, Any]:
        return self.merchant_months.get_or_put(
            (merchant_id, period),
            {"merchant_id": merchant_id, "period": period, "redeemed": 0, "refunded": 0},
        )

    def credit_corrected(self, event: StoredEvent) -> None:
        """A correction took back part of an award: counted against the volunteer's
        earnings of the award's month (the leaderboard shows net awards)."""
        data = event.data
        if data["flow"] != "award":
            return
        period = self.local_month(data["credited_at"])
        row = self.award_corrections.get_or_put(
            (period, data["account_id"]),
            {"period": period, "account_id": data["account_id"], "corrected": 0},
        )
        row["corrected"] += data["amount"]

    def erased(self, event: StoredEvent) -> None:
        """A person's data was erased: the account stays, without its name."""
        account = self.accounts.get(event.id)
        if account is not None:
            account["display_name"] = ""
            account["leaderboard_opt_in"] = False
            self.accounts.changed(event.id)

    def leaderboard_choice(self, event: StoredEvent) -> None:
        account = self.accounts.get(event.id)
        if account is not None:
            account["leaderboard_opt_in"] = bool(event.data["opt_in"])
            self.accounts.changed(event.id)

    # --- incidents, activities, redemptions -------------------------------------------

    def activity_created(self, event: StoredEvent) -> None:
        self.subjects.put({"id": event.id, "kind": "activity"})

    def incident_submitted(self, event: StoredEvent) -> None:
        self.subjects.put({"id": event.id, "kind": "incident"})
        data = event.data
        self.incidents.put(
            {
                "id": event.id,
                "position": event.position,
                "at": event.at,
                "status": "submitted",
                "category": data["category"],
                "description": data["description"],
                "location": data["location"],
                "urgent": bool(data["urgent"]),
                "reporter_id": data["reporter_id"],
                "handler_ids": [],
                "award": None,
            }
        )

    def incident_verified(self, event: StoredEvent) -> None:
        self.month(self.period(event))["incidents_verified"] += 1
        self.incident_changed(event, status="verified", award=event.data["award"])

    def incident_changed(self, event: StoredEvent, **changes: Any) -> None:
        incident = self.incidents.get(event.id)
        if incident is not None:
            incident.update(changes)
            self.incidents.changed(event.id)

    def handlers_assigned(self, event: StoredEvent) -> None:
        self.incident_changed(event, handler_ids=list(event.data["handler_ids"]))

    def redemption_made(self, event: StoredEvent) -> None:
        data = event.data
        self.redemptions.put(
            {
                "id": event.id,
                "merchant_id": data["merchant_id"],
                "payer_id": data["payer_id"],
                "amount": data["amount"],
                "refunded": 0,
                "method": data["method"],
                "at": event.at,
                "day": data["day"],
            }
        )
        self.month(self.period(event))["redemptions"] += 1

    def refunded(self, event: StoredEvent) -> None:
        redemption = self.redemptions.get(event.id)
        if redemption is not None:
            redemption["refunded"] += event.data["amount"]
            self.redemptions.changed(event.id)

    # --- the fund -------------------------------------------------------------------------

    def donation(self, event: StoredEvent) -> None:
        data = event.data
        period = self.period(event)
        self.donations.append(
            {
                "position": event.position,
                "period": period,
                "received_on": data["received_on"].isoformat(),
                "donor": (
                    ANONYMOUS if data["anonymous"] else self.personal(event.id).get("donor", "")
                ),
                "amount_fen": data["amount_fen"],
                "receipt_no": data["receipt_no"],
            }
        )
        month = self.month(period)
        month["donations_count"] += 1
        month["donations_fen"] += data["amount_fen"]

    def donation_reversed(self, event: StoredEvent) -> None:
        """A reversal is listed in its month as an item taking the donation back: its
        receipt number, donor and day received, and the amount as a negative figure."""
        data = event.data
        period = self.period(event)
        d = t.donations.c
        original = self.conn.execute(
            select(d.received_on, d.donor)
            .where(d.receipt_no == data["receipt_no"], d.amount_fen > 0)
            .order_by(d.position.desc())
            .limit(1)
        ).first()
        pending = [
            row
            for row in self.donations
            if row["receipt_no"] == data["receipt_no"] and row["amount_fen"] > 0
        ]
        received_on, donor = (
            (pending[-1]["received_on"], pending[-1]["donor"])
            if pending
            else (original.received_on, original.donor)
            if original
            else ("", "")
        )
        self.donations.append(
            {
                "position": event.position,
                "period": period,
                "received_on": received_on,
                "donor": donor,
                "amount_fen": -data["amount_fen"],
                "receipt_no": data["receipt_no"],
            }
        )
        month = self.month(period)
        month["donations_count"] += 1
        month["donations_fen"] -= data["amount_fen"]

    def fund_in(self, event: StoredEvent) -> None:
        self.month(self.period(event))["fund_in_fen"] += event.data["amount_fen"]

    def fund_reversed(self, event: StoredEvent) -> None:
        self.month(self.period(event))["fund_in_fen"] -= event.data["amount_fen"]

    def fund_out(self, event: StoredEvent) -> None:
        self.month(self.period(event))["fund_out_fen"] += event.data["amount_fen"]

    def settlement_prepared(self, event: StoredEvent) -> None:
        for line in event.data["lines"]:
            self.lines.put(
                {
                    "settlement_id": event.id,
                    "merchant_id": line["merchant_id"],
                    "period": event.data["period"],
                    "beans": line["beans"],
                    "cash_fen": line["cash_fen"],
                    "rebate_fen": line["rebate_fen"],
                    "paid_on": None,
                    "payment_ref": None,
                }
            )

    def settlement_cancelled(self, event: StoredEvent) -> None:
        """A cancelled settlement has no lines: none was paid, and its beans go back to
        the merchants for the next one."""
        for merchant_id in event.data["merchant_ids"]:
            self.lines.delete((event.id, merchant_id))

    def line_paid(self, event: StoredEvent) -> None:
        merchant_id = event.data["merchant_id"]
        line = self.lines.get((event.id, merchant_id))
        if line is None:
            return
        period, paid_on = self.period(event), self.calendar.day(event.at)
        line["paid_on"], line["payment_ref"] = paid_on, event.data["payment_ref"]
        self.lines.changed((event.id, merchant_id))
        merchant = self.accounts.get(merchant_id)
        self.payouts.append(
            {
                "position": event.position,
                "period": period,
                "merchant_id": merchant_id,
                "merchant": merchant["display_name"] if merchant else merchant_id,
                "beans": line["beans"],
                "cash_fen": line["cash_fen"],
                "rebate_fen": line["rebate_fen"],
                "paid_on": paid_on,
                "payment_ref": event.data["payment_ref"],
            }
        )
        month = self.month(period)
        month["payouts_cash_fen"] += line["cash_fen"]
        month["payouts_rebate_fen"] += line["rebate_fen"]

    # --- the programme's rules --------------------------------------------------------------

    def rule_change_approved(self, event: StoredEvent) -> None:
        """A change is listed in the report of the month it takes effect in."""
        effective_at = event.data["effective_at"].astimezone(UTC)
        self.rule_changes.append(
            {
                "position": event.position,
                "period": self.local_month(effective_at),
                "effective_at": effective_at.isoformat(timespec="seconds"),
                "changes": dict(event.data["values"]),
            }
        )


Handler = Callable[[_Batch, StoredEvent], None]

# What each event type does to the books. Bean movements are counted by their credit
# and debit events; a merchant's also go to its monthly figures, a volunteer's awards to
# the volunteer's month.
HANDLERS: dict[type, Handler] = {
    Volunteer.Opened: partial(_Batch.opened, kind=Volunteer.kind),
    Beneficiary.Opened: partial(_Batch.opened, kind=Beneficiary.kind),
    Pool.Opened: partial(_Batch.opened, kind=Pool.kind),
    Merchant.Registered: _Batch.merchant_registered,
    Volunteer.BeansCredited: _Batch.volunteer_credited,
    Beneficiary.BeansCredited: _Batch.credited,
    Pool.BeansCredited: _Batch.credited,
    Merchant.BeansCredited: _Batch.merchant_credited,
    Volunteer.BeansDebited: _Batch.debited,
    Beneficiary.BeansDebited: _Batch.debited,
    Pool.BeansDebited: _Batch.debited,
    Merchant.BeansDebited: _Batch.merchant_debited,
    Volunteer.LeaderboardChoiceMade: _Batch.leaderboard_choice,
    Volunteer.PersonalDataErased: _Batch.erased,
    Beneficiary.PersonalDataErased: _Batch.erased,
    Activity.Created: _Batch.activity_created,
    Incident.Submitted: _Batch.incident_submitted,
    Incident.Verified: _Batch.incident_verified,
    Incident.Rejected: partial(_Batch.incident_changed, status="rejected"),
    Incident.MarkedDuplicate: partial(_Batch.incident_changed, status="duplicate"),
    Incident.Resolved: partial(_Batch.incident_changed, status="resolved"),
    Incident.HandlersAssigned: _Batch.handlers_assigned,
    Redemption.Made: _Batch.redemption_made,
    Redemption.Refunded: _Batch.refunded,
    Donation.Received: _Batch.donation,
    Fund.DonationReceived: _Batch.fund_in,
    Donation.Reversed: _Batch.donation_reversed,
    Fund.DonationReversed: _Batch.fund_reversed,
    Settlement.Cancelled: _Batch.settlement_cancelled,
    Fund.SettlementLinePaid: _Batch.fund_out,
    Settlement.Prepared: _Batch.settlement_prepared,
    Settlement.LinePaid: _Batch.line_paid,
    # a correction taken back from a credit: the leaderboard counts net awards
    Incident.CreditCorrected: _Batch.credit_corrected,
    Activity.CreditCorrected: _Batch.credit_corrected,
    Allotment.CreditCorrected: _Batch.credit_corrected,
    Gift.CreditCorrected: _Batch.credit_corrected,
    PoolAllocation.CreditCorrected: _Batch.credit_corrected,
    RuleBook.ChangeApproved: _Batch.rule_change_approved,
}

# The ledger's events that change nothing in the books.
IGNORED: frozenset[type] = frozenset(
    {
        Volunteer.ErasureRequested,  # the erasure itself counts, when approved
        Beneficiary.ErasureRequested,
        Beneficiary.CardIssued,  # cards, PINs and merchants' status are not in the books
        Beneficiary.WrongPinEntered,
        Beneficiary.CardUnlocked,
        Merchant.Suspended,
        Merchant.Reactivated,
        Merchant.SettlementReserved,
        Merchant.SettlementReleased,
        Activity.CheckedIn,  # an attendance's beans come as the volunteer's credit
        Activity.AttendanceConfirmed,
        Activity.CheckedInManually,
        Activity.AttendanceConfirmedByLeader,
        Activity.AssignedToTeam,  # teams and grids are not in the books (issue 18)
        Incident.PlacedInGrid,
        Team.Created,
        Team.LeaderAppointed,
        Team.LeaderRemoved,
        Team.PublicChoiceMade,
        Grid.Created,
        Grid.HeadAppointed,
        Grid.HeadRemoved,
        Fund.Opened,  # the fund's figures come from its donations and payouts
        Settlement.Approved,  # a line counts when it is paid
        Gift.Given,  # records of a movement: its credit and debit events count
        PoolAllocation.Allocated,
        Correction.Made,
        Allotment.Granted,
        AccountNumberClaimed.Claimed,  # uniqueness markers
        CardRegistered.Registered,
        PaymentCodeUsed.Used,
        CheckinCodeClaimed.Claimed,
        PaymentReference.Used,
        ApprovalRequest.Prepared,  # a request moves nothing; its approval's records do
        ApprovalRequest.Approved,
        ApprovalRequest.Withdrawn,
        RuleBook.Established,  # the rules a community starts with change no figure
        RuleBook.ChangeProposed,  # a change counts when approved
        RuleBook.ChangeWithdrawn,
    }
)

DISPATCH: Dispatch[Handler] = Dispatch(HANDLERS, IGNORED)

# For prefetching: the topics of the handled events of some kinds.
_ACCOUNT_EVENTS = DISPATCH.topics_of(Account.Event)
_MOVES = DISPATCH.topics_of((Account.BeansCredited, Account.BeansDebited))
_MERCHANT_MOVES = topics((Merchant.BeansCredited, Merchant.BeansDebited))
_VOLUNTEER_MOVES = topics((Volunteer.BeansCredited, Volunteer.BeansDebited))
_REDEMPTION_EVENTS = DISPATCH.topics_of(Redemption.Event)
_INCIDENT_EVENTS = DISPATCH.topics_of(Incident.Event)
