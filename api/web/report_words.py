"""The monthly fund report in the reader's language: month names, the words of its charts
and its tables as the CSV and XLSX downloads hold them (headers in Chinese or English,
amounts in yuan). Shared by the report page and the shop's pages; it imports no page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from api.charts import bean_flow_svg
from api.report_sections import ANONYMOUS, coverage_percent
from api.report_view import payout_groups
from api.spreadsheets import Sheet, yuan_amount
from api.web.rule_words import change_lines
from api.web.support import day, month, when


def month_name(period: str | None) -> str:
    """``2026-05`` as the reader says it: 2026年5月, May 2026."""
    return month(period)


def flow_names() -> list[str]:
    """The bean flows of :data:`api.charts.FLOW_LABELS`, in their order."""
    return [
        _("Given out"),
        _("Spent at shops"),
        _("Refunded"),
        _("Given as gifts"),
        _("Paid for, retired"),
        _("Corrected"),
    ]


def flow_chart(report: dict[str, Any]) -> Markup:
    title = _("Beans this month, by kind")
    svg = bean_flow_svg(report, flow_names(), title)
    return Markup(svg)  # noqa: S704 - built with html.escape


def coverage_words(ratio: str | None) -> str:
    """The coverage as a percentage, or that nothing is owed."""
    return coverage_percent(ratio) or _("nothing owed")


def report_sheets(report: dict[str, Any], settlements: list[dict[str, Any]]) -> list[Sheet]:
    """The report as tables: the month in one wide row, then donations, payouts (with the
    month of spending each paid for) and the bean flows."""
    donations, payouts, beans, fund = (
        report["donations"],
        report["payouts"],
        report["beans"],
        report["fund"],
    )
    summary = Sheet(
        _("Summary"),
        [
            _("Month"),
            _("Month closed"),
            _("Donations"),
            _("Donations (yuan)"),
            _("Paid to shops (yuan)"),
            _("Rebates (yuan)"),
            _("Fund at start (yuan)"),
            _("Fund at end (yuan)"),
            _("Beans' worth at end (yuan)"),
            _("Coverage"),
            _("Beans in circulation at end"),
            _("Chain head"),
        ],
        [
            [
                month(report["period"]),
                _("yes") if report["final"] else _("no"),
                donations["count"],
                yuan_amount(donations["total_fen"]),
                yuan_amount(payouts["cash_fen"]),
                yuan_amount(payouts["rebate_fen"]),
                yuan_amount(fund["balance_start_fen"]),
                yuan_amount(fund["balance_end_fen"]),
                yuan_amount(fund["liability_end_fen"]),
                coverage_words(fund["coverage_end"]),
                beans["outstanding_end"],
                report["chain_head"] or "",
            ]
        ],
    )
    donation_sheet = Sheet(
        _("Donations"),
        [_("Received on"), _("Donor"), _("Amount (yuan)"), _("Receipt no.")],
        [
            [
                day(i["received_on"]),
                _("anonymous") if i["donor"] == ANONYMOUS else i["donor"],
                yuan_amount(i["amount_fen"]),
                i["receipt_no"],
            ]
            for i in donations["items"]
        ],
    )
    payout_rows = []
    for group in payout_groups(report, settlements):
        for i in group["items"]:
            payout_rows.append(
                [
                    month(group["spending_period"]),
                    i["merchant"],
                    i["beans"],
                    yuan_amount(i["cash_fen"]),
                    yuan_amount(i["rebate_fen"]),
                    day(i["paid_on"]),
                    i["payment_ref"],
                ]
            )
    payout_sheet = Sheet(
        _("Payments to shops"),
        [
            _("For spending in"),
            _("Shop"),
            _("Beans"),
            _("Payment (yuan)"),
            _("Rebate (yuan)"),
            _("Paid on"),
            _("Payment reference"),
        ],
        payout_rows,
    )
    issued = beans["issued"]
    bean_sheet = Sheet(
        _("Beans"),
        [
            _("Awarded for incidents"),
            _("Awarded for activities"),
            _("Monthly allotments"),
            _("Given out in total"),
            _("Spent at shops"),
            _("Refunded"),
            _("Given as gifts"),
            _("Paid for, retired"),
            _("Corrected"),
            _("In circulation at end"),
        ],
        [
            [
                issued["incident_awards"],
                issued["activity_awards"],
                issued["allotments"],
                issued["total"],
                beans["redeemed"],
                beans["refunded"],
                beans["gifted"],
                beans["retired"],
                beans["corrected"],
                beans["outstanding_end"],
            ]
        ],
    )
    rule_sheet = Sheet(
        _("Rule changes"),
        [_("In force from"), _("Rule"), _("New value")],
        [
            [when_text(change["effective_at"]), name, value]
            for change in report.get("rule_changes", [])
            for name, value in change_lines(change["changes"])
        ],
    )
    return [summary, donation_sheet, payout_sheet, bean_sheet, rule_sheet]


def when_text(instant: str) -> str:
    """A moment of the report (UTC, ISO 8601) in the programme's zone and the reader's
    language."""
    return when(datetime.fromisoformat(instant))


def statement_sheets(
    shop: str,
    statement: dict[str, Any],
    sales: list[dict[str, Any]],
    lines: list[dict[str, Any]],
) -> list[Sheet]:
    """A shop's month as tables: the statement in one row, every sale (兑换明细) with its
    time and what was refunded of it, and the payments for the month."""
    summary = Sheet(
        _("Statement"),
        [
            _("Shop"),
            _("Month"),
            _("Beans taken"),
            _("Beans refunded"),
            _("Net beans"),
            _("Payment due (yuan)"),
            _("Rebate (yuan)"),
            _("Beans settled"),
            _("Paid"),
        ],
        [
            [
                shop,
                month(statement["period"]),
                statement["redeemed"],
                statement["refunded"],
                statement["net"],
                yuan_amount(statement["cash_fen"]),
                yuan_amount(statement["rebate_fen"]),
                statement["settled"],
                _("yes") if statement["paid"] else _("no"),
            ]
        ],
    )
    sale_sheet = Sheet(
        _("Sales"),
        [_("Time"), _("Beans"), _("Refunded"), _("Net beans"), _("Sale no.")],
        [
            [
                when(sale["at"]),
                sale["amount"],
                sale["refunded"],
                sale["amount"] - sale["refunded"],
                sale["id"],
            ]
            for sale in sales
        ],
    )
    payment_sheet = Sheet(
        _("Payments"),
        [
            _("Beans"),
            _("Payment (yuan)"),
            _("Rebate (yuan)"),
            _("Paid on"),
            _("Payment reference"),
        ],
        [
            [
                line["beans"],
                yuan_amount(line["cash_fen"]),
                yuan_amount(line["rebate_fen"]),
                day(line["paid_on"]) or _("not paid yet"),
                line["payment_ref"] or "",
            ]
            for line in lines
        ],
    )
    return [summary, sale_sheet, payment_sheet]
