"""The monthly fund report and the merchant statement as CSV, HTML and PDF.

Pure functions of the JSON shapes of ``docs/REPORTS.md``: no Flask request context and no
database. The templates are read with a ``jinja2.Environment`` of its own (autoescaped),
so the functions also work outside an app. The PDF side lives in
:mod:`api.rendering_pdf` (imported on first use, so pages and CSV never load reportlab)
and the SVG charts in :mod:`api.charts`.

Every amount in fen stays an integer: :func:`yuan` formats with integer arithmetic only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.charts import bean_flow_svg, fund_history_svg

YUAN_SIGN = "¥"
ANONYMOUS = "匿名 / anonymous"
MONTH_OPEN_NOTE = "本月尚未结束 / month still open"
NO_LIABILITY = "无负债 / no liability"

#: Free-text fields a spreadsheet might read as a formula; see :func:`_csv_cell`.
_FREE_TEXT = frozenset({"donor", "merchant", "receipt_no", "payment_ref"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def yuan(fen: int, sign: str = YUAN_SIGN) -> str:
    """Format fen as yuan, exactly: ``123456`` -> ``¥1,234.56``, ``-250`` -> ``-¥2.50``."""
    whole, cents = divmod(abs(int(fen)), 100)
    minus = "-" if fen < 0 else ""
    return f"{minus}{sign}{whole:,}.{cents:02d}"


def count(n: int) -> str:
    """Format a count of beans, people or events with thousands separators."""
    return f"{int(n):,}"


def coverage(value: str | None) -> str:
    """The coverage ratio as published (``"1.2500"``), or a note when there is no liability."""
    return NO_LIABILITY if value is None else str(value)


def yes_no(flag: bool) -> str:
    """A bilingual yes/no."""
    return "是 Yes" if flag else "否 No"


# --------------------------------------------------------------------------------------------
# The report's figures with their bilingual labels (shared by the page and the PDF)


class Section(NamedTuple):
    """One part of the report: summary rows and, for donations and payouts, an item table."""

    key: str
    zh: str
    en: str
    rows: list[tuple[str, str, str]]
    columns: list[tuple[str, str, bool]]
    items: list[list[str]]


Money = Callable[[int], str]

_BEAN_ROWS = (
    ("事件奖励", "Incident awards", ("issued", "incident_awards")),
    ("活动奖励", "Activity awards", ("issued", "activity_awards")),
    ("配额", "Allotments", ("issued", "allotments")),
    ("发放合计", "Issued in total", ("issued", "total")),
    ("兑换", "Redeemed", ("redeemed",)),
    ("退还", "Refunded", ("refunded",)),
    ("赠送", "Gifted", ("gifted",)),
    ("回收", "Retired", ("retired",)),
    ("更正", "Corrected", ("corrected",)),
    ("月末流通", "Outstanding at month end", ("outstanding_end",)),
)
#: Item table columns: (zh, en, numeric -- right-aligned).
DONATION_COLUMNS = [("日期", "Received on", False), ("捐赠人", "Donor", False)]
DONATION_COLUMNS += [("金额", "Amount", True), ("收据号", "Receipt no.", False)]
PAYOUT_COLUMNS = [("商户", "Merchant", False), ("金豆", "Beans", True), ("现金", "Cash", True)]
PAYOUT_COLUMNS += [("返利", "Rebate", True), ("支付日期", "Paid on", False)]
PAYOUT_COLUMNS += [("付款凭证", "Payment ref.", False)]


def _donations(report: dict[str, Any], money: Money) -> Section:
    """The donations section."""
    d = report["donations"]
    rows = [("笔数", "Count", count(d["count"])), ("合计", "Total", money(d["total_fen"]))]
    items = [
        [i["received_on"], i["donor"], money(i["amount_fen"]), i["receipt_no"]] for i in d["items"]
    ]
    return Section("donations", "捐款", "Donations", rows, DONATION_COLUMNS, items)


def _payouts(report: dict[str, Any], money: Money) -> Section:
    """The payouts (merchant settlements paid) section."""
    p = report["payouts"]
    rows = [
        ("现金合计", "Cash in total", money(p["cash_fen"])),
        ("返利合计", "Rebates in total", money(p["rebate_fen"])),
    ]
    items = [
        [
            i["merchant"],
            count(i["beans"]),
            money(i["cash_fen"]),
            money(i["rebate_fen"]),
            i["paid_on"],
            i["payment_ref"],
        ]
        for i in p["items"]
    ]
    return Section("payouts", "商户结算", "Payouts to merchants", rows, PAYOUT_COLUMNS, items)


def _beans(report: dict[str, Any]) -> Section:
    """The bean flows section."""
    rows = []
    for zh, en, path in _BEAN_ROWS:
        value: Any = report["beans"]
        for key in path:
            value = value[key]
        rows.append((zh, en, count(value)))
    return Section("beans", "金豆", "Beans", rows, [], [])


def _fund(report: dict[str, Any], money: Money) -> Section:
    """The fund balances section."""
    f = report["fund"]
    rows = [
        ("月初余额", "Balance at start", money(f["balance_start_fen"])),
        ("月末余额", "Balance at end", money(f["balance_end_fen"])),
        ("月末负债", "Liability at end", money(f["liability_end_fen"])),
        ("覆盖率", "Coverage at end", coverage(f["coverage_end"])),
    ]
    return Section("fund", "基金", "Fund", rows, [], [])


def _activity(report: dict[str, Any]) -> Section:
    """The activity counts section."""
    a = report["activity"]
    rows = [
        ("活跃志愿者", "Active volunteers", count(a["active_volunteers"])),
        ("已核实事件", "Incidents verified", count(a["incidents_verified"])),
        ("兑换次数", "Redemptions", count(a["redemptions"])),
        ("已付款商户", "Merchants paid", count(a["merchants_paid"])),
    ]
    return Section("activity", "社区活动", "Activity", rows, [], [])


def report_sections(report: dict[str, Any], money: Money = yuan) -> list[Section]:
    """Every figure of the report, formatted and labelled, in reading order."""
    return [
        _donations(report, money),
        _payouts(report, money),
        _beans(report),
        _fund(report, money),
        _activity(report),
    ]


STATEMENT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("period", "月份", "Period", "text"),
    ("redeemed", "兑换金豆", "Beans redeemed", "count"),
    ("refunded", "退还金豆", "Beans refunded", "count"),
    ("net", "净额金豆", "Net beans", "count"),
    ("cash_fen", "应结现金", "Cash due", "money"),
    ("rebate_fen", "返利", "Rebate", "money"),
    ("settled", "已结算金豆", "Beans settled", "count"),
    ("paid", "已付款", "Paid", "bool"),
)


def statement_rows(statement: dict[str, Any], money: Money = yuan) -> list[tuple[str, str, str]]:
    """``(zh, en, formatted value)`` for every field of a merchant statement."""
    known = {key for key, *_ in STATEMENT_FIELDS}
    rows = []
    for key, zh, en, kind in STATEMENT_FIELDS:
        value = statement[key]
        if kind == "count":
            text = count(value)
        elif kind == "money":
            text = money(value)
        elif kind == "bool":
            text = yes_no(bool(value))
        else:
            text = str(value)
        rows.append((zh, en, text))
    rows += [(key, key, _plain(v)) for key, v in statement.items() if key not in known]
    return rows


# --------------------------------------------------------------------------------------------
# CSV


def _plain(value: Any) -> str:
    """A JSON leaf as CSV text: integers as they are, ``true``/``false``, null as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _csv_cell(field: str, value: Any) -> str:
    """A CSV value; free text that a spreadsheet would run as a formula gets a ``'`` first.

    Only names and references typed by people are guarded (a donor called ``=SUM(A1)``),
    never figures, so negative amounts stay as they are.
    """
    text = _plain(value)
    if field in _FREE_TEXT and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf of a JSON value with its path; list items are numbered from 1."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for number, inner in enumerate(value, start=1):
            yield from _leaves(inner, (*path, str(number)))
    else:
        yield path, value


def fund_report_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(section, item, field, value)`` for every figure of the report.

    Top-level scalars are in section ``report``; ``beans.issued.total`` is
    ``("beans", "issued", "total")``; the n-th donation's donor is
    ``("donations", "n", "donor")``.
    """
    rows = []
    for path, value in _leaves(report):
        if len(path) == 1:
            section, item = "report", ""
        else:
            section = path[0]
            item = ".".join(p for p in path[1:-1] if p != "items")
        rows.append((section, item, path[-1], _csv_cell(path[-1], value)))
    return rows


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text (``\\r\\n`` line ends, no BOM) of a header and rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def fund_report_csv(report: dict[str, Any]) -> str:
    """The fund report as CSV rows ``section,item,field,value`` (null is an empty value)."""
    return _write_csv(["section", "item", "field", "value"], list(fund_report_rows(report)))


def statement_csv(statement: dict[str, Any], merchant_name: str) -> str:
    """A merchant statement as CSV rows ``field,value``, the merchant's name first."""
    rows = [("merchant", _csv_cell("merchant", merchant_name))]
    rows += [(str(key), _plain(value)) for key, value in statement.items()]
    return _write_csv(["field", "value"], rows)


# --------------------------------------------------------------------------------------------
# HTML


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """The Jinja environment of ``api/templates`` (autoescaped, strict about undefined)."""
    env = Environment(
        loader=PackageLoader("api", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    return env


def report_links(period: str) -> dict[str, str]:
    """The addresses of the same report as CSV, PDF and JSON."""
    return {
        "csv": f"/reports/{period}.csv",
        "pdf": f"/reports/{period}.pdf",
        "json": f"/api/v1/public/fund-reports/{period}",
    }


def fund_report_html(report: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The fund report as a complete HTML5 page with inline SVG charts."""
    template = template_environment().get_template("fund_report.html")
    return template.render(
        report=report,
        sections=report_sections(report),
        links=report_links(report["period"]),
        month_open_note=MONTH_OPEN_NOTE,
        flow_chart=Markup(bean_flow_svg(report)),
        history_chart=Markup(fund_history_svg(history, yuan)),
    )


# --------------------------------------------------------------------------------------------
# PDF (reportlab is imported only when a PDF is asked for)


def fund_report_pdf(report: dict[str, Any], history: list[dict[str, Any]]) -> bytes:
    """The fund report as an A4 PDF; see :func:`api.rendering_pdf.fund_report_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.fund_report_pdf(report, history)


def statement_pdf(statement: dict[str, Any], merchant_name: str) -> bytes:
    """A merchant statement as a one-page PDF; see :func:`api.rendering_pdf.statement_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.statement_pdf(statement, merchant_name)
