"""The auditor's verifier, part 1: the audit chain step and the monthly public fund
reports, recomputed from the events of an export (docs/REPORTS.md).

Together with ``projections/verifier.py`` (reading the export, checking the chain,
comparing with the published reports), this is a second implementation of
docs/REPORTS.md, written apart from the projections so that each checks the other. Both
files use the Python standard library only and import nothing from ``ledger/``, ``api/``
or the rest of ``projections/``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GENESIS = bytes(32)
ANONYMOUS = "匿名 / anonymous"
#: a named donor: the log holds no name (names are personal data, kept beside the log), so
#: the published report may show any name there, and must not say anonymous
NAMED_DONOR = "<named donor>"
DEFAULT_TIME_ZONE, DEFAULT_BEAN_VALUE_FEN = "Asia/Shanghai", 100
ACCOUNT_KINDS = frozenset({"Volunteer", "Beneficiary", "Pool", "Merchant"})
_PLAIN_COUNTS = {"redemption": "redeemed", "refund": "refunded", "gift": "gifted"}


class VerifyError(ValueError):
    """The export or the published reports cannot be read."""


# --- the audit chain -------------------------------------------------------------------


def chain_step(
    previous: bytes, position: int, originator_id: str, version: int, topic: str, state: bytes
) -> bytes:
    """One link of the chain: sha256(previous || position || originator id || version
    || topic || state), integers as 8-byte unsigned big-endian, the id as its 16 bytes."""
    if len(previous) != 32:
        raise ValueError("the previous chain value must be 32 bytes")
    digest = hashlib.sha256(previous)
    digest.update(position.to_bytes(8, "big"))
    digest.update(uuid.UUID(originator_id).bytes)
    digest.update(version.to_bytes(8, "big"))
    digest.update(topic.encode("utf-8"))
    digest.update(state)
    return digest.digest()


def link(previous: bytes, event: dict) -> bytes:
    """The chain value of an export line, given the value before it."""
    return chain_step(
        previous,
        event["position"],
        event["originator_id"],
        event["version"],
        event["topic"],
        event["state"].encode("utf-8"),
    )


# --- values of the header and the states -----------------------------------------------


def is_int(value: object) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def zone_of(header: dict) -> ZoneInfo:
    """The programme's time zone named in the header (default Asia/Shanghai)."""
    name = header.get("time_zone", DEFAULT_TIME_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise VerifyError(f"line 1: unknown time zone {name!r}") from None


def parse_instant(text: object, what: str) -> datetime:
    """An ISO 8601 date-time as an aware datetime (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise VerifyError(f"{what} is not an ISO 8601 date-time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decode_value(obj: dict) -> Any:
    """JSON object hook for the types JSON lacks: datetime_iso becomes an aware datetime,
    date_iso a ``YYYY-MM-DD`` string, uuid_hex a canonical UUID string, decimal_str a
    Decimal."""
    if set(obj) != {"_type_", "_data_"}:
        return obj
    kind, data = obj["_type_"], obj["_data_"]
    if kind == "datetime_iso":
        return parse_instant(data, "a datetime_iso value")
    if kind == "date_iso":
        return date.fromisoformat(data).isoformat()
    if kind == "uuid_hex":
        return str(uuid.UUID(data))
    if kind == "decimal_str":
        return Decimal(data)
    return obj


def _amount(value: object) -> int:
    """A bean or fen amount, which must be an integer."""
    if not is_int(value):
        raise TypeError(f"an amount must be an integer, not {value!r}")
    return value  # type: ignore[return-value]


def _id(event: dict) -> str:
    """The event's originator id in canonical form."""
    return str(uuid.UUID(event["originator_id"]))


# --- months ----------------------------------------------------------------------------


def _month_index(moment: datetime) -> int:
    """Months counted from year 0, so that consecutive months are consecutive ints."""
    return moment.year * 12 + moment.month - 1


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_start(index: int, zone: ZoneInfo) -> datetime:
    """Local midnight of the 1st of the month."""
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


@dataclass
class _Month:
    """What one month's events add up to, before ids are resolved."""

    donations: list[dict] = field(default_factory=list)
    paid_lines: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    awards: dict[str, int] = field(default_factory=dict)  # award ref -> beans
    issued: int = 0  # every bean credited from issuance: awards and allotments
    allotments: int = 0
    redeemed: int = 0
    refunded: int = 0
    gifted: int = 0
    retired: int = 0
    corrected: int = 0
    fund_change_fen: int = 0
    merchant_change: dict[str, int] = field(default_factory=dict)  # merchant id -> beans
    awarded_volunteers: set[str] = field(default_factory=set)
    incidents_verified: int = 0
    redemptions: int = 0
    last_position: int = -1  # the highest position among the month's events
    last_chain: str | None = None  # the chain value there


@dataclass
class _Log:
    """The whole log, read once: each month's sums and the ids the figures need."""

    zone: ZoneInfo
    months: dict[int, _Month] = field(default_factory=dict)
    incidents: set[str] = field(default_factory=set)
    activities: set[str] = field(default_factory=set)
    merchants: dict[str, str] = field(default_factory=dict)  # id -> name at registration
    rates: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (month, bps)
    donations: dict[str, dict] = field(default_factory=dict)  # id -> its report item
    lines: dict[tuple[str, str], dict] = field(default_factory=dict)  # (settlement, merchant)
    # the rule changes approved: (month in force from, its time, position, new values)
    rule_changes: list[tuple[int, str, int, dict]] = field(default_factory=list)

    def month(self, at: datetime) -> _Month:
        """The sums of the local month of ``at``."""
        return self.months.setdefault(_month_index(at.astimezone(self.zone)), _Month())


# --- what each event adds --------------------------------------------------------------


def _on_beans(log: _Log, month: _Month, event: dict, state: dict, credit: bool) -> None:
    """Count a bean movement once: by its credit side, except corrections and
    settlements, which have only a debit side."""
    flow, amount = state["flow"], _amount(state["amount"])
    if event["topic"].partition(":")[2].startswith("Merchant."):
        merchant_id = _id(event)
        change = amount if credit else -amount
        month.merchant_change[merchant_id] = month.merchant_change.get(merchant_id, 0) + change
    if not credit:
        if flow == "settlement":
            month.retired += amount
        elif flow == "correction":
            month.corrected += amount
    elif flow == "award":
        month.issued += amount
        month.awards[state["ref"]] = month.awards.get(state["ref"], 0) + amount
        if event["topic"].endswith(":Volunteer.BeansCredited"):
            month.awarded_volunteers.add(_id(event))
    elif flow == "allotment":
        month.issued += amount
        month.allotments += amount
    elif flow in _PLAIN_COUNTS:
        name = _PLAIN_COUNTS[flow]
        setattr(month, name, getattr(month, name) + amount)


def _on_credit(log: _Log, month: _Month, event: dict, state: dict) -> None:
    _on_beans(log, month, event, state, credit=True)


def _on_debit(log: _Log, month: _Month, event: dict, state: dict) -> None:
    _on_beans(log, month, event, state, credit=False)


def _on_registered(log: _Log, month: _Month, event: dict, state: dict) -> None:
    log.merchants[_id(event)] = state["display_name"]
    registered = _month_index(state["timestamp"].astimezone(log.zone))
    log.rates[_id(event)] = (registered, _amount(state["rebate_bps"]))


def _on_incident(log: _Log, month: _Month, event: dict, state: dict) -> None:
    log.incidents.add(_id(event))


def _on_verified(log: _Log, month: _Month, event: dict, state: dict) -> None:
    month.incidents_verified += 1


def _on_activity(log: _Log, month: _Month, event: dict, state: dict) -> None:
    log.activities.add(_id(event))


def _on_redemption(log: _Log, month: _Month, event: dict, state: dict) -> None:
    month.redemptions += 1


def _on_donation(log: _Log, month: _Month, event: dict, state: dict) -> None:
    donor = ANONYMOUS if state["anonymous"] is True else NAMED_DONOR
    item = {
        "received_on": state["received_on"],
        "donor": donor,
        "amount_fen": _amount(state["amount_fen"]),
        "receipt_no": state["receipt_no"],
    }
    log.donations[_id(event)] = item
    month.donations.append(item)


def _on_donation_reversed(log: _Log, month: _Month, event: dict, state: dict) -> None:
    original = log.donations.get(_id(event))
    if original is None:
        raise VerifyError(f"position {event['position']}: a reversal of no donation")
    month.donations.append(original | {"amount_fen": -_amount(state["amount_fen"])})


def _on_fund_reversed(log: _Log, month: _Month, event: dict, state: dict) -> None:
    month.fund_change_fen -= _amount(state["amount_fen"])


def _on_fund_in(log: _Log, month: _Month, event: dict, state: dict) -> None:
    month.fund_change_fen += _amount(state["amount_fen"])


def _on_fund_out(log: _Log, month: _Month, event: dict, state: dict) -> None:
    month.fund_change_fen -= _amount(state["amount_fen"])


def _on_prepared(log: _Log, month: _Month, event: dict, state: dict) -> None:
    for line in state["lines"]:
        log.lines[(_id(event), line["merchant_id"])] = line


def _on_line_paid(log: _Log, month: _Month, event: dict, state: dict) -> None:
    paid_on = state["timestamp"].astimezone(log.zone).date().isoformat()
    month.paid_lines.append(
        (event["position"], _id(event), state["merchant_id"], paid_on, state["payment_ref"])
    )


def _on_rule_change(log: _Log, month: _Month, event: dict, state: dict) -> None:
    """An approved rule change, listed in the month it takes effect in (the rules in
    force at each moment are the first rules with every change whose time has come)."""
    effective_at = state["effective_at"].astimezone(UTC)
    values = state["values"]
    if not isinstance(values, dict) or not values:
        raise TypeError("a rule change names no rules")
    log.rule_changes.append(
        (
            _month_index(effective_at.astimezone(log.zone)),
            effective_at.isoformat(timespec="seconds"),
            event["position"],
            values,
        )
    )


# What each event adds, by the qualified name of its class: a topic's part after the
# colon (``Redemption.Made`` of ``ledger.records:Redemption.Made``), so that events of
# the same name on other records (``Correction.Made``) are told apart.
HANDLERS: dict[str, Callable[[_Log, _Month, dict, dict], None]] = {
    **{f"{kind}.BeansCredited": _on_credit for kind in sorted(ACCOUNT_KINDS)},
    **{f"{kind}.BeansDebited": _on_debit for kind in sorted(ACCOUNT_KINDS)},
    "Merchant.Registered": _on_registered,
    "Incident.Submitted": _on_incident,
    "Incident.Verified": _on_verified,
    "Activity.Created": _on_activity,
    "Redemption.Made": _on_redemption,
    "Donation.Received": _on_donation,
    "Fund.DonationReceived": _on_fund_in,
    "Donation.Reversed": _on_donation_reversed,
    "Fund.DonationReversed": _on_fund_reversed,
    "Fund.SettlementLinePaid": _on_fund_out,
    "Settlement.Prepared": _on_prepared,
    "Settlement.LinePaid": _on_line_paid,
    "RuleBook.ChangeApproved": _on_rule_change,
}

# The ledger's events that add to no figure of the reports. The test of the projections'
# coverage checks that these and HANDLERS name every event the ledger records, and
# nothing else; this file cannot import the ledger's classes to say so itself.
IGNORED = frozenset(
    {
        "Volunteer.Opened",  # accounts: their bean movements count
        "Beneficiary.Opened",
        "Pool.Opened",
        "Volunteer.LeaderboardChoiceMade",
        "Beneficiary.CardIssued",
        "Beneficiary.WrongPinEntered",
        "Beneficiary.CardUnlocked",
        "Merchant.Suspended",
        "Merchant.Reactivated",
        "Merchant.SettlementReserved",
        "Merchant.SettlementReleased",  # a cancelled settlement: its lines were never paid
        "Settlement.Cancelled",
        "Activity.CheckedIn",  # an activity's awards count by their credits
        "Activity.AttendanceConfirmed",
        "Activity.CheckedInManually",
        "Activity.AttendanceConfirmedByLeader",
        "Activity.AssignedToTeam",  # teams and grids add to no figure (issue 18)
        "Incident.PlacedInGrid",
        "Team.Created",
        "Team.LeaderAppointed",
        "Team.LeaderRemoved",
        "Team.PublicChoiceMade",
        "Grid.Created",
        "Grid.HeadAppointed",
        "Grid.HeadRemoved",
        "Incident.Rejected",
        "Incident.MarkedDuplicate",
        "Incident.HandlersAssigned",
        "Incident.Resolved",
        "Redemption.Refunded",  # the refund's credit counts
        "Fund.Opened",
        "Settlement.Approved",  # a line counts when it is paid
        "Gift.Given",  # records of a movement: its credit and debit count
        "PoolAllocation.Allocated",
        "Correction.Made",
        "Allotment.Granted",
        "AccountNumberClaimed.Claimed",  # uniqueness markers
        "CardRegistered.Registered",
        "PaymentCodeUsed.Used",
        "CheckinCodeClaimed.Claimed",
        "Volunteer.ErasureRequested",  # personal data: no figure depends on it
        "Volunteer.PersonalDataErased",
        "Beneficiary.ErasureRequested",
        "Beneficiary.PersonalDataErased",
        "PaymentReference.Used",
        "Incident.CreditCorrected",  # corrections count by their debits
        "Activity.CreditCorrected",
        "Allotment.CreditCorrected",
        "Gift.CreditCorrected",
        "PoolAllocation.CreditCorrected",
        "ApprovalRequest.Prepared",  # four eyes: the approved command's records count
        "ApprovalRequest.Approved",
        "ApprovalRequest.Withdrawn",
        "RuleBook.Established",  # the first rules: the reports list changes
        "RuleBook.ChangeProposed",  # a change counts when it is approved
        "RuleBook.ChangeWithdrawn",
    }
)


def _read_log(events: Iterable[dict], zone: ZoneInfo) -> _Log:
    """Read every event once: recompute the chain and add the event to its month."""
    log, previous = _Log(zone), GENESIS
    for event in events:
        position, topic = event["position"], event["topic"]
        previous = link(previous, event)
        try:
            state = json.loads(event["state"], object_hook=_decode_value)
            month = log.month(state["timestamp"])
            if position > month.last_position:
                month.last_position, month.last_chain = position, previous.hex()
            handler = HANDLERS.get(topic.partition(":")[2])
            if handler is not None:
                handler(log, month, event, state)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise VerifyError(
                f"position {position} ({topic}): a field is missing or malformed: {error!r}"
            ) from error
    return log


# --- the reports -----------------------------------------------------------------------


def _payouts(log: _Log, month: _Month) -> dict:
    """The month's paid settlement lines, with the figures of their prepared lines."""
    items = []
    for position, settlement_id, merchant_id, paid_on, payment_ref in month.paid_lines:
        line, name = log.lines.get((settlement_id, merchant_id)), log.merchants.get(merchant_id)
        if line is None or name is None:
            raise VerifyError(
                f"position {position}: a settlement line is paid to merchant {merchant_id}, "
                f"but the log has no such merchant or prepared line"
            )
        items.append(
            {
                "merchant": name,
                "beans": _amount(line["beans"]),
                "cash_fen": _amount(line["cash_fen"]),
                "rebate_fen": _amount(line["rebate_fen"]),
                "paid_on": paid_on,
                "payment_ref": payment_ref,
            }
        )
    return {
        "cash_fen": sum(item["cash_fen"] for item in items),
        "rebate_fen": sum(item["rebate_fen"] for item in items),
        "items": items,
    }


def _coverage(balance_fen: int, liability_fen: int) -> str | None:
    """balance / liability as a decimal string with 4 places, rounded half-up."""
    if liability_fen == 0:
        return None
    with localcontext() as context:
        context.prec = 60
        ratio = Decimal(balance_fen) / Decimal(liability_fen)
        return str(ratio.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _cost(beans: int, bean_value_fen: int, rebate_bps: int) -> int:
    """What paying a merchant for ``beans`` costs: cash plus the rebate on it, rounded
    half-up to the fen; nothing for no beans or fewer (a merchant's deduction)."""
    if beans <= 0:
        return 0
    cash = beans * bean_value_fen
    return cash + (2 * cash * rebate_bps + 10_000) // 20_000


def _liability(totals: _Totals, log: _Log, index: int, bean_value_fen: int) -> int:
    """What paying every outstanding bean costs at the end of month ``index``: each
    merchant's beans at its rate, the rest at the highest rate of the merchants registered
    by then (docs/REPORTS.md)."""
    rates = {m: bps for m, (month, bps) in log.rates.items() if month <= index}
    highest = max(rates.values(), default=0)
    held = {m: totals.held.get(m, 0) for m in rates}
    unspent = totals.outstanding - sum(held.values())
    return _cost(unspent, bean_value_fen, highest) + sum(
        _cost(beans, bean_value_fen, rates[m]) for m, beans in held.items()
    )


@dataclass
class _Totals:
    """Running figures carried from month to month."""

    outstanding: int = 0
    held: dict[str, int] = field(default_factory=dict)  # beans each merchant holds
    balance_fen: int = 0
    head_position: int = -1
    head: str | None = None


def _report(log: _Log, index: int, final: bool, totals: _Totals, bean_value_fen: int) -> dict:
    """One month's report; moves ``totals`` on to the month's end."""
    month = log.months.get(index, _Month())
    incident_awards = sum(n for ref, n in month.awards.items() if ref in log.incidents)
    activity_awards = sum(n for ref, n in month.awards.items() if ref in log.activities)
    balance_start = totals.balance_fen
    totals.balance_fen += month.fund_change_fen
    totals.outstanding += month.issued - month.corrected - month.retired
    for merchant_id, change in month.merchant_change.items():
        totals.held[merchant_id] = totals.held.get(merchant_id, 0) + change
    if month.last_position > totals.head_position:
        totals.head_position, totals.head = month.last_position, month.last_chain
    liability = _liability(totals, log, index, bean_value_fen)
    return {
        "period": _period(index),
        "final": final,
        "donations": {
            "count": len(month.donations),
            "total_fen": sum(item["amount_fen"] for item in month.donations),
            "items": month.donations,
        },
        "payouts": _payouts(log, month),
        "beans": {
            "issued": {
                "incident_awards": incident_awards,
                "activity_awards": activity_awards,
                "allotments": month.allotments,
                "total": incident_awards + activity_awards + month.allotments,
            },
            "redeemed": month.redeemed,
            "refunded": month.refunded,
            "gifted": month.gifted,
            "retired": month.retired,
            "corrected": month.corrected,
            "outstanding_end": totals.outstanding,
        },
        "fund": {
            "balance_start_fen": balance_start,
            "balance_end_fen": totals.balance_fen,
            "liability_end_fen": liability,
            "coverage_end": _coverage(totals.balance_fen, liability),
        },
        "activity": {
            "active_volunteers": len(month.awarded_volunteers),
            "incidents_verified": month.incidents_verified,
            "redemptions": month.redemptions,
            "merchants_paid": len({line[2] for line in month.paid_lines}),
        },
        "rule_changes": [
            {"effective_at": at, "changes": values}
            for at, _, values in sorted(
                (at, position, values)
                for index_of, at, position, values in log.rule_changes
                if index_of == index
            )
        ],
        "chain_head": totals.head,
    }


def compute_reports(
    header: dict, events: Iterable[dict], now: datetime | None = None
) -> dict[str, dict]:
    """Every monthly report, keyed by period, in the JSON shape of docs/REPORTS.md: one
    for each month from the earliest event's month through the month of ``now`` (default:
    the header's ``exported_at``). ``final`` is true once ``now`` has reached local
    midnight of the 1st of the next month. The time zone and the bean value come from the
    header; ``chain_head`` comes from the chain recomputed here."""
    zone = zone_of(header)
    bean_value_fen = header.get("bean_value_fen", DEFAULT_BEAN_VALUE_FEN)
    if now is None:
        if "exported_at" not in header:
            raise VerifyError("the header has no exported_at, so the current month is unknown")
        now = parse_instant(header["exported_at"], "exported_at")
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    log = _read_log(events, zone)
    if not log.months:
        return {}
    reports, totals = {}, _Totals()
    for index in range(min(log.months), _month_index(now.astimezone(zone)) + 1):
        final = now >= _month_start(index + 1, zone)
        reports[_period(index)] = _report(log, index, final, totals, bean_value_fen)
    return reports
