"""The monthly fund report's and the merchant statement's figures with their bilingual
labels, as the PDF (api/rendering_pdf.py) shows them. Pure functions of the JSON shapes of
``docs/REPORTS.md``.

Every amount in fen stays an integer: :func:`yuan` formats with integer arithmetic only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from api.dates import day_text, month_both

YUAN_SIGN = "¥"


ANONYMOUS = "匿名 / anonymous"


MONTH_OPEN_NOTE = "本月尚未结束 / month still open"


NO_LIABILITY = "无负债 / no liability"


def yuan(fen: int, sign: str = YUAN_SIGN) -> str:
    """Format fen as yuan, exactly: ``123456`` -> ``¥1,234.56``, ``-250`` -> ``-¥2.50``."""
    whole, cents = divmod(abs(int(fen)), 100)
    minus = "-" if fen < 0 else ""
    return f"{minus}{sign}{whole:,}.{cents:02d}"


def count(n: int) -> str:
    """Format a count of beans, people or events with thousands separators."""
    return f"{int(n):,}"


def coverage_percent(value: str | Decimal | None) -> str | None:
    """The coverage ratio as the pages and files show it: a percentage with one decimal
    (``"3.6705"`` -> ``"367.1%"``, half up), or None when nothing is owed. The one place
    that turns the API's ratio into words, so every page and file shows the same figure."""
    if value is None:
        return None
    percent = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{percent:,}%"


def coverage(value: str | None) -> str:
    """The coverage as a percentage (:func:`coverage_percent`), or a note when there is no
    liability."""
    return coverage_percent(value) or NO_LIABILITY


def yes_no(flag: bool) -> str:
    """A bilingual yes/no."""
    return "是 Yes" if flag else "否 No"


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
    ("每月补贴", "Allotments", ("issued", "allotments")),
    ("发放合计", "Issued in total", ("issued", "total")),
    ("兑换", "Redeemed", ("redeemed",)),
    ("退款", "Refunded", ("refunded",)),
    ("赠送", "Gifted", ("gifted",)),
    ("回收", "Retired", ("retired",)),
    ("更正", "Corrected", ("corrected",)),
    ("月末流通", "Outstanding at month end", ("outstanding_end",)),
)


#: Item table columns: (zh, en, numeric -- right-aligned).
DONATION_COLUMNS = [
    ("日期", "Received on", False),
    ("捐款人", "Donor", False),
    ("金额", "Amount", True),
    ("收据号", "Receipt no.", False),
]


PAYOUT_COLUMNS = [
    ("商户", "Merchant", False),
    ("金豆", "Beans", True),
    ("现金", "Cash", True),
    ("返利", "Rebate", True),
    ("支付日期", "Paid on", False),
    ("付款凭证", "Payment ref.", False),
]


def _donations(report: dict[str, Any], money: Money) -> Section:
    """The donations section."""
    d = report["donations"]
    rows = [("笔数", "Count", count(d["count"])), ("合计", "Total", money(d["total_fen"]))]
    items = [
        [day_text(i["received_on"]), i["donor"], money(i["amount_fen"]), i["receipt_no"]]
        for i in d["items"]
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
            day_text(i["paid_on"]),
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
        elif kind == "month":
            text = month_both(value)
        else:
            text = str(value)
        rows.append((zh, en, text))
    rows += [(key, key, plain(v)) for key, v in statement.items() if key not in known]
    return rows


STATEMENT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("period", "月份", "Period", "month"),
    ("redeemed", "兑换金豆", "Beans redeemed", "count"),
    ("refunded", "退款金豆", "Beans refunded", "count"),
    ("net", "净额金豆", "Net beans", "count"),
    ("cash_fen", "应结现金", "Cash due", "money"),
    ("rebate_fen", "返利", "Rebate", "money"),
    ("settled", "已结算金豆", "Beans settled", "count"),
    ("paid", "已付款", "Paid", "bool"),
)


def plain(value: Any) -> str:
    """A JSON leaf as CSV text: integers as they are, ``true``/``false``, null as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
