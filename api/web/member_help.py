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
  is: the confirmation names the receiver by the last four digits the giver typed.
  The receiver is chosen explicitly (nothing is preselected), and nothing typed is
  ignored: a number typed while the gift pool is chosen is an error beside the number.
  Errors are shown beside their fields and every typed value is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.context import ledger_of, reading
from api.errors import ledger_problem
from api.web.member import my_account_id
from api.web.support import (
    back,
    beans,
    ledger_key,
    ledger_message,
    page,
    when,
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
        report["short"] = when(report["at"])
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


def render_give(status: int = 200, errors: dict[str, str] | None = None, **values: Any) -> Any:
    """The gift form (``values`` fill it in again, or from a scanned card); ``errors``
    are shown beside their fields (``to``, ``beneficiary``, ``amount``, ``message``)."""
    balance = ledger_of().get_balance(my_account_id())
    form = {"to": "", "beneficiary": "", "amount": "", "message": ""} | values
    page_html = render_template("web_me_give.html", balance=balance, form=form, errors=errors or {})
    return page_html, status


def beneficiary_id(number: str) -> tuple[str | None, str]:
    """The beneficiary whose card (or account) number this is, or None and why not."""
    digits = number.replace(" ", "").replace("-", "")
    ledger = ledger_of()
    try:
        if len(digits) == codes.CARD_LENGTH:
            return str(ledger.beneficiary_for_card(digits).id), ""
        if len(digits) == ACCOUNT_NUMBER_LENGTH and digits.isascii() and digits.isdigit():
            return ledger.account_id_for_number(digits), ""
    except CardRevoked as error:
        return None, ledger_message(error)
    except (InvalidCode, NotFound) as error:
        log.info("no beneficiary for a number given: %s", error)
    return None, str(NO_BENEFICIARY)


def whom(number: str) -> str:
    """The receiver as the giver may see it: only the last four digits they typed."""
    digits = number.replace(" ", "").replace("-", "")
    if len(digits) == codes.CARD_LENGTH:
        return _("the beneficiary whose card number ends in %(last)s", last=digits[-4:])
    return _("the beneficiary whose account number ends in %(last)s", last=digits[-4:])


def gift_errors(form: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """Where the beans go, and what is wrong with the form, field by field. A number typed
    while the pool is chosen is an error: the form never ignores what was typed."""
    errors: dict[str, str] = {}
    target: str | None = None
    if form["to"] == "pool":
        if form["beneficiary"]:
            errors["beneficiary"] = _(
                "You chose the gift pool but also typed a number. To give to that "
                "beneficiary, choose “A beneficiary”; to give to the gift pool, clear the number."
            )
        else:
            target = "pool"
    elif form["to"] == "beneficiary":
        if not form["beneficiary"]:
            errors["beneficiary"] = _("Enter the number on the bean card.")
        else:
            target, why = beneficiary_id(form["beneficiary"])
            if target is None:
                errors["beneficiary"] = why
    else:
        errors["to"] = _("Choose who receives the beans: a beneficiary or the gift pool.")
    amount = form["amount"]
    if not (amount.isascii() and amount.isdigit() and 1 <= int(amount) <= MAX_BEANS):
        errors["amount"] = str(
            _l("Enter a whole number from %(low)s to %(high)s.", low=1, high=MAX_BEANS)
        )
    if len(form["message"]) > MAX_MESSAGE:
        errors["message"] = _("The message is too long.")
    return target, errors


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
        "message": request.form.get("message", "").strip()[: MAX_MESSAGE + 1],
    }
    target, errors = gift_errors(form)
    if errors or target is None:
        flash(_("The gift was not sent: please check the marked fields."), "error")
        return render_give(422, errors, **form)
    amount = int(form["amount"])
    ledger = ledger_of()
    account_id = my_account_id()
    try:
        ledger.give(account_id, target, amount, message=form["message"] or None, key=ledger_key())
    except NotFound:  # the number is someone's, but not a beneficiary's
        flash(str(NO_BENEFICIARY), "error")
        return render_give(422, {"beneficiary": str(NO_BENEFICIARY)}, **form)
    except LedgerError as error:
        status, code = ledger_problem(error)
        field = (
            "amount"
            if code in ("insufficient_balance", "limit_exceeded")
            else ("to" if target == "pool" else "beneficiary")
        )
        flash(ledger_message(error), "error")
        return render_give(status, {field: ledger_message(error)}, **form)
    balance = ledger.get_balance(account_id)
    if target == "pool":
        message = _(
            "You gave %(amount)s beans to the gift pool. Your balance is now %(balance)s beans.",
            amount=beans(amount),
            balance=beans(balance),
        )
    else:
        message = _(
            "You gave %(amount)s beans to %(whom)s. Your balance is now %(balance)s beans.",
            amount=beans(amount),
            whom=whom(form["beneficiary"]),
            balance=beans(balance),
        )
    flash(message, "ok")
    return back("/me/give")
