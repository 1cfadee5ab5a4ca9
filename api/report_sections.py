"""The monthly fund report's and the merchant statement's figures with their bilingual
labels, as the PDF (api/rendering_pdf.py) shows them. Pure functions of the JSON shapes of
``docs/REPORTS.md``.

Every amount in fen stays an integer: :func:`yuan` formats with integer arithmetic only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from api.dates import day_text, moment_text, month_both

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


#: the programme's rules on the record (ledger/rules.py CHANGEABLE), in both languages
RULE_LABELS = {
    "incident_awards": ("上报奖励", "Awards for reports"),
    "handler_award": ("每位处理人奖励", "Award to each handler"),
    "max_award": ("最高奖励", "Largest award"),
    "daily_award_cap": ("每人每天奖励上限", "Award cap per volunteer per day"),
    "max_redemption": ("单笔付款最多金豆", "Most beans in one payment"),
    "beneficiary_categories": ("金豆卡可用商户", "Where bean cards work"),
    "beneficiary_daily_limit": ("受助居民每天最多花费", "Beneficiary's daily limit"),
    "allotment_beans": ("每月补贴", "Monthly allotment"),
    "allotment_max": ("单次补贴上限", "Most one allotment may grant"),
    "refund_window_days": ("退款期限（天）", "Refund window (days)"),
    "default_rebate_bps": ("商户返利（默认）", "Merchant rebate (default)"),
    "community_name": ("社区名称", "Community"),
    "community_hotline": ("社区服务电话", "Community hotline"),
    "foundation": ("管理基金的基金会", "Foundation holding the fund"),
}
SHOP_LABELS = {
    "grocery": "超市 Grocery",
    "produce": "菜市场 Produce",
    "canteen": "社区食堂 Canteen",
    "restaurant": "餐馆 Restaurant",
    "pharmacy": "药店 Pharmacy",
    "services": "生活服务 Services",
    "other": "其他 Other",
}
REPORT_LABELS = {
    "fire": "火灾隐患 fire",
    "public_security": "治安 security",
    "dispute": "邻里纠纷 dispute between neighbours",
    "sanitation": "环境卫生 sanitation",
    "resident_need": "居民求助 resident need",
    "other": "其他 other",
}
RULE_CHANGE_COLUMNS = [
    ("生效时间", "In force from", False),
    ("规则", "Rule", False),
    ("新规定", "New value", False),
]


def rule_value(name: str, value: Any) -> str:
    """A rule's value in both languages (figures as they are)."""
    if name == "beneficiary_categories":
        return ", ".join(SHOP_LABELS.get(c, c) for c in value)
    if name == "incident_awards":
        return ", ".join(f"{REPORT_LABELS.get(c, c)} {n}" for c, n in value.items())
    if name == "default_rebate_bps":
        return f"{Decimal(value) / 100:f}%"
    if value is None:
        return "（未填写）/ not stated"
    return str(value)


def _rule_changes(report: dict[str, Any], zone: Any) -> Section:
    """The programme's rule changes that took effect in the month."""
    changes = report.get("rule_changes", [])
    items = []
    for change in changes:
        moment = datetime.fromisoformat(change["effective_at"]).astimezone(zone)
        for name, value in change["changes"].items():
            zh, en = RULE_LABELS.get(name, (name, name))
            items.append([moment_text(moment), f"{zh} {en}", rule_value(name, value)])
    rows = [("变更次数", "Changes", count(len(changes)))]
    return Section("rules", "规则变更", "Rule changes", rows, RULE_CHANGE_COLUMNS, items)


def report_sections(report: dict[str, Any], money: Money = yuan, zone: Any = None) -> list[Section]:
    """Every figure of the report, formatted and labelled, in reading order; times in
    ``zone`` (default: the programme's default, Asia/Shanghai)."""
    return [
        _donations(report, money),
        _payouts(report, money),
        _beans(report),
        _fund(report, money),
        _activity(report),
        _rule_changes(report, zone or ZoneInfo("Asia/Shanghai")),
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
