"""What the report page and the notice say about a month, computed once from the public
report (SPEC §7) so both say the same: payouts grouped by the settlement they paid (and
the month of spending it covers), the yuan the fund holds for every bean in circulation,
and which figures need a word of explanation. Bottom floor: pure functions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def payout_groups(
    report: dict[str, Any], settlements: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The month's payouts grouped by settlement, in the order they were paid; each group
    ``{spending_period, settlement_id, items, beans, cash_fen, rebate_fen}``. ``settlements``
    is :func:`api.reports.payout_settlements` (one per payout, in the report's order)."""
    groups: dict[Any, dict[str, Any]] = {}
    items = report["payouts"]["items"]
    for index, item in enumerate(items):
        found = settlements[index] if index < len(settlements) else {}
        key = found.get("settlement_id") or ("unknown", item["paid_on"])
        group = groups.setdefault(
            key,
            {
                "settlement_id": found.get("settlement_id"),
                "spending_period": found.get("spending_period"),
                "items": [],
                "beans": 0,
                "cash_fen": 0,
                "rebate_fen": 0,
            },
        )
        group["items"].append(item)
        group["beans"] += item["beans"]
        group["cash_fen"] += item["cash_fen"]
        group["rebate_fen"] += item["rebate_fen"]
    for group in groups.values():
        group["items"].sort(key=lambda i: (i["merchant"], i["paid_on"]))
    return list(groups.values())


def spending_periods(groups: list[dict[str, Any]]) -> list[str]:
    """The months of spending the payouts paid for, oldest first."""
    return sorted({g["spending_period"] for g in groups if g["spending_period"]})


def yuan_per_bean(report: dict[str, Any]) -> Decimal | None:
    """Yuan the fund held at the month's end for every bean in circulation (two decimals,
    half up), or None when no bean is in circulation."""
    outstanding = report["beans"]["outstanding_end"]
    if outstanding <= 0:
        return None
    fen = Decimal(report["fund"]["balance_end_fen"]) / outstanding
    return (fen / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def notes(report: dict[str, Any]) -> dict[str, bool]:
    """Which figures need a word: more beans retired than redeemed (shops were paid for
    earlier months' spending), a payout with no rebate."""
    beans = report["beans"]
    return {
        "retired_exceeds_redeemed": beans["retired"] > beans["redeemed"],
        "zero_rebate": any(i["rebate_fen"] == 0 for i in report["payouts"]["items"]),
    }
