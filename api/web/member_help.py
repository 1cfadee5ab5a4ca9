"""A volunteer reports incidents and gives beans (SPEC §1, §3, §4).

- ``GET /me/report``, ``POST /me/report`` (``category``, ``description``, ``location``,
  ``urgent``): report an incident; the page lists the volunteer's own reports and where
  they stand. The form's ``form_key`` is the ledger's idempotency key of the report: the
  same form sent twice reports once.
- ``GET /me/give``, ``POST /me/give`` (``to`` = ``pool`` or ``beneficiary``,
  ``beneficiary`` = the number on their card, ``amount``, ``message``): give beans to the
  gift pool or to a beneficiary. A volunteer may not list beneficiaries (the API shows
  them none), so a beneficiary is named by the number printed on their card (the 17-digit
  card number; an 8-digit account number also works). The page never shows whose card it
  is.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.context import ledger_of, reading
from api.errors import ledger_problem
from api.web.member import my_account_id
from api.web.support import (
    back,
    beans,
    form_int,
    ledger_key,
    ledger_message,
    page,
)
from ledger import codes
from ledger.errors import CardRevoked, InvalidCode, LedgerError, NotFound
from ledger.incidents import DUPLICATE, REJECTED, RESOLVED, SUBMITTED, VERIFIED
from ledger.rules import INCIDENT_CATEGORIES
from projections import queries

bp = Blueprint("member_help", __name__)

log = logging.getLogger(__name__)

MAX_BEANS = 1_000_000
MAX_DESCRIPTION, MAX_LOCATION, MAX_MESSAGE = 2000, 200, 200
MY_REPORTS = 50
ACCOUNT_NUMBER_LENGTH = 8
TRUE_VALUES = frozenset({"1", "on", "true", "yes"})
NO_BENEFICIARY = _l("No beneficiary has that card number. Check the number on the card.")

#: the incident categories of ledger/rules.py, in words
INCIDENT_NAMES = {
    "fire": _l("Fire"),
    "public_security": _l("Public security"),
    "dispute": _l("Dispute between neighbours"),
    "sanitation": _l("Sanitation"),
    "resident_need": _l("A resident needs help"),
    "other": _l("Other"),
}
STATUS_NAMES = {
    SUBMITTED: _l("Waiting for a coordinator"),
    VERIFIED: _l("Verified"),
    REJECTED: _l("Not accepted"),
    DUPLICATE: _l("Already reported"),
    RESOLVED: _l("Resolved"),
}


# --- reporting an incident ---------------------------------------------------------------------


def render_report(status: int = 200, form: dict[str, Any] | None = None) -> Any:
    with reading() as conn:
        mine = queries.incidents_reported_by(conn, my_account_id(), MY_REPORTS)
    for report in mine:
        report["category_name"] = INCIDENT_NAMES.get(report["category"], report["category"])
        report["status_name"] = STATUS_NAMES.get(report["status"], report["status"])
        report["short"] = format_datetime(report["at"], "short")
    values = {"category": "", "description": "", "location": "", "urgent": False, "grid": ""}
    values |= form or {}
    page_html = render_template(
        "web_me_report.html",
        categories=INCIDENT_NAMES,
        reports=mine,
        form=values,
        grids=ledger_of().list_grids(),
    )
    return page_html, status


def reported() -> Any:
    flash(_("Thank you: your report was sent. A coordinator will look at it."), "ok")
    return back("/me/report")


@bp.get("/me/report")
@page("volunteer")
def report_form() -> Any:
    """Report an incident; the volunteer's reports and their status."""
    return render_report()


@bp.post("/me/report")
@page("volunteer")
def report() -> Any:
    """Record the report (once, however often the same form is sent)."""
    category = request.form.get("category", "")
    description = request.form.get("description", "").strip()
    location = request.form.get("location", "").strip()
    form = {
        "category": category,
        "description": description,
        "location": location,
        "urgent": request.form.get("urgent", "").strip().lower() in TRUE_VALUES,
        "grid": request.form.get("grid", "").strip(),
    }
    if category not in INCIDENT_CATEGORIES:
        flash(_("Choose what kind of incident it is."), "error")
        return render_report(422, form)
    if not description:
        flash(_("Describe what happened."), "error")
        return render_report(422, form)
    if len(description) > MAX_DESCRIPTION or len(location) > MAX_LOCATION:
        flash(_("The description or the place is too long."), "error")
        return render_report(422, form)
    return reported() if submit_report(form) else render_report(422, form)


def submit_report(form: dict[str, Any]) -> bool:
    """Submit the incident; False (and a flashed message) if the ledger refuses it."""
    try:
        ledger_of().submit_incident(
            my_account_id(),
            form["category"],
            form["description"],
            location=form["location"] or None,
            urgent=form["urgent"],
            key=ledger_key(),  # the same form sent again finds its first report
            grid_id=form.get("grid") or None,  # none chosen: the reporter's own grid
        )
    except LedgerError as error:
        flash(ledger_message(error), "error")
        return False
    return True


# --- giving beans ---------------------------------------------------------------------------------


def render_give(status: int = 200, **values: Any) -> Any:
    """The gift form (``values`` fill it in again, or from a scanned card)."""
    balance = ledger_of().get_balance(my_account_id())
    form = {"to": "pool", "beneficiary": "", "amount": "", "message": ""} | values
    return render_template("web_me_give.html", balance=balance, form=form), status


def beneficiary_id(number: str) -> str | None:
    """The beneficiary whose card (or account) number this is, else None and a message."""
    digits = number.replace(" ", "").replace("-", "")
    ledger = ledger_of()
    try:
        if len(digits) == codes.CARD_LENGTH:
            return str(ledger.beneficiary_for_card(digits).id)
        if len(digits) == ACCOUNT_NUMBER_LENGTH and digits.isascii() and digits.isdigit():
            return ledger.account_id_for_number(digits)
    except CardRevoked as error:
        flash(ledger_message(error), "error")
        return None
    except (InvalidCode, NotFound) as error:
        log.info("no beneficiary for a number given: %s", error)
    flash(str(NO_BENEFICIARY), "error")
    return None


@bp.get("/me/give")
@page("volunteer")
def give_form() -> Any:
    """Give beans to the gift pool or to a beneficiary."""
    return render_give()


@bp.post("/me/give")
@page("volunteer")
def give() -> Any:
    """Record the gift; a repeat of the same form (same form_key) gives once."""
    form = {
        "to": request.form.get("to", ""),
        "beneficiary": request.form.get("beneficiary", "").strip()[:40],
        "amount": request.form.get("amount", "").strip()[:20],
        "message": request.form.get("message", "").strip(),
    }
    if form["to"] == "pool":
        target: str | None = "pool"
    elif form["to"] == "beneficiary":
        if not form["beneficiary"]:
            flash(_("Enter the number on the beneficiary's card."), "error")
            return render_give(422, **form)
        target = beneficiary_id(form["beneficiary"])
    else:
        flash(_("Choose who receives the beans."), "error")
        target = None
    if target is None:
        return render_give(422, **form)
    amount = form_int("amount", minimum=1, maximum=MAX_BEANS)
    if amount is None:
        return render_give(422, **form)
    if len(form["message"]) > MAX_MESSAGE:
        flash(_("The message is too long."), "error")
        return render_give(422, **form)
    ledger = ledger_of()
    account_id = my_account_id()
    try:
        ledger.give(account_id, target, amount, message=form["message"] or None, key=ledger_key())
    except NotFound:  # the number is someone's, but not a beneficiary's
        flash(str(NO_BENEFICIARY), "error")
        return render_give(422, **form)
    except LedgerError as error:
        status, _code = ledger_problem(error)
        flash(ledger_message(error), "error")
        return render_give(status, **form)
    balance = ledger.get_balance(account_id)
    if target == "pool":
        message = _(
            "You gave %(amount)s beans to the gift pool. Your balance is now %(balance)s beans.",
            amount=beans(amount),
            balance=beans(balance),
        )
    else:
        message = _(
            "You gave %(amount)s beans to the beneficiary. Your balance is now %(balance)s beans.",
            amount=beans(amount),
            balance=beans(balance),
        )
    flash(message, "ok")
    return back("/me/give")
