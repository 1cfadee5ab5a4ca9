"""What anyone may read without signing in (SPEC §6, §7): the monthly public fund reports
and the opt-in volunteer leaderboard. The figures are defined in docs/REPORTS.md; a
report names no volunteer and no beneficiary.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.audit_export import public_export
from api.context import ledger_of, reading
from api.reports import FundReport, current_period, fund_report
from api.schemas import FILE
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


@blp.route("/audit/export")
class PublicAuditExport(MethodView):
    @blp.response(
        200,
        FILE,
        content_type="application/x-ndjson",
        description="the whole event log with its chain values, JSON Lines",
    )
    def get(self):
        """The whole event log as ``goldbean audit export`` writes it: a header line, then
        each event with its chain value. The log holds ids, amounts, times and rules only
        (names, numbers, cards, PINs and check-in codes live beside it), so anyone may
        download it and check the published chain heads and reports with
        ``goldbean audit verify https://this-site``. Written at most once a minute."""
        path, exported = public_export()
        stream = path.open("rb")  # an open file outlives a newer export's cleanup
        day = ledger_of().day_of(exported.exported_at)
        response = Response(
            _chunks(stream), mimetype="application/x-ndjson", direct_passthrough=True
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="goldbean-audit-{day}.jsonl"'
        )
        response.headers["Cache-Control"] = "public, max-age=60"
        return response


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := stream.read(64 * 1024):
            yield chunk
    finally:
        stream.close()
