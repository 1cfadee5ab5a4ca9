"""The monthly fund report for the public (SPEC §7, §10): ``/reports/{period}`` as a page
in the reader's language inside the site's layout, and as files: ``.csv`` (UTF-8 with a
byte-order mark, wide tables), ``.xlsx`` (one sheet per table) and ``.pdf``. The figures
are those of ``GET /api/v1/public/fund-reports/{period}``; the JSON stays in the API and
the page does not link to it.

A month outside the report's history, or an address that is no month at all, shows the
site's "not found" page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from api.context import ledger_of
from api.errors import ApiProblem
from api.files import download
from api.notice_pdf import notice_pdf
from api.rendering import fund_report_pdf
from api.report_sections import ANONYMOUS
from api.report_view import notes, payout_groups, spending_periods, yuan_per_bean
from api.reports import fund_history, fund_report, payout_settlements
from api.spreadsheets import sheets_csv, sheets_xlsx
from api.web.common import fund_chart
from api.web.report_words import (
    coverage_words,
    flow_chart,
    month_name,
    report_sheets,
    when_text,
)
from api.web.rule_words import change_lines

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(period: str) -> dict[str, Any]:
    """The report of ``period``; the site's 404 page for a month without one."""
    try:
        return fund_report(period)
    except ApiProblem:  # 422 (no month) or 404 (outside the history): no such page
        abort(404)


@bp.get("/reports/<period>")
def report_page(period: str) -> str:
    """The month's report: five sentences first, then every figure explained."""
    report = _report(period)
    groups = payout_groups(report, payout_settlements(period))
    return render_template(
        "web_report.html",
        report=report,
        month=month_name(period),
        groups=groups,
        spending=[month_name(p) for p in spending_periods(groups)],
        month_name=month_name,
        per_bean=yuan_per_bean(report),
        coverage=coverage_words(report["fund"]["coverage_end"]),
        notes=notes(report),
        anonymous=ANONYMOUS,
        flow_chart=flow_chart(report),
        history_chart=fund_chart(upto=period),
        rule_changes=[
            (when_text(change["effective_at"]), change_lines(change["changes"]))
            for change in report.get("rule_changes", [])
        ],
    )


@bp.get("/reports/<period>.csv")
def report_csv(period: str) -> Response:
    """The report's tables as one CSV, headers in the reader's language, yuan amounts."""
    report = _report(period)
    body = sheets_csv(report_sheets(report, payout_settlements(period)))
    return download(body, "text/csv; charset=utf-8", f"goldbean-fund-report-{period}.csv")


@bp.get("/reports/<period>.xlsx")
def report_xlsx(period: str) -> Response:
    """The report as a workbook, one sheet per table."""
    report = _report(period)
    body = sheets_xlsx(report_sheets(report, payout_settlements(period)))
    return download(body, XLSX, f"goldbean-fund-report-{period}.xlsx")


@bp.get("/reports/<period>.pdf")
def report_pdf(period: str) -> Response:
    """The full report as an A4 PDF (Chinese and English, the font embedded)."""
    report = _report(period)
    body = fund_report_pdf(report, fund_history(period), ledger_of().calendar.zone)
    return download(body, "application/pdf", f"goldbean-fund-report-{period}.pdf")


@bp.get("/reports/<period>/notice.pdf")
def report_notice(period: str) -> Response:
    """The month's notice for the notice board (公示): one A4 page in large type, with a
    QR code to this report online."""
    report = _report(period)
    url = f"{request.url_root.rstrip('/')}/reports/{period}"
    body = notice_pdf(report, payout_settlements(period), url)
    return download(body, "application/pdf", f"goldbean-notice-{period}.pdf")
