"""The programme's rules in words, for the pages (the rules page, /how, the monthly
report): what each rule is called and its value as a resident reads it. The report's
files (PDF, spreadsheet) say the same in both languages (api/report_sections.py)."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.web.common import CATEGORY_NAMES, INCIDENT_CATEGORY_NAMES, rebate_text
from ledger.rules import CHANGEABLE, INCIDENT_CATEGORIES, MERCHANT_CATEGORIES

#: each rule on the record, as the pages name it
RULE_NAMES = {
    "incident_awards": _l("Beans to the reporter of a confirmed report"),
    "handler_award": _l("Beans to each handler of a resolved incident"),
    "max_award": _l("Largest award a coordinator may give"),
    "daily_award_cap": _l("Award cap per volunteer per day"),
    "max_redemption": _l("Most beans in one payment"),
    "beneficiary_categories": _l("Where bean cards may be used"),
    "beneficiary_daily_limit": _l("Most beans a beneficiary may spend per day"),
    "allotment_beans": _l("Monthly allotment per beneficiary (beans)"),
    "allotment_max": _l("Most beans one allotment may grant"),
    "refund_window_days": _l("Days a merchant may refund a payment"),
    "default_rebate_bps": _l("Merchant rebate (default)"),
    "community_name": _l("Community"),
    "community_hotline": _l("Community hotline"),
    "foundation": _l("Foundation holding the fund"),
}


def categories_text(categories: Any) -> str:
    return _(", ").join(
        str(CATEGORY_NAMES.get(c, c)) for c in MERCHANT_CATEGORIES if c in categories
    )


def awards_text(awards: Any) -> str:
    return _("; ").join(
        _(
            "%(category)s %(num)s",
            category=INCIDENT_CATEGORY_NAMES[c],
            num=format_decimal(awards[c]),
        )
        for c in INCIDENT_CATEGORIES
        if c in awards
    )


def value_text(name: str, value: Any) -> str:
    """A rule's value in words."""
    if name == "beneficiary_categories":
        return categories_text(value)
    if name == "incident_awards":
        return awards_text(value)
    if name == "default_rebate_bps":
        return rebate_text(value)
    if name in ("community_name", "community_hotline", "foundation"):
        return value or _("(not stated)")
    return format_decimal(value)


def change_lines(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(the rule's name, its new value) for each rule a change sets, in the pages' order."""
    return [(str(RULE_NAMES[n]), value_text(n, values[n])) for n in CHANGEABLE if n in values]
