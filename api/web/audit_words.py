"""The auditor's event log in words (issue 17, item 11): each event class named in the
reader's language, and each field of an event with a label and its value written for a
person (beans and yuan grouped, accounts by name and number, times in the programme's
zone), instead of the class name and the stored JSON.

``EVENT_NAMES`` has a name for every event class the ledger records
(``ledger.catalog``), and ``FIELDS`` a label for every field those events carry; a unit
test fails when a new event class or field has none (tests/unit/test_audit_words.py).
The export and ``goldbean audit verify`` are untouched: this is how the page reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from api.web.common import CATEGORY_NAMES, INCIDENT_CATEGORY_NAMES, rebate_text
from api.web.rule_words import change_lines
from api.web.support import beans, day, money, month, when

#: "Kind.Event" (the topic's qualified name) -> what happened, in words. Events that
#: every kind of account records alike are named once, by their own name (GENERIC).
EVENT_NAMES: dict[str, Any] = {
    "Volunteer.LeaderboardChoiceMade": _l("Leaderboard choice changed"),
    "Beneficiary.CardIssued": _l("Card issued"),
    "Beneficiary.WrongPinEntered": _l("Wrong card PIN entered"),
    "Beneficiary.CardUnlocked": _l("Card unlocked"),
    "Activity.Created": _l("Activity created"),
    "Activity.CheckedIn": _l("Checked in at an activity"),
    "Activity.AttendanceConfirmed": _l("Attendance confirmed"),
    "Activity.CheckedInManually": _l("Checked in by number at an activity"),
    "Activity.AttendanceConfirmedByLeader": _l("Attendance confirmed by a team leader"),
    "Activity.AssignedToTeam": _l("Activity given to a team"),
    "Incident.PlacedInGrid": _l("Incident placed in a grid"),
    "Team.Created": _l("Team created"),
    "Team.LeaderAppointed": _l("Team leader named"),
    "Team.LeaderRemoved": _l("Team leader removed"),
    "Team.PublicChoiceMade": _l("Team's public figures choice changed"),
    "Grid.Created": _l("Grid created"),
    "Grid.HeadAppointed": _l("Grid head named"),
    "Grid.HeadRemoved": _l("Grid head removed"),
    "Fund.Opened": _l("Fund opened"),
    "Pool.Opened": _l("Gift pool opened"),
    "Fund.DonationReceived": _l("Donation added to the fund"),
    "Fund.SettlementLinePaid": _l("Fund paid a merchant"),
    "Fund.DonationReversed": _l("Donation taken out of the fund"),
    "PaymentReference.Used": _l("Payment reference used"),
    "Donation.Received": _l("Donation received"),
    "Donation.Reversed": _l("Donation reversed"),
    "Settlement.Prepared": _l("Settlement prepared"),
    "Settlement.Approved": _l("Settlement approved"),
    "Settlement.LinePaid": _l("Settlement line paid"),
    "Settlement.Cancelled": _l("Settlement cancelled"),
    "Incident.Submitted": _l("Incident reported"),
    "Incident.Verified": _l("Incident verified"),
    "Incident.Rejected": _l("Incident rejected"),
    "Incident.MarkedDuplicate": _l("Incident marked as a duplicate"),
    "Incident.HandlersAssigned": _l("Incident handlers named"),
    "Incident.Resolved": _l("Incident resolved"),
    "Merchant.Registered": _l("Merchant registered"),
    "Merchant.Suspended": _l("Merchant suspended"),
    "Merchant.Reactivated": _l("Merchant reactivated"),
    "Merchant.SettlementReserved": _l("Beans set aside for a settlement"),
    "Merchant.SettlementReleased": _l("Beans released from a settlement"),
    "Redemption.Made": _l("Payment at a shop"),
    "Redemption.Refunded": _l("Payment refunded"),
    "Gift.Given": _l("Gift"),
    "PoolAllocation.Allocated": _l("Beans given from the gift pool"),
    "Correction.Made": _l("Correction"),
    "Allotment.Granted": _l("Monthly allotment granted"),
    "AccountNumberClaimed.Claimed": _l("Account number taken"),
    "CardRegistered.Registered": _l("Card number registered"),
    "PaymentCodeUsed.Used": _l("Payment code used"),
    "CheckinCodeClaimed.Claimed": _l("Check-in code registered"),
    "ApprovalRequest.Prepared": _l("Approval asked for"),
    "ApprovalRequest.Approved": _l("Approved by a second person"),
    "ApprovalRequest.Withdrawn": _l("Request for approval withdrawn"),
    "RuleBook.Established": _l("Programme rules recorded"),
    "RuleBook.ChangeProposed": _l("Rule change proposed"),
    "RuleBook.ChangeApproved": _l("Rule change approved"),
    "RuleBook.ChangeWithdrawn": _l("Rule change withdrawn"),
}

#: events of the same name in several kinds of record
GENERIC: dict[str, Any] = {
    "Opened": _l("Account opened"),
    "Created": _l("Record created"),
    "BeansCredited": _l("Beans credited"),
    "BeansDebited": _l("Beans debited"),
    "ErasureRequested": _l("Erasure of personal data asked for"),
    "PersonalDataErased": _l("Personal data erased"),
    "CreditCorrected": _l("Credit corrected"),
}

#: the kinds of record, in words (the record column, the kind filter)
KIND_WORDS: dict[str, Any] = {
    "Account": _l("Account"),
    "Person": _l("Account"),
    "Volunteer": _l("Volunteer account"),
    "Beneficiary": _l("Beneficiary account"),
    "Pool": _l("Gift pool"),
    "Merchant": _l("Merchant"),
    "Incident": _l("Incident"),
    "Activity": _l("Activity"),
    "Redemption": _l("Payment"),
    "Gift": _l("Gift"),
    "PoolAllocation": _l("Gift pool allocation"),
    "Allotment": _l("Allotment"),
    "Correction": _l("Correction"),
    "Donation": _l("Donation"),
    "Fund": _l("Fund"),
    "Settlement": _l("Settlement"),
    "PaymentReference": _l("Payment reference"),
    "CardRegistered": _l("Card registration"),
    "PaymentCodeUsed": _l("Payment code"),
    "AccountNumberClaimed": _l("Account number"),
    "CheckinCodeClaimed": _l("Check-in code"),
    "ApprovalRequest": _l("Request for approval"),
    "RuleBook": _l("Programme rules"),
    "CreditRecord": _l("Credit"),
    "Team": _l("Team"),
    "Grid": _l("Grid"),
}

FLOW_WORDS: dict[str, Any] = {
    "award": _l("Award"),
    "allotment": _l("Monthly allotment"),
    "gift": _l("Gift"),
    "pool_allocation": _l("From the gift pool"),
    "redemption": _l("Spent at a merchant"),
    "refund": _l("Refund"),
    "settlement": _l("Settlement"),
    "correction": _l("Correction"),
}

METHOD_WORDS: dict[str, Any] = {"payment": _l("Payment code"), "card": _l("Card")}

REQUEST_WORDS: dict[str, Any] = {
    "correction": _l("A correction"),
    "allotment": _l("An allotment batch"),
}

#: how a field's value is written
BEANS, FEN, ACCOUNT, ACCOUNTS, MERCHANT_LINES, USER, TIME, DAY, TEXT, YES_NO = (
    "beans",
    "fen",
    "account",
    "accounts",
    "lines",
    "user",
    "time",
    "day",
    "text",
    "yes_no",
)
REQUEST_KIND, DETAILS, RULES = "request_kind", "details", "rules"
RECORD, FLOW, CATEGORY, METHOD, REBATE, HIDDEN, NUMBER, MONTH = (
    "record",
    "flow",
    "category",
    "method",
    "rebate",
    "hidden",
    "number",
    "month",
)


@dataclass(frozen=True)
class Field:
    label: Any
    how: str


#: every field an event of the ledger carries -> its label and how its value is written
FIELDS: dict[str, Field] = {
    "amount": Field(_l("Amount"), BEANS),
    "beans": Field(_l("Beans"), BEANS),
    "award": Field(_l("Award"), BEANS),
    "award_per_handler": Field(_l("Award for each handler"), BEANS),
    "amount_fen": Field(_l("Amount"), FEN),
    "flow": Field(_l("Kind of movement"), FLOW),
    "counterparty": Field(_l("Other side"), ACCOUNT),
    "ref": Field(_l("Record"), RECORD),
    "day": Field(_l("Day"), DAY),
    "by": Field(_l("By"), USER),
    "opt_in": Field(_l("Shown on the leaderboard"), YES_NO),
    "card_digest": Field(_l("Card fingerprint"), RECORD),
    "has_pin": Field(_l("Has a PIN"), YES_NO),
    "failures": Field(_l("Wrong PINs in a row"), NUMBER),
    "locked": Field(_l("Card locked"), YES_NO),
    "title": Field(_l("Title"), TEXT),
    "name": Field(_l("Name"), TEXT),
    "public": Field(_l("Figures on the public site"), YES_NO),
    "team_id": Field(_l("Team"), RECORD),
    "grid_id": Field(_l("Grid"), RECORD),
    "leader_id": Field(_l("Team leader"), ACCOUNT),
    "starts_at": Field(_l("Starts"), TIME),
    "ends_at": Field(_l("Ends"), TIME),
    "checkin_digest": Field(_l("Check-in code fingerprint"), RECORD),
    "account_id": Field(_l("Account"), ACCOUNT),
    "account_ids": Field(_l("Accounts"), ACCOUNTS),
    "correction_id": Field(_l("Correction"), RECORD),
    "credited_at": Field(_l("Credited"), TIME),
    "donation_id": Field(_l("Donation"), RECORD),
    "settlement_id": Field(_l("Settlement"), RECORD),
    "merchant_id": Field(_l("Merchant"), ACCOUNT),
    "merchant_ids": Field(_l("Merchants"), ACCOUNTS),
    "anonymous": Field(_l("Anonymous"), YES_NO),
    "received_on": Field(_l("Day received"), DAY),
    "receipt_no": Field(_l("Receipt number"), TEXT),
    "reason": Field(_l("Reason"), TEXT),
    "period": Field(_l("Month"), MONTH),
    "cutoff": Field(_l("Cutoff"), TIME),
    "cutoff_day": Field(_l("Cutoff"), DAY),
    "lines": Field(_l("Lines"), MERCHANT_LINES),
    "payment_ref": Field(_l("Bank transfer reference"), TEXT),
    "reporter_id": Field(_l("Reporter"), ACCOUNT),
    "category": Field(_l("Category"), CATEGORY),
    "description": Field(_l("Description"), TEXT),
    "location": Field(_l("Place"), TEXT),
    "urgent": Field(_l("Urgent"), YES_NO),
    "of": Field(_l("Duplicate of"), RECORD),
    "handler_ids": Field(_l("Handlers"), ACCOUNTS),
    "display_name": Field(_l("Name"), TEXT),
    "number": Field(_l("Account number"), TEXT),
    "rebate_bps": Field(_l("Rebate"), REBATE),
    "payer_id": Field(_l("Payer"), ACCOUNT),
    "method": Field(_l("Paid with"), METHOD),
    "note": Field(_l("Note"), TEXT),
    "fingerprint": Field(_l("Request fingerprint"), RECORD),
    "refund_id": Field(_l("Refund"), RECORD),
    "key": Field(_l("Request key"), RECORD),
    "from_id": Field(_l("From"), ACCOUNT),
    "to_id": Field(_l("To"), ACCOUNT),
    "to_pool": Field(_l("To the gift pool"), YES_NO),
    "message": Field(_l("Message"), TEXT),
    "corrects": Field(_l("Takes back"), RECORD),
    "beneficiary_id": Field(_l("Beneficiary"), ACCOUNT),
    "redemption_id": Field(_l("Payment"), RECORD),
    "activity_id": Field(_l("Activity"), RECORD),
    "kind": Field(_l("What is asked"), REQUEST_KIND),
    "details": Field(_l("Details"), DETAILS),
    "result": Field(_l("Result"), DETAILS),
    "granted": Field(_l("Granted"), NUMBER),
    "skipped": Field(_l("Skipped (already granted)"), NUMBER),
    "total": Field(_l("In all"), BEANS),
    "values": Field(_l("Rules"), RULES),
    "change_id": Field(_l("Rule change"), RECORD),
    "effective_at": Field(_l("Takes effect"), TIME),
    # what every event carries: shown in columns of their own, or not at all
    "timestamp": Field(_l("Time"), HIDDEN),
    "originator_topic": Field(_l("Kind of record"), HIDDEN),
}


def event_name(qualname: str) -> str:
    """``Redemption.Made`` in words (the generic name of ``Kind.Opened`` and alike)."""
    words = EVENT_NAMES.get(qualname)
    if words is None:
        words = GENERIC.get(qualname.rpartition(".")[2])
    return str(words) if words is not None else qualname


def kind_name(kind: str) -> str:
    words = KIND_WORDS.get(kind)
    return str(words) if words is not None else kind


def plain(value: Any) -> Any:
    """The stored JSON without the transcoder's ``{"_type_", "_data_"}`` wrappers."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            inner = value["_data_"]
            if "uuid" in str(value["_type_"]) and isinstance(inner, str):
                try:
                    return str(UUID(inner))
                except ValueError:
                    return inner
            return plain(inner)
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def mentions(value: Any, wanted: str) -> bool:
    """Whether the id ``wanted`` appears anywhere among the (plain) values."""
    if isinstance(value, str):
        return value == wanted
    if isinstance(value, dict):
        return any(mentions(item, wanted) for item in value.values())
    if isinstance(value, list):
        return any(mentions(item, wanted) for item in value)
    return False


def account_ids_in(data: dict[str, Any]) -> set[str]:
    """The account ids an event's fields name (to look their names up at once)."""
    found: set[str] = set()
    for name, value in data.items():
        field = FIELDS.get(name)
        if field is None:
            continue
        if field.how == ACCOUNT and isinstance(value, str):
            found.add(value)
        elif field.how == ACCOUNTS and isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
        elif field.how == DETAILS and isinstance(value, dict):
            found |= account_ids_in(value)
        elif field.how == MERCHANT_LINES and isinstance(value, list):
            found.update(
                line["merchant_id"]
                for line in value
                if isinstance(line, dict) and isinstance(line.get("merchant_id"), str)
            )
    return found


def _record(value: Any) -> str:
    text = str(value)
    return text[:8] + "…" if len(text) > 12 else text


def _yes_no(value: Any) -> str:
    return _("Yes") if value else _("No")


def _beans(value: Any) -> str:
    if not isinstance(value, int):
        return str(value)
    return ngettext("%(count)s bean", "%(count)s beans", value, count=beans(value))


def describe(
    qualname: str, data: dict[str, Any], account: Callable[[str], str]
) -> list[tuple[str, str]]:
    """The event's fields as (label, value) in words; ``account(id)`` names an account."""
    kind = qualname.rpartition(".")[0]
    shown: list[tuple[str, str]] = []
    for name, value in data.items():
        field = FIELDS.get(name)
        if field is None:
            shown.append((name, json.dumps(value, ensure_ascii=False)))
            continue
        if field.how == HIDDEN or value is None or value == "":
            continue
        shown.append((str(field.label), _written(field.how, value, kind, account)))
    return shown


def _written(how: str, value: Any, kind: str, account: Callable[[str], str]) -> str:
    writers: dict[str, Callable[[Any], str]] = {
        BEANS: _beans,
        FEN: lambda v: money(v) if isinstance(v, int) else str(v),
        ACCOUNT: lambda v: account(str(v)),
        ACCOUNTS: lambda v: _list(account(str(item)) for item in v),
        MERCHANT_LINES: lambda v: _lines(v, account),
        USER: str,
        TIME: when,
        DAY: day,
        MONTH: month,
        TEXT: str,
        YES_NO: _yes_no,
        RECORD: _record,
        FLOW: lambda v: str(FLOW_WORDS.get(v, v)),
        CATEGORY: lambda v: str(
            (INCIDENT_CATEGORY_NAMES if kind == "Incident" else CATEGORY_NAMES).get(v, v)
        ),
        METHOD: lambda v: str(METHOD_WORDS.get(v, v)),
        REQUEST_KIND: lambda v: str(REQUEST_WORDS.get(v, v)),
        DETAILS: lambda v: _details(v, kind, account),
        RULES: lambda v: (
            _list(f"{n}: {t}" for n, t in change_lines(v)) if isinstance(v, dict) else str(v)
        ),
        REBATE: lambda v: rebate_text(v) if isinstance(v, int) else str(v),
        NUMBER: lambda v: beans(v) if isinstance(v, int) else str(v),
    }
    if isinstance(value, list) and how not in (ACCOUNTS, MERCHANT_LINES):
        return _list(str(item) for item in value)
    return writers.get(how, str)(value)


def _details(value: Any, kind: str, account: Callable[[str], str]) -> str:
    """A request's details or result: its own fields, labelled alike."""
    if not isinstance(value, dict):
        return str(value)
    return "; ".join(
        f"{label}: {text}" for label, text in describe(kind + ".details", value, account)
    )


def _list(items: Iterable[str]) -> str:
    return "; ".join(items)


def _lines(lines: Any, account: Callable[[str], str]) -> str:
    if not isinstance(lines, list):
        return str(lines)
    written = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        written.append(
            _(
                "%(merchant)s: %(beans)s, %(cash)s and a rebate of %(rebate)s",
                merchant=account(str(line.get("merchant_id", ""))),
                beans=_beans(line.get("beans", 0)),
                cash=money(line.get("cash_fen", 0)),
                rebate=money(line.get("rebate_fen", 0)),
            )
        )
    return "; ".join(written)
