"""What anyone may read without signing in (SPEC §6, §7): the monthly public fund reports
and the opt-in volunteer leaderboard. The figures are defined in docs/REPORTS.md; a
report names no volunteer and no beneficiary.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.app import ledger_of
from api.errors import ApiProblem
from api.read_models import reading
from ledger.calendar import parse_period
from ledger.errors import ValidationError
from projections import queries

blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="Public fund reports and the volunteer leaderboard",
)

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


# --- schemas ----------------------------------------------------------------------------


class ReportListItem(Schema):
    period = fields.String(required=True)
    final = fields.Boolean(required=True)


class ReportList(Schema):
    items = fields.List(fields.Nested(ReportListItem), required=True)


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


class FundReport(Schema):
    period = fields.String(required=True)
    final = fields.Boolean(required=True)
    donations = fields.Nested(Donations, required=True)
    payouts = fields.Nested(Payouts, required=True)
    beans = fields.Nested(Beans, required=True)
    fund = fields.Nested(FundFigures, required=True)
    activity = fields.Nested(Activity, required=True)
    chain_head = fields.String(required=True, allow_none=True)


class LeaderboardQuery(Schema):
    period = fields.String(validate=validate.Regexp(PERIOD))


class LeaderboardItem(Schema):
    display_name = fields.String(required=True)
    beans_earned = fields.Integer(required=True)


class Leaderboard(Schema):
    period = fields.String(required=True)
    items = fields.List(fields.Nested(LeaderboardItem), required=True)


# --- endpoints ----------------------------------------------------------------------------


@blp.route("/fund-reports")
class FundReports(MethodView):
    @blp.response(200, ReportList)
    def get(self):
        """Every month from the first recorded event's to the current one, newest first;
        ``final`` is false while the month is still open."""
        current = current_period()
        with reading() as conn:
            periods = queries.report_periods(conn, current)
        return {"items": [{"period": p, "final": p < current} for p in periods]}


@blp.route("/fund-reports/<period>")
class FundReportByPeriod(MethodView):
    @blp.response(200, FundReport)
    def get(self, period):
        """The public fund report of one month ``YYYY-MM`` (SPEC §7)."""
        return fund_report(period)


@blp.route("/leaderboard")
class PublicLeaderboard(MethodView):
    @blp.arguments(LeaderboardQuery, location="query")
    @blp.response(200, Leaderboard)
    def get(self, query):
        """Volunteers who chose to appear, by beans earned in awards in ``period``
        (default: this month), at most 50; no one else is named."""
        period = query.get("period") or current_period()
        with reading() as conn:
            items = queries.leaderboard(conn, period)
        return {"period": period, "items": items}


# --- shared with the report pages ----------------------------------------------------------


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
