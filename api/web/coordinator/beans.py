"""The coordinator's pages: allotments, the gift pool and corrections."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from api.context import ledger_of
from api.web.coordinator.shared import (
    COORDINATOR,
    PERIOD,
    choices,
    current_rules,
    optional_beans,
    text,
)
from api.web.support import (
    actor,
    attempt,
    back,
    form_int,
    ledger_key,
    page,
)

bp = Blueprint("coord_beans", __name__)

# --- allotments, the gift pool, corrections ---------------------------------------------------


def _allotments_page(result: Any = None, status: int = 200) -> Any:
    ledger = ledger_of()
    current = ledger.calendar.period(ledger.now())
    return (
        render_template(
            "web_coord_allotments.html",
            beneficiaries=choices("beneficiary"),
            period=request.form.get("period") or current,
            current=current,
            default_amount=current_rules().allotment_beans,
            result=result,
        ),
        status,
    )


@bp.get("/staff/allotments")
@page(COORDINATOR)
def allotments() -> Any:
    """A form to grant a month's allotments."""
    return _allotments_page()


@bp.post("/staff/allotments")
@page(COORDINATOR)
def grant_allotments() -> Any:
    """Grant ``period``'s allotment (``amount`` beans, default the programme's) to every
    beneficiary or the chosen ones (``account_ids``); each gets at most one per period,
    so sending the form again grants only what is missing."""
    period = request.form.get("period", "").strip()
    if not PERIOD.match(period):
        flash(_("Choose a month."), "error")
        return _allotments_page(status=422)
    ok, amount = optional_beans("amount", 1_000_000)
    if not ok:
        return _allotments_page(status=422)
    if amount == 0:
        flash(_("Enter a whole number from %(low)s to %(high)s.", low=1, high=1_000_000), "error")
        return _allotments_page(status=422)
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a] or None
    run = attempt(
        lambda: ledger_of().grant_allotments(period, actor(), amount=amount, account_ids=chosen)
    )
    if run is None:
        return _allotments_page(status=422)
    return _allotments_page(result=run)


@bp.get("/staff/pool")
@page(COORDINATOR)
def pool() -> Any:
    """The gift pool's balance and a form to allocate from it to a beneficiary."""
    return render_template(
        "web_coord_pool.html",
        balance=ledger_of().get_pool_balance(),
        beneficiaries=choices("beneficiary"),
        chosen=request.args.get("to", ""),
    )


@bp.post("/staff/pool")
@page(COORDINATOR)
def allocate_pool() -> Any:
    """Move ``amount`` beans from the gift pool to the beneficiary ``to``."""
    to = request.form.get("to", "").strip()
    if not to:
        flash(_("Choose a beneficiary."), "error")
        return back("/staff/pool")
    amount = form_int("amount", minimum=1, maximum=1_000_000)
    if amount is None:
        return back(f"/staff/pool?to={quote(to)}")
    done = attempt(lambda: ledger_of().allocate_pool(to, amount, actor(), key=ledger_key()))
    if done is None:
        return back(f"/staff/pool?to={quote(to)}")
    name = ledger_of().get_account(done.to).display_name
    message = ngettext(
        "Allocated %(num)d bean from the gift pool to %(name)s.",
        "Allocated %(num)d beans from the gift pool to %(name)s.",
        done.amount,
        name=name,
    )
    flash(message, "ok")
    return back("/staff/pool")


@bp.get("/staff/corrections")
@page(COORDINATOR)
def corrections() -> Any:
    """A form to take back beans awarded or allotted in error."""
    return render_template(
        "web_coord_corrections.html",
        volunteers=choices("volunteer"),
        beneficiaries=choices("beneficiary"),
        chosen=request.args.get("account_id", ""),
        corrects=request.args.get("corrects", ""),
    )


@bp.post("/staff/corrections")
@page(COORDINATOR)
def correct() -> Any:
    """Take ``amount`` beans back from ``account_id`` (to issuance), with a ``reason`` and
    optionally the record it ``corrects``; never more than the account holds."""
    account_id = request.form.get("account_id", "").strip()
    reason = text("reason")
    corrects = text("corrects") or None
    here = f"/staff/corrections?account_id={quote(account_id)}"
    if not account_id:
        flash(_("Choose whose beans to correct."), "error")
        return back("/staff/corrections")
    amount = form_int("amount", minimum=1, maximum=1_000_000)
    if amount is None:
        return back(here)
    if not reason:
        flash(_("Give a reason."), "error")
        return back(here)
    done = attempt(
        lambda: ledger_of().correct(
            account_id, amount, reason, actor(), corrects=corrects, key=ledger_key()
        )
    )
    if done is None:
        return back(here)
    account = ledger_of().get_account(done.account_id)
    message = ngettext(
        "Correction recorded: %(num)d bean taken back from %(name)s (balance now "
        "%(balance)s). Reason: %(reason)s",
        "Correction recorded: %(num)d beans taken back from %(name)s (balance now "
        "%(balance)s). Reason: %(reason)s",
        done.amount,
        name=account.display_name,
        balance=account.balance,
        reason=reason,
    )
    flash(message, "ok")
    return back("/staff/corrections")
