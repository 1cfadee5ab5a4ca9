"""A person's notices on their own page: the inbox on ``/me`` (volunteers and
beneficiaries) and on ``/shop`` (a shop owner), with the unread count, and the buttons
that mark one or all of them read:

- ``POST /me/notifications/<id>/read``, ``POST /me/notifications/read`` (all);
- ``POST /shop/notifications/<id>/read``, ``POST /shop/notifications/read`` (all).

:func:`inbox_view` gives the pages the latest notices in the reader's words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash
from flask_babel import gettext as _

from api.notices import inbox, mark_all_read, mark_read, recipient_of
from api.web.common import INCIDENT_CATEGORY_NAMES
from api.web.report_words import month_name
from api.web.support import back, beans, money, page, when, who

bp = Blueprint("inbox", __name__)

SHOWN = 10


def my_recipient() -> str:
    """Whose notices the signed-in person reads (403 for someone without an inbox)."""
    person = who()
    recipient = recipient_of(
        person.role, person.account_id, person.merchant_id, bool(person.terminal_id)
    )
    if recipient is None:
        abort(403)
    return recipient


def words(kind: str, data: dict[str, Any]) -> str:
    """A notice as one sentence in the reader's language."""
    category = INCIDENT_CATEGORY_NAMES.get(str(data.get("category")), _("Other"))
    if kind == "report_verified":
        if data.get("award"):
            return _(
                "Your report (%(category)s) was verified: you earned %(award)s beans. Thank you!",
                category=category,
                award=beans(data["award"]),
            )
        return _("Your report (%(category)s) was verified. Thank you!", category=category)
    if kind == "report_rejected":
        return _(
            "Your report (%(category)s) was not accepted. Reason: %(reason)s",
            category=category,
            reason=data.get("reason", ""),
        )
    if kind == "report_duplicate":
        return _(
            "Your report (%(category)s) had already been reported by someone else, so it "
            "was closed as a duplicate, without an award.",
            category=category,
        )
    if kind == "report_resolved":
        return _(
            "The incident you reported (%(category)s) has been dealt with. Thank you!",
            category=category,
        )
    if kind == "handler_assigned":
        return _(
            "The community office asks you to help deal with an incident (%(category)s).",
            category=category,
        )
    if kind == "handling_resolved":
        return _(
            "The incident you helped with (%(category)s) is resolved: you earned %(award)s "
            "beans. Thank you!",
            category=category,
            award=beans(data.get("award", 0)),
        )
    if kind == "line_paid":
        return _(
            "The fund paid you %(amount)s for %(month)s (payment reference %(ref)s).",
            amount=money(int(data.get("cash_fen", 0)) + int(data.get("rebate_fen", 0))),
            month=month_name(data.get("period")),
            ref=data.get("payment_ref", ""),
        )
    return _("You have a new message.")


def inbox_view(recipient_id: str, limit: int = SHOWN) -> dict[str, Any]:
    """``{items: [{id, at, short, text, read}], unread, more}`` for a page."""
    found = inbox(recipient_id, limit)
    return {
        "items": [
            {
                "id": n["id"],
                "at": n["at"],
                "short": when(n["at"]),
                "text": words(n["kind"], n["data"]),
                "read": n["read"],
            }
            for n in found["items"]
        ],
        "unread": found["unread"],
        "more": found["next_before"] is not None,
    }


def _read_one(notice_id: str, home: str) -> Any:
    if mark_read(my_recipient(), notice_id) is None:
        abort(404)
    return back(f"{home}#inbox")


def _read_all(home: str) -> Any:
    marked = mark_all_read(my_recipient())
    if marked:
        flash(_("All your messages are marked as read."), "ok")
    return back(f"{home}#inbox")


@bp.post("/me/notifications/<notice_id>/read")
@page("volunteer", "beneficiary")
def me_read(notice_id: str) -> Any:
    return _read_one(notice_id, "/me")


@bp.post("/me/notifications/read")
@page("volunteer", "beneficiary")
def me_read_all() -> Any:
    return _read_all("/me")


@bp.post("/shop/notifications/<notice_id>/read")
@page("merchant")
def shop_read(notice_id: str) -> Any:
    return _read_one(notice_id, "/shop")


@bp.post("/shop/notifications/read")
@page("merchant")
def shop_read_all() -> Any:
    return _read_all("/shop")
