"""Pages for anyone, without signing in (SPEC §1 "public", §10): the partner merchants,
the list of monthly fund reports with the fund's recent history, how the programme
works, and the volunteers' leaderboard (``/leaderboard?period=YYYY-MM``). They name no
beneficiary, and no volunteer but those who chose to appear on the leaderboard (the data
of ``GET /api/v1/public/leaderboard``): merchants are businesses, and the fund figures
are the public reports' (which name nobody either).
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, render_template, request

from api.context import ledger_of, reading
from api.reports import current_period
from api.teams import team_figures
from api.web.admin import rebate_text
from api.web.common import CATEGORY_NAMES
from api.web.fund_pages import fund_chart
from api.web.rule_words import value_text
from ledger.calendar import previous_period
from ledger.errors import NotFound
from ledger.rules import MERCHANT_CATEGORIES
from projections import queries

bp = Blueprint("public", __name__)

log = logging.getLogger(__name__)


@bp.get("/merchants")
def public_merchants() -> str:
    """The active partner merchants, by category, and where elderly residents' cards work."""
    ledger = ledger_of()
    with reading() as conn:
        accounts = queries.merchants(conn)
    by_category: dict[str, list[str]] = {}
    for account in accounts:
        try:
            merchant = ledger.get_merchant(account["id"])
        except NotFound:
            log.warning("merchant %s is in the read model but not in the ledger", account["id"])
            continue
        if merchant.status == "active":
            by_category.setdefault(merchant.category, []).append(account["display_name"])
    groups = [
        {
            "category": category,
            "name": CATEGORY_NAMES.get(category, category),
            "merchants": by_category[category],
            "cards": category in ledger.rules.beneficiary_categories,
        }
        for category in (*MERCHANT_CATEGORIES, *sorted(set(by_category) - set(MERCHANT_CATEGORIES)))
        if category in by_category
    ]
    return render_template(
        "web_public_merchants.html",
        groups=groups,
        count=sum(len(group["merchants"]) for group in groups),
    )


@bp.get("/reports")
def public_reports() -> str:
    """Every month's fund report, newest first, and the fund's recent month ends."""
    current = current_period()
    with reading() as conn:
        periods = queries.report_periods(conn, current)
    return render_template(
        "web_public_reports.html",
        periods=periods,
        current=current,
        chart=fund_chart() if periods else None,
    )


@bp.get("/how")
def public_how() -> str:
    """How the programme works, in plain words."""
    rules = ledger_of().rules
    return render_template(
        "web_public_how.html",
        rules=rules,
        rebate=rebate_text(rules.default_rebate_bps),
        card_shops=value_text("beneficiary_categories", rules.beneficiary_categories),
    )


PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@bp.get("/leaderboard")
def public_leaderboard() -> str:
    """The volunteers who chose to appear, by beans earned in a month (this one unless
    ``?period=YYYY-MM``); nobody else is named or counted."""
    current = current_period()
    asked = request.args.get("period", "")
    period = asked if PERIOD.match(asked) and asked <= current else current
    with reading() as conn:
        items = queries.leaderboard(conn, period)
    return render_template(
        "web_public_leaderboard.html",
        items=items,
        period=period,
        current=current,
        previous=previous_period(period),
        following=None if period >= current else next_period(period),
    )


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


@bp.get("/teams")
def public_teams() -> str:
    """The figures of the teams that chose to show them (counts and beans, no names)."""
    ledger = ledger_of()
    teams = [t for t in ledger.list_teams() if t.public]
    return render_template("web_public_teams.html", teams=team_figures(ledger, reading, teams))
