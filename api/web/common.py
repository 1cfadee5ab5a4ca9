"""What the pages of several roles say and show the same way: role and category names,
each role's navigation, rebates and the fund's chart. Bottom floor of the pages: it
imports no page module."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_percent, lazy_gettext
from flask_babel import gettext as _
from markupsafe import Markup

from api.charts import ChartWords, fund_history_svg
from api.report_sections import coverage_percent
from api.reports import current_period, fund_history
from api.web.support import money, month

MEMBER_ROLES = frozenset({"volunteer", "beneficiary"})


STAFF_ROLES = frozenset({"coordinator", "fund_officer", "auditor", "admin"})


ROLE_NAMES = {
    "volunteer": lazy_gettext("Volunteer"),
    "beneficiary": lazy_gettext("Beneficiary"),
    "merchant": lazy_gettext("Merchant"),
    "coordinator": lazy_gettext("Coordinator"),
    "fund_officer": lazy_gettext("Fund officer"),
    "auditor": lazy_gettext("Auditor"),
    "admin": lazy_gettext("Administrator"),
}


#: the incident categories of ledger/rules.py, as staff pages name them
INCIDENT_CATEGORY_NAMES = {
    "fire": lazy_gettext("Fire"),
    "public_security": lazy_gettext("Public security"),
    "dispute": lazy_gettext("Dispute between neighbours"),
    "sanitation": lazy_gettext("Sanitation"),
    "resident_need": lazy_gettext("A resident needs help"),
    "other": lazy_gettext("Other"),
}


CATEGORY_NAMES = {
    "grocery": lazy_gettext("Grocery"),
    "produce": lazy_gettext("Fruit and vegetables"),
    "canteen": lazy_gettext("Community canteen"),
    "restaurant": lazy_gettext("Restaurant"),
    "pharmacy": lazy_gettext("Pharmacy"),
    "services": lazy_gettext("Services"),
    "other": lazy_gettext("Other"),
}


#: each role's part of the navigation: (path, label)
NAV = {
    "volunteer": (
        ("/me", lazy_gettext("My beans")),
        ("/me/code", lazy_gettext("Payment code")),
        ("/me/scan", lazy_gettext("Scan")),
        ("/me/report", lazy_gettext("Report an incident")),
        ("/me/give", lazy_gettext("Give")),
    ),
    "beneficiary": (("/me", lazy_gettext("My beans")),),
    "merchant": (
        ("/shop", lazy_gettext("My shop")),
        ("/pos", lazy_gettext("Till")),
    ),
    "coordinator": (
        ("/staff/incidents", lazy_gettext("Incidents")),
        ("/staff/activities", lazy_gettext("Activities")),
        ("/staff/teams", lazy_gettext("Teams and grids")),
        ("/staff/members", lazy_gettext("Members")),
        ("/staff/allotments", lazy_gettext("Allotments")),
        ("/staff/pool", lazy_gettext("Gift pool")),
        ("/staff/corrections", lazy_gettext("Corrections")),
        ("/staff/honours", lazy_gettext("Honours")),
    ),
    "fund_officer": (
        ("/staff/fund", lazy_gettext("Fund")),
        ("/staff/donations", lazy_gettext("Donations")),
        ("/staff/settlements", lazy_gettext("Settlements")),
    ),
    "auditor": (
        ("/staff/audit", lazy_gettext("Event log")),
        ("/staff/fund", lazy_gettext("Fund")),
    ),
    "admin": (
        ("/staff/users", lazy_gettext("Users")),
        ("/staff/merchants", lazy_gettext("Merchants")),
        ("/staff/rules", lazy_gettext("Programme rules")),
    ),
}


PUBLIC_NAV = (
    ("/merchants", lazy_gettext("Partner merchants")),
    ("/reports", lazy_gettext("Fund reports")),
    ("/teams", lazy_gettext("Teams")),
    ("/how", lazy_gettext("How it works")),
    ("/honours", lazy_gettext("Honours list")),
)


def coverage_text(coverage: Decimal | str | None) -> str:
    """The fund's coverage on a staff page: the percentage every page and file shows
    (:func:`api.report_sections.coverage_percent`), or a note while nothing is owed."""
    return coverage_percent(coverage) or str(NOTHING_OWED)


NOTHING_OWED = lazy_gettext("Nothing is owed (no beans in circulation).")


def rebate_text(bps: int) -> str:
    return format_percent(bps / 10_000, "#,##0.##%")


CHART_MONTHS = 12


def fund_chart(months: int = CHART_MONTHS, upto: str | None = None) -> Markup:
    """The fund's month-end balance and liability over the last ``months`` months up to
    ``upto`` (default: this month), as an inline SVG in the reader's language."""
    history = fund_history(upto or current_period())[-months:]
    words = ChartWords(
        title=_("Fund balance and what the beans in circulation are worth, at each month's end"),
        balance=_("Fund balance"),
        liability=_("Beans' worth"),
        no_history=_("No history yet"),
    )
    return Markup(fund_history_svg(history, money, words, month))  # noqa: S704 - built with html.escape
