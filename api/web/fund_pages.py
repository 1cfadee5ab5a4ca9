"""The fund officer's pages (SPEC §1, §4): the fund's position with its history, cash
donations, and the monthly settlements that pay merchants for the beans they redeemed.

Who may do what is the JSON API's rule (api/endpoints/fund.py): every staff role reads
the fund's position (``GET /fund``); fund officers record donations and prepare, approve
and pay settlements; auditors also read settlements (``GET /settlements/{id}``) and, as
they read everything, the list of donations. A settlement is approved by another fund
officer than the one who prepared it (four eyes: the ledger refuses, the page says why).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from api.amounts import parse_yuan
from api.context import ledger_of, reading, store_of
from api.payees import payees_of
from api.web.common import coverage_text, fund_chart
from api.web.support import (
    actor,
    attempt,
    back,
    confirmation,
    ledger_key,
    ledger_message,
    money,
    month,
    page,
    who,
)
from ledger.errors import InvalidState, LedgerError, NotFound
from ledger.fund import MAX_DONATION_FEN, MAX_DONOR_NAME, MAX_REASON, MAX_RECEIPT_NO
from projections import queries

bp = Blueprint("fund", __name__)

STAFF = ("coordinator", "fund_officer", "auditor", "admin")
OFFICER = "fund_officer"
READERS = (OFFICER, "auditor")  # GET /settlements/{id}; auditors read everything

STATUS_NAMES = {
    "prepared": lazy_gettext("Prepared, waiting for approval"),
    "approved": lazy_gettext("Approved, being paid"),
    "paid": lazy_gettext("Paid out"),
    "cancelled": lazy_gettext("Cancelled"),
}


# --- the fund's position ---------------------------------------------------------------------


@bp.get("/staff/fund")
@page(*STAFF)
def fund_overview() -> str:
    """The fund's cash, what it owes for the beans in circulation, and their ratio."""
    position = ledger_of().get_fund()
    return render_template(
        "web_fund_overview.html",
        position=position,
        coverage=coverage_text(position.coverage),
        chart=fund_chart(),
        bean_value_fen=ledger_of().rules.bean_value_fen,
    )


# --- donations ---------------------------------------------------------------------------------


def yuan_to_fen(text: str) -> int | None:
    """Yuan as typed (``12``, ``12.34``, ``5,000``, ``5，000``, full-width digits:
    api/amounts.py) as exact fen; None for anything else, including a third decimal
    place (a fen cannot be split)."""
    return parse_yuan(text)


def _today() -> date:
    ledger = ledger_of()
    return date.fromisoformat(ledger.day_of(ledger.now()))


def _donation_form() -> dict[str, Any]:
    return {
        "donor": "",
        "anonymous": False,
        "amount_yuan": "",
        "received_on": _today().isoformat(),
        "receipt_no": "",
    }


def _donations_page(form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    with reading() as conn:
        donations = queries.recent_donations(conn)
    page_html = render_template(
        "web_fund_donations.html",
        form=form,
        errors=errors,
        donations=donations,
        can_record=who().role == OFFICER,
        today=_today().isoformat(),
    )
    return page_html, status


@bp.get("/staff/donations")
@page(*READERS)
def fund_donations() -> Any:
    """The latest donations, and (for fund officers) the form to record one."""
    return _donations_page(_donation_form(), {})


@bp.post("/staff/donations")
@page(OFFICER)
def fund_record_donation() -> Any:
    """Record a cash donation (POST /api/v1/fund/donations): the amount is typed in yuan
    and recorded in exact fen."""
    donor = request.form.get("donor", "").strip()
    anonymous = request.form.get("anonymous") in ("1", "on", "true")
    amount_yuan = request.form.get("amount_yuan", "").strip()
    received_text = request.form.get("received_on", "").strip()
    receipt_no = request.form.get("receipt_no", "").strip()
    form: dict[str, Any] = {
        "donor": donor,
        "anonymous": anonymous,
        "amount_yuan": amount_yuan,
        "received_on": received_text,
        "receipt_no": receipt_no,
    }
    errors: dict[str, str] = {}
    amount_fen = yuan_to_fen(amount_yuan)
    if amount_fen is None:
        errors["amount_yuan"] = _(
            "Enter the amount in yuan with at most two decimal places, for example 12.34."
        )
    elif amount_fen < 1:
        errors["amount_yuan"] = _("The amount must be at least ¥0.01.")
    elif amount_fen > MAX_DONATION_FEN:
        errors["amount_yuan"] = _("That amount is too large.")
    received_on = None
    try:
        received_on = date.fromisoformat(received_text)
    except ValueError:
        errors["received_on"] = _("Enter the day the money was received (YYYY-MM-DD).")
    if received_on is not None and received_on > _today():
        errors["received_on"] = _("The day received cannot be in the future.")
    if not anonymous and not donor:
        errors["donor"] = _("Enter the donor's name, or tick “Anonymous”.")
    if len(donor) > MAX_DONOR_NAME:
        errors["donor"] = _("The donor's name has at most %(num)d characters.", num=MAX_DONOR_NAME)
    if not receipt_no or len(receipt_no) > MAX_RECEIPT_NO:
        errors["receipt_no"] = _(
            "Enter the receipt number (at most %(num)d characters).", num=MAX_RECEIPT_NO
        )
    if errors or amount_fen is None or received_on is None:
        flash(_("The donation was not recorded. Check the marked fields."), "error")
        return _donations_page(form, errors, 422)
    fen, day = amount_fen, received_on
    recorded = attempt(
        lambda: ledger_of().record_donation(
            donor=donor or None,
            anonymous=anonymous,
            amount_fen=fen,
            received_on=day,
            receipt_no=receipt_no,
            by=actor(),
        )
    )
    if recorded is None:
        return _donations_page(form, {}, 409)
    flash(
        _(
            "Donation of %(amount)s recorded (receipt %(receipt)s).",
            amount=money(recorded.amount_fen),
            receipt=recorded.receipt_no,
        ),
        "ok",
    )
    return back("/staff/donations")


@bp.route("/staff/donations/reverse", methods=["GET", "POST"])
@page(OFFICER)
def fund_reverse_donation() -> Any:
    """Reverse a donation recorded by mistake (POST /fund/donations/{id}/reverse): the
    officer first sees the donation and gives a reason, then confirms. Another officer
    than the one who recorded it (the ledger refuses, the page says why)."""
    ledger = ledger_of()
    receipt_no = request.values.get("receipt_no", "").strip()
    found = ledger.find_donation(receipt_no) if receipt_no else None
    if found is None:
        abort(404)
    reason = request.form.get("reason", "").strip()
    if request.method == "GET" or found.reversed:
        if found.reversed:
            flash(_("This donation is already reversed."), "error")
        return render_template(
            "web_fund_reverse_donation.html",
            donation=found,
            reason=reason,
            error=None,
            recorded_by_me=found.recorded_by == who().username,
        )
    if not reason or len(reason) > MAX_REASON:
        error = _("Say why the donation is reversed (at most %(num)d characters).", num=MAX_REASON)
        page_html = render_template(
            "web_fund_reverse_donation.html",
            donation=found,
            reason=reason,
            error=error,
            recorded_by_me=found.recorded_by == who().username,
        )
        return page_html, 422
    reversed_ = attempt(lambda: ledger.reverse_donation(found.id, reason, actor()))
    if reversed_ is None:
        return back(f"/staff/donations/reverse?receipt_no={found.receipt_no}")
    flash(
        _(
            "Donation of %(amount)s reversed (receipt %(receipt)s).",
            amount=money(reversed_.amount_fen),
            receipt=reversed_.receipt_no,
        ),
        "ok",
    )
    return back("/staff/donations")


# --- settlements -------------------------------------------------------------------------------


def _merchant_names(ids: set[str]) -> dict[str, str]:
    """The merchants' public names, from the ledger (a read model that lags behind a
    merchant just registered would leave its id on the page)."""
    ledger = ledger_of()
    names = {}
    for merchant_id in ids:
        try:
            names[merchant_id] = ledger.get_merchant(merchant_id).name
        except NotFound:
            names[merchant_id] = merchant_id
    return names


@bp.get("/staff/settlements")
@page(*READERS)
def fund_settlements() -> str:
    """Every settlement with its status and totals; fund officers prepare a new one."""
    ledger = ledger_of()
    with reading() as conn:
        rows = queries.settlements(conn)
    items = []
    for row in rows:
        try:
            view = ledger.get_settlement(row["settlement_id"])
        except NotFound:  # the read model is ahead of nothing; skip a vanished id
            continue
        items.append(
            {
                **row,
                "status": view.status,
                "status_name": STATUS_NAMES.get(view.status, view.status),
                "cutoff": ledger.day_of(view.cutoff),
                "prepared_by": view.prepared_by,
                "approved_by": view.approved_by,
                "total_fen": view.total_fen,
            }
        )
    items.sort(key=lambda item: (item["period"], item["cutoff"]), reverse=True)
    default_cutoff, latest_cutoff = ledger.settlement_cutoffs()
    return render_template(
        "web_fund_settlements.html",
        settlements=items,
        can_prepare=who().role == OFFICER,
        default_cutoff=default_cutoff.isoformat(),
        latest_cutoff=latest_cutoff.isoformat(),
    )


@bp.post("/staff/settlements")
@page(OFFICER)
def fund_prepare_settlement() -> Any:
    """Prepare a settlement of the beans redeemed before the cutoff (POST /settlements)."""
    raw = request.form.get("cutoff", "").strip()
    cutoff = None
    if raw:
        try:
            cutoff = date.fromisoformat(raw)
        except ValueError:
            flash(_("Enter the cutoff as a date (YYYY-MM-DD), or leave it empty."), "error")
            return back("/staff/settlements")
        if cutoff > ledger_of().settlement_cutoffs()[1]:
            flash(_("The cutoff can be tomorrow at the latest."), "error")
            return back("/staff/settlements")
    prepared = attempt(
        lambda: ledger_of().prepare_settlement(actor(), cutoff=cutoff, key=ledger_key())
    )
    if prepared is None:
        return back("/staff/settlements")
    flash(
        _(
            "Settlement for %(period)s prepared. Another fund officer must approve it.",
            period=month(prepared.period),
        ),
        "ok",
    )
    return back(f"/staff/settlements/{prepared.id}")


@bp.get("/staff/settlements/<settlement_id>")
@page(*READERS)
def fund_settlement(settlement_id: str) -> str:
    """A settlement's lines: each merchant by name with its beans, cash, rebate and
    payment; for fund officers, once approved, the payment list to hand to the bank and
    the lines whose merchant has no bank details yet."""
    ledger = ledger_of()
    view = ledger.get_settlement(settlement_id)  # NotFound: the 404 page
    names = _merchant_names({line.merchant_id for line in view.lines})
    lines = [
        {
            "merchant_id": line.merchant_id,
            "merchant": names.get(line.merchant_id, line.merchant_id),
            "beans": line.beans,
            "cash_fen": line.cash_fen,
            "rebate_fen": line.rebate_fen,
            "due_fen": line.cash_fen + line.rebate_fen,
            "paid_at": line.paid_at,
            "payment_ref": line.payment_ref,
        }
        for line in view.lines
    ]
    lines.sort(key=lambda line: (line["merchant"], line["merchant_id"]))
    person = who()
    is_officer = person.role == OFFICER
    if is_officer:  # unpaid lines whose shop has no bank details (the list names them)
        known = payees_of(store_of(), [line.merchant_id for line in view.lines])
        for line in lines:
            line["no_bank_details"] = line["paid_at"] is None and line["merchant_id"] not in known
    return render_template(
        "web_fund_settlement.html",
        settlement=view,
        status_name=STATUS_NAMES.get(view.status, view.status),
        cutoff=ledger.day_of(view.cutoff),
        lines=lines,
        totals={
            "beans": sum(line["beans"] for line in lines),
            "cash_fen": sum(line["cash_fen"] for line in lines),
            "rebate_fen": sum(line["rebate_fen"] for line in lines),
            "due_fen": view.total_fen,
        },
        is_officer=is_officer,
        has_payment_list=is_officer and view.status in ("approved", "paid"),
        missing_bank_details=sum(1 for line in lines if line.get("no_bank_details")),
        prepared_by_me=person.username == view.prepared_by,
        can_cancel=person.role == OFFICER
        and view.status in ("prepared", "approved")
        and all(line["paid_at"] is None for line in lines),
        fund_balance_fen=ledger.get_fund().balance_fen,
    )


@bp.post("/staff/settlements/<settlement_id>/approve")
@page(OFFICER)
def fund_approve_settlement(settlement_id: str) -> Any:
    """Approve a prepared settlement (another officer than its preparer)."""
    ledger = ledger_of()
    try:
        ledger.approve_settlement(settlement_id, actor())
    except InvalidState as error:
        # A second click of the same officer's Approve: it is approved, by them.
        view = ledger.get_settlement(settlement_id)
        if view.approved_by != who().username:
            return _refused(error, settlement_id)
    except NotFound:
        abort(404)
    except LedgerError as error:
        return _refused(error, settlement_id)
    flash(_("Settlement approved. Its lines can now be paid."), "ok")
    return back(f"/staff/settlements/{settlement_id}")


@bp.post("/staff/settlements/<settlement_id>/lines/<merchant_id>/paid")
@page(OFFICER)
def fund_pay_line(settlement_id: str, merchant_id: str) -> Any:
    """Record that one merchant's line was paid, with the bank transfer's reference."""
    ledger = ledger_of()
    reference = request.form.get("payment_ref", "").strip()
    if not reference or len(reference) > 100:
        flash(_("Enter the payment reference (at most 100 characters)."), "error")
        return back(f"/staff/settlements/{settlement_id}")
    asking = _confirm_payment(settlement_id, merchant_id, reference)
    if asking is not None:
        return asking
    try:
        ledger.pay_settlement_line(settlement_id, merchant_id, reference, actor())
    except InvalidState as error:
        # A second click: the line is paid already under this very reference.
        view = ledger.get_settlement(settlement_id)
        line = next((x for x in view.lines if x.merchant_id == merchant_id), None)
        if line is None or line.paid_at is None or line.payment_ref != reference:
            return _refused(error, settlement_id)
    except NotFound:
        abort(404)
    except LedgerError as error:
        return _refused(error, settlement_id)
    names = _merchant_names({merchant_id})
    flash(
        _(
            "Payment to %(merchant)s recorded (reference %(ref)s).",
            merchant=names.get(merchant_id, merchant_id),
            ref=reference,
        ),
        "ok",
    )
    return back(f"/staff/settlements/{settlement_id}")


def _confirm_payment(settlement_id: str, merchant_id: str, reference: str) -> Any | None:
    """The question before a line is recorded as paid (it cannot be unrecorded)."""
    view = ledger_of().get_settlement(settlement_id)  # NotFound: the 404 page
    line = next((x for x in view.lines if x.merchant_id == merchant_id), None)
    if line is None:
        abort(404)
    if line.paid_at is not None:  # a second click: the ledger says what it is
        return None
    merchant = _merchant_names({merchant_id})[merchant_id]
    return confirmation(
        _("Record the payment to %(merchant)s?", merchant=merchant),
        _(
            "This records that %(amount)s was transferred to %(merchant)s with the bank "
            "reference %(ref)s. Check the bank statement first: a recorded payment cannot "
            "be undone.",
            amount=money(line.cash_fen + line.rebate_fen),
            merchant=merchant,
            ref=reference,
        ),
        _("Yes, record the payment"),
        f"/staff/settlements/{settlement_id}",
    )


@bp.route("/staff/settlements/<settlement_id>/cancel", methods=["GET", "POST"])
@page(OFFICER)
def fund_cancel_settlement(settlement_id: str) -> Any:
    """Cancel a settlement before any line is paid (POST /settlements/{id}/cancel): the
    officer sees what is cancelled, gives a reason, then confirms; the merchants' beans
    go back to their unsettled beans for the next settlement."""
    ledger = ledger_of()
    view = ledger.get_settlement(settlement_id)  # NotFound: the 404 page
    reason = request.form.get("reason", "").strip()
    context = {
        "settlement": view,
        "cutoff": ledger.day_of(view.cutoff),
        "status_name": STATUS_NAMES.get(view.status, view.status),
        "reason": reason,
        "error": None,
    }
    if request.method == "GET":
        return render_template("web_fund_cancel_settlement.html", **context)
    if not reason or len(reason) > MAX_REASON:
        context["error"] = _(
            "Say why the settlement is cancelled (at most %(num)d characters).", num=MAX_REASON
        )
        return render_template("web_fund_cancel_settlement.html", **context), 422
    try:
        ledger.cancel_settlement(settlement_id, reason, actor())
    except LedgerError as error:
        return _refused(error, settlement_id)
    flash(_("Settlement cancelled. Its beans wait for the next settlement."), "ok")
    return back(f"/staff/settlements/{settlement_id}")


def _refused(error: LedgerError, settlement_id: str) -> Any:
    """Back to the settlement with the ledger's refusal, translated."""
    flash(ledger_message(error), "error")
    return back(f"/staff/settlements/{settlement_id}")
