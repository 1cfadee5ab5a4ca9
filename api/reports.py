"""The monthly public fund report (SPEC §7, docs/REPORTS.md): the current period, one
report as ``GET /api/v1/public/fund-reports/{period}`` serves it, and the fund's history
for the charts. Shared by the public endpoints, the report pages and the auditor's
verification. Bottom floor."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from api.context import ledger_of, reading
from api.errors import ApiProblem
from ledger.calendar import parse_period
from ledger.errors import ValidationError
from projections import queries


class DonationLine(Schema):
    received_on = fields.String(required=True)
    donor = fields.String(required=True, metadata={"description": "匿名 / anonymous if asked"})
    amount_fen = fields.Integer(required=True)
    receipt_no = fields.String(required=True)


class Donations(Schema):
    count = fields.Integer(required=True)
    total_fen = fields.Integer(required=True)
    items = fields.List(fields.Nested(DonationLine), required=True)


class PayoutLine(Schema):
    merchant = fields.String(required=True)
    beans = fields.Integer(required=True)
    cash_fen = fields.Integer(required=True)
    rebate_fen = fields.Integer(required=True)
    paid_on = fields.String(required=True)
    payment_ref = fields.String(required=True)


class Payouts(Schema):
    cash_fen = fields.Integer(required=True)
    rebate_fen = fields.Integer(required=True)
    items = fields.List(fields.Nested(PayoutLine), required=True)


class Issued(Schema):
    incident_awards = fields.Integer(required=True)
    activity_awards = fields.Integer(required=True)
    allotments = fields.Integer(required=True)
    total = fields.Integer(required=True)


class Beans(Schema):
    issued = fields.Nested(Issued, required=True)
    redeemed = fields.Integer(required=True)
    refunded = fields.Integer(required=True)
    gifted = fields.Integer(required=True)
    retired = fields.Integer(required=True)
    corrected = fields.Integer(required=True)
    outstanding_end = fields.Integer(required=True)


class FundFigures(Schema):
    balance_start_fen = fields.Integer(required=True)
    balance_end_fen = fields.Integer(required=True)
    liability_end_fen = fields.Integer(required=True)
    coverage_end = fields.String(
        required=True, allow_none=True, metadata={"description": "4 decimals; null: owes 0"}
    )


class Activity(Schema):
    active_volunteers = fields.Integer(required=True)
    incidents_verified = fields.Integer(required=True)
    redemptions = fields.Integer(required=True)
    merchants_paid = fields.Integer(required=True)


class RuleChangeLine(Schema):
    effective_at = fields.String(
        required=True, metadata={"description": "when it took effect (UTC, ISO 8601)"}
    )
    changes = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "each changed rule's name and its new value"},
    )


class FundReport(Schema):
    period = fields.String(required=True)
    final = fields.Boolean(required=True)
    donations = fields.Nested(Donations, required=True)
    payouts = fields.Nested(Payouts, required=True)
    beans = fields.Nested(Beans, required=True)
    fund = fields.Nested(FundFigures, required=True)
    activity = fields.Nested(Activity, required=True)
    rule_changes = fields.List(
        fields.Nested(RuleChangeLine),
        required=True,
        metadata={"description": "the programme's rule changes that took effect this month"},
    )
    chain_head = fields.String(required=True, allow_none=True)


def current_period() -> str:
    ledger = ledger_of()
    return ledger.calendar.period(ledger.now())


def fund_report(period: str) -> dict[str, Any]:
    """The report of ``period``; 422 for a malformed period, 404 outside the history."""
    try:
        parse_period(period)
    except ValidationError as error:
        raise ApiProblem(422, "validation_error", str(error)) from None
    current = current_period()
    with reading() as conn:
        report = queries.fund_report(conn, period, ledger_of().rules.bean_value_fen, current)
    if report is None:
        raise ApiProblem(404, "not_found", f"there is no fund report for {period}")
    return report


def fund_history(period: str) -> list[dict[str, Any]]:
    """The fund's balance and liability at the end of each month up to ``period``."""
    with reading() as conn:
        periods = queries.report_periods(conn, period)
        return queries.fund_history(conn, periods, ledger_of().rules.bean_value_fen)


def payout_settlements(period: str) -> list[dict[str, Any]]:
    """For each payout of ``period``'s report, in its order: the settlement it paid and
    the month of spending it covers (the report page groups payouts by them)."""
    with reading() as conn:
        return queries.payout_settlements(conn, period)
