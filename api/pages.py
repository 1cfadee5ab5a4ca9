"""Public pages (SPEC §10): the monthly fund report as a page, and as CSV and PDF with the
same figures as ``GET /api/v1/public/fund-reports/{period}``. The people's other pages
come with the web pages issue."""

from __future__ import annotations

from flask import Blueprint, Response

from api.files import download
from api.rendering import fund_report_csv, fund_report_html, fund_report_pdf
from api.reports import fund_history, fund_report

pages = Blueprint("pages", __name__)


@pages.get("/reports/<period>")
def report_page(period: str) -> Response:
    report = fund_report(period)
    html = fund_report_html(report, fund_history(period))
    return Response(html, mimetype="text/html")


@pages.get("/reports/<period>.csv")
def report_csv(period: str) -> Response:
    report = fund_report(period)
    body = fund_report_csv(report).encode("utf-8")
    return download(body, "text/csv", f"goldbean-fund-report-{period}.csv")


@pages.get("/reports/<period>.pdf")
def report_pdf(period: str) -> Response:
    report = fund_report(period)
    body = fund_report_pdf(report, fund_history(period))
    return download(body, "application/pdf", f"goldbean-fund-report-{period}.pdf")
