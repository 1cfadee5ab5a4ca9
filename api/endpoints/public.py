"""What anyone may read without signing in (SPEC §6, §7): the monthly public fund reports
and the opt-in volunteer leaderboard. The figures are defined in docs/REPORTS.md; a
report names no volunteer and no beneficiary.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import reading
from api.reports import FundReport, current_period, fund_report
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






