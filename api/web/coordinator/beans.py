"""The coordinator's pages: allotments, the gift pool and corrections."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, flash, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from api.context import ledger_of, reading
from api.web.common import INCIDENT_CATEGORY_NAMES
from api.web.coordinator.shared import (
    COORDINATOR,
    FLOW_NAMES,
    PERIOD,
    Kept,
    choices,
    current_rules,
    form_action,
    keep,
    kept_form,
    optional_beans,
    refuse,
    text,
    whole_number,
)
from api.web.support import (
    LEDGER_MESSAGES,
    actor,
    attempt,
    back,
    ledger_key,
    ledger_message,
    month,
    page,
    who,
)
from ledger.approvals import ALLOTMENTS, CORRECTION
from ledger.errors import FourEyesRequired, LedgerError
from ledger.views import canonical_id
from projections import queries

log = logging.getLogger(__name__)
T = TypeVar("T")

#: what credited a member, as the corrections page names it
CREDIT_NAMES = {
    "incident": _l("Incident award"),
    "activity": _l("Activity award"),
    "allotment": FLOW_NAMES["allotment"],
    "gift": FLOW_NAMES["gift"],
    "pool_allocation": FLOW_NAMES["pool_allocation"],
}

bp = Blueprint("coord_beans", __name__)

# --- allotments, the gift pool, corrections ---------------------------------------------------


def _allotments_page(result: Any = None, status: int = 200, prepared: Any = None) -> Any:
    ledger = ledger_of()
    current = ledger.calendar.period(ledger.now())
    shown = request.args.get("month", "").strip()
    shown = shown if PERIOD.match(shown) and shown <= current else current
    with reading() as conn:
        recipients = queries.allotment_recipients(conn, list(ledger.allotment_ids(shown)))
    return (
        render_template(
            "web_coord_allotments.html",
            beneficiaries=choices("beneficiary"),
            period=request.form.get("period") or current,
            current=current,
            default_amount=current_rules().allotment_beans,
            threshold=current_rules().allotment_batch_approval_above,
            result=result,
            prepared=prepared,
            requests=pending_requests(ALLOTMENTS),
            kept=_allotment_kept(status),
            shown=shown,
            recipients=recipients,
            day_of=ledger.day_of,
        ),
        status,
    )


def _allotment_kept(status: int) -> Kept:
    """What the allotment form shows again: what was typed, when it was refused."""
    if request.method != "POST" or status < 400:
        return Kept()
    errors = dict(g.get("field_errors", {}))
    if errors:
        flash(_("Nothing was saved. Check the marked fields."), "error")
    values = {name: request.form.getlist(name) for name in ("period", "amount", "account_ids")}
    return Kept({"form": "allotment-form", "values": values, "errors": errors})


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
    so sending the form again grants only what is missing. A batch above the programme's
    threshold is prepared instead, for another coordinator to approve."""
    period = request.form.get("period", "").strip()
    if not PERIOD.match(period):
        refuse(_("Choose a month."), "period")
    ok, amount = optional_beans("amount", 1_000_000)
    if ok and amount == 0:
        refuse(_("Enter a whole number from %(low)s to %(high)s.", low=1, high=1_000_000), "amount")
    if g.get("field_errors"):
        return _allotments_page(status=422)
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a] or None
    ledger, by = ledger_of(), actor()
    plan = attempt(lambda: ledger.plan_allotments(period, by, amount=amount, account_ids=chosen))
    if plan is None:
        return _allotments_page(status=422)
    if plan.needs_approval:
        prepared = attempt(
            lambda: ledger.prepare_allotments(
                period, by, amount=amount, account_ids=chosen, key=ledger_key()
            )
        )
        if prepared is None:
            return _allotments_page(status=422)
        return _allotments_page(prepared=prepared)
    run = attempt(lambda: ledger.grant_allotments(period, by, amount=amount, account_ids=chosen))
    if run is None:
        return _allotments_page(status=422)
    return _allotments_page(result=run)


@bp.post("/staff/allotments/requests/<request_id>/approve")
@page(COORDINATOR)
def approve_allotments(request_id: str) -> Any:
    """Approve another coordinator's allotment batch, and grant it."""

    def message(run: Any) -> str:
        return ngettext(
            "Approved: %(num)d beneficiary granted the allotment of %(period)s.",
            "Approved: %(num)d beneficiaries granted the allotment of %(period)s.",
            run.granted,
            period=month(run.period),
        )

    return form_action(
        "/staff/allotments",
        lambda: approving(lambda: ledger_of().approve_allotments(request_id, actor())),
        message,
    )


@bp.post("/staff/allotments/requests/<request_id>/withdraw")
@page(COORDINATOR)
def withdraw_allotments(request_id: str) -> Any:
    """Withdraw a pending allotment batch: nothing is granted."""
    return _withdraw(request_id, ALLOTMENTS, "/staff/allotments")


@bp.get("/staff/pool")
@page(COORDINATOR)
def pool() -> Any:
    """The gift pool's balance and a form to allocate from it to a beneficiary."""
    return render_template(
        "web_coord_pool.html",
        balance=ledger_of().get_pool_balance(),
        beneficiaries=choices("beneficiary"),
        chosen=request.args.get("to", ""),
        kept=kept_form(),
    )


@bp.post("/staff/pool")
@page(COORDINATOR)
def allocate_pool() -> Any:
    """Move ``amount`` beans from the gift pool to the beneficiary ``to``."""
    to = request.form.get("to", "").strip()
    fields = ("pool-form", ("to", "amount"))
    if not to:
        refuse(_("Choose a beneficiary."), "to")
    amount = whole_number("amount", minimum=1, maximum=1_000_000)
    if not to or amount is None:
        keep("/staff/pool", *fields)
        return back("/staff/pool")
    done = attempt(lambda: ledger_of().allocate_pool(to, amount, actor(), key=ledger_key()))
    if done is None:
        keep("/staff/pool", *fields)
        return back("/staff/pool")
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
    """A form to take back beans awarded or allotted in error: first the member, then
    which of their credits (``?account_id=``, ``&corrects=`` to preselect one)."""
    chosen = request.args.get("account_id", "").strip()
    member, credits = None, []
    if chosen:
        try:
            member = ledger_of().get_account(chosen)
            credits = ledger_of().list_credits(chosen)
        except LedgerError as error:
            flash(ledger_message(error), "error")
            member = None
    return render_template(
        "web_coord_corrections.html",
        volunteers=choices("volunteer"),
        beneficiaries=choices("beneficiary"),
        chosen=member.id if member else "",
        member=member,
        credits=[{"credit": credit, "what": _credit_name(credit)} for credit in credits],
        corrects=canonical_id(request.args.get("corrects", "")),
        threshold=current_rules().correction_approval_above,
        requests=pending_requests(CORRECTION),
        kept=kept_form(),
    )


def _credit_name(credit: Any) -> str:
    """What credited the member, in the reader's words: "Incident award (Fire)",
    "Monthly allotment (2026-03)", "Gift"."""
    kind = str(CREDIT_NAMES.get(credit.kind, credit.kind))
    if not credit.label:
        return kind
    label = str(INCIDENT_CATEGORY_NAMES.get(credit.label, credit.label))
    return _("%(kind)s (%(label)s)", kind=kind, label=label)


@bp.post("/staff/corrections")
@page(COORDINATOR)
def correct() -> Any:
    """Take ``amount`` beans back from ``account_id`` (to issuance), with a ``reason`` and
    the credit it ``corrects``; never more than the account holds, nor than is left of
    that credit. Above the programme's threshold the correction is prepared instead, for
    another coordinator to approve."""
    account_id = request.form.get("account_id", "").strip()
    reason = text("reason")
    corrects = text("corrects") or None
    here = f"/staff/corrections?account_id={quote(account_id)}"
    fields = ("correction-form", ("corrects", "amount", "reason"))
    if not account_id:
        flash(_("Choose whose beans to correct."), "error")
        return back("/staff/corrections")
    if not corrects:
        refuse(_("Choose what they received in error."), "corrects")
    amount = whole_number("amount", minimum=1, maximum=1_000_000)
    if not reason:
        refuse(_("Give a reason."), "reason")
    if amount is None or g.get("field_errors"):
        keep(here, *fields)
        return back(here)
    ledger = ledger_of()
    if amount > ledger.rules.correction_approval_above:
        prepared = attempt(
            lambda: ledger.prepare_correction(
                account_id, amount, reason, actor(), corrects=corrects, key=ledger_key()
            )
        )
        if prepared is None:
            keep(here, *fields)
            return back(here)
        flash(
            ngettext(
                "Correction of %(num)d bean prepared: another coordinator must approve it.",
                "Correction of %(num)d beans prepared: another coordinator must approve it.",
                amount,
            ),
            "ok",
        )
        return back("/staff/corrections")
    done = attempt(
        lambda: ledger.correct(
            account_id, amount, reason, actor(), corrects=corrects, key=ledger_key()
        )
    )
    if done is None:
        keep(here, *fields)
        return back(here)
    return _corrected(done, reason)


def _corrected(done: Any, reason: str) -> Any:
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


@bp.post("/staff/corrections/requests/<request_id>/approve")
@page(COORDINATOR)
def approve_correction(request_id: str) -> Any:
    """Approve another coordinator's correction, and make it."""
    done = approving(lambda: ledger_of().approve_correction(request_id, actor()))
    if done is None:
        return back("/staff/corrections")
    return _corrected(done, ledger_of().get_approval_request(request_id).reason or "")


@bp.post("/staff/corrections/requests/<request_id>/withdraw")
@page(COORDINATOR)
def withdraw_correction(request_id: str) -> Any:
    """Withdraw a pending correction: nothing is taken."""
    return _withdraw(request_id, CORRECTION, "/staff/corrections")


def approving(command: Callable[[], T]) -> T | None:
    """Run an approval; the preparer's is refused in words for coordinators (the shared
    four_eyes_required message speaks of fund officers)."""
    try:
        return command()
    except FourEyesRequired:
        flash(_("You prepared this: another coordinator must approve it."), "error")
        return None
    except LedgerError as error:
        flash(ledger_message(error), "error")
        return None


def _withdraw(request_id: str, kind: str, here: str) -> Any:
    ledger = ledger_of()
    found = attempt(lambda: ledger.get_approval_request(request_id))
    if found is None or found.kind != kind:
        if found is not None:
            flash(str(LEDGER_MESSAGES["not_found"]), "error")
        return back(here)
    withdrawn = attempt(lambda: ledger.withdraw_request(request_id, actor(), text("reason")))
    if withdrawn is not None:
        flash(_("Request withdrawn: nothing was moved."), "ok")
    return back(here)


def pending_requests(kind: str) -> list[dict[str, Any]]:
    """The requests of ``kind`` waiting for a second coordinator, as the pages show them:
    with the member's name (a correction's) and whether the reader may approve it."""
    ledger, me = ledger_of(), who().username
    shown = []
    for pending in ledger.list_approval_requests(kind):
        name = None
        if pending.account_id is not None:
            try:
                name = ledger.get_account(pending.account_id).display_name
            except LedgerError as error:
                log.warning("request %s names no account: %s", pending.id, error)
        shown.append({"request": pending, "name": name, "mine": pending.prepared_by == me})
    return shown
