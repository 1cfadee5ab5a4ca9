"""The coordinator's pages: members: registering, finding (by name, phone or number, team
and grid), their records (phone, building, grid, teams, guardian, note), cards and PIN
locks. The roster's import and export: api/web/coordinator/roster.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _

from api import roster
from api.auth import USERNAME
from api.context import auth_of, ledger_of, reading
from api.errors import ApiProblem
from api.files import download
from api.members import add_owner, card_back, card_holder, printed_card
from api.recognition import lifetime
from api.web.checks import name_or_refusal, password_refusal
from api.web.common import ROLE_NAMES
from api.web.coordinator.shared import (
    COORDINATOR,
    ERASERS,
    FLOW_NAMES,
    MAX_MEMBERS,
    PEOPLE,
    PIN,
    REGISTRARS,
    STAFF,
    choices,
    done,
    form_action,
    is_coordinator,
    keep,
    kept_form,
    refuse,
    repeat,
    text,
)
from api.web.support import (
    actor,
    attempt,
    back,
    confirmation,
    ledger_key,
    page,
    who,
)
from ledger.errors import LedgerError, NotFound
from ledger.people import MAX_LABEL, MAX_NAME, MAX_NOTE, MAX_TEAMS, TEAM_JOIN, check_record
from ledger.views import CardView
from merchant_pos.printing import CardHolder, PrintedCard, card_holders_pdf, cards_pdf
from projections import queries

bp = Blueprint("coord_members", __name__)

# --- members ------------------------------------------------------------------------------


@bp.get("/staff/members")
@page(*STAFF)
def members() -> Any:
    """Find members (``q``: part of a name, digits of a phone or account number; ``kind``;
    ``team`` and ``grid``) and (coordinator, admin) register one. Phones and records are
    shown to coordinators and admins only (as GET /api/v1/accounts)."""
    private = who().role in REGISTRARS
    search = request.args.get("q", "").strip()[:120]
    kind = request.args.get("kind") or None
    if kind not in PEOPLE:
        kind = None
    team = request.args.get("team", "").strip()[:MAX_LABEL] if private else ""
    grid = request.args.get("grid", "").strip()[:MAX_LABEL] if private else ""
    everyone = roster.directory(ledger_of(), reading, kind)
    found = roster.search(everyone, search, team, grid, by_phone=private)
    teams, grids = roster.labels(everyone) if private else ([], [])
    return render_template(
        "web_coord_members.html",
        members=found[:MAX_MEMBERS],
        search=search,
        kind=kind,
        team=team,
        grid=grid,
        teams=teams,
        grids=grids,
        private=private,
        kind_names=ROLE_NAMES,
        can_register=who().role in REGISTRARS,
        can_print=is_coordinator(),
        limited=len(found) > MAX_MEMBERS,
        kept=kept_form(),
    )


@bp.post("/staff/members")
@page(*REGISTRARS)
def register_member() -> Any:
    """Open a volunteer's or beneficiary's account (``kind``, ``display_name``), and with
    ``username`` and ``password`` also its sign-in, as POST /api/v1/accounts does."""
    repeated = repeat()
    if repeated:
        return repeated
    kind = request.form.get("kind", "")
    name, invisible = name_or_refusal(text("display_name"))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    problem, field = None, "display_name"
    if kind not in PEOPLE:
        problem, field = _("Choose volunteer or beneficiary."), "kind"
    elif invisible:
        problem = invisible
    elif not name or len(name) > 120 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = _("Enter a name of at most 120 characters.")
    elif bool(username) != bool(password):
        problem = _("Give both a username and a password, or neither.")
        field = "username" if not username else "password"
    elif username and not USERNAME.fullmatch(username):
        problem = _("A username has 3 to 64 characters: letters, digits and any of _ . - @")
        field = "username"
    elif password and (weak := password_refusal(password, username, name)):
        problem, field = weak, "password"
    elif username and auth_of().get_user(username) is not None:
        problem, field = _("That username is taken."), "username"
    if problem:
        refuse(problem, field)
        keep("/staff/members", "register-form", ("kind", "display_name", "username"))
        return back("/staff/members")
    ledger = ledger_of()
    opened = attempt(
        lambda: (
            ledger.open_volunteer(name) if kind == "volunteer" else ledger.open_beneficiary(name)
        )
    )
    if opened is None:
        return back("/staff/members")
    target = f"/staff/members/{opened.id}"
    if username:
        try:
            add_owner(opened.id, username, password, kind)
        except ApiProblem:
            flash(_("The account was opened, but its sign-in could not be created."), "error")
            return done(target)
    flash(_("Registered %(name)s.", name=name), "ok")
    return done(target)


def _member(account_id: str):
    """A volunteer's or beneficiary's account (404 for any other id)."""
    try:
        found = ledger_of().get_account(account_id)
    except LedgerError:
        abort(404)
    if found.kind not in PEOPLE:
        abort(404)
    return found


@bp.get("/staff/members/cards.pdf")
@page(COORDINATOR)
def member_cards_pdf() -> Any:
    """The current cards of the beneficiaries given (``?account_id=`` repeated), or of every
    beneficiary who has one, on A4 sheets to print and cut (as GET /api/v1/cards.pdf)."""
    holders = _holders()
    if not holders:
        flash(_("No beneficiary has a card yet."), "error")
        return back("/staff/members?kind=beneficiary")
    cards = [PrintedCard(holder.code) for holder in holders]
    return download(cards_pdf(cards, card_back()), "application/pdf", "goldbean-cards.pdf")


@bp.get("/staff/members/card-holders.pdf")
@page(COORDINATOR)
def member_card_holders_pdf() -> Any:
    """The coordinator's sheet for handing out the cards of ``cards.pdf`` (the same
    ``?account_id=`` choice, in the same order): which card, by its number's last digits,
    is whose. The cards carry no names; this sheet is not to be given out."""
    holders = _holders()
    if not holders:
        flash(_("No beneficiary has a card yet."), "error")
        return back("/staff/members?kind=beneficiary")
    return download(card_holders_pdf(holders), "application/pdf", "goldbean-card-holders.pdf")


def _holders() -> list[CardHolder]:
    """The holders of the cards asked for (``?account_id=`` repeated), or of every
    beneficiary who has a card."""
    given = [a for a in dict.fromkeys(request.args.getlist("account_id")) if a]
    if given:
        return [card_holder(account_id) for account_id in given]
    holders = []
    for row in choices("beneficiary"):
        try:
            holders.append(card_holder(row["id"]))
        except NotFound:  # no card yet
            continue
    return holders


@bp.get("/staff/members/<account_id>")
@page(*STAFF)
def member(account_id: str) -> Any:
    """A member: balance, latest entries, (coordinators, admins) the record, and
    (beneficiaries) the card."""
    found = _member(account_id)
    form = None
    if who().role in REGISTRARS and not found.erased:
        form = _record_form(ledger_of().get_member_record(found.id))
    return _member_page(found, form, {})


def _member_page(found: Any, form: dict[str, str] | None, errors: dict[str, str]) -> str:
    card = None
    if found.kind == "beneficiary":
        status = ledger_of().get_card(found.id)
        card = {
            "issued": status.card_code is not None,
            "pin": status.has_pin,
            "locked": status.locked,
            "failures": status.failures,
        }
    with reading() as conn:
        entries, _more = queries.entries(conn, found.id, 20, None)
        names = queries.account_names(conn, [e["counterparty"] for e in entries])
    return render_template(
        "web_coord_member.html",
        member=found,
        card=card,
        entries=entries,
        names=names,
        kind_names=ROLE_NAMES,
        flow_names=FLOW_NAMES,
        can_act=is_coordinator(),
        can_erase=who().role in ERASERS,
        me=who().username,
        kept=kept_form(),
        record=form,
        errors=errors,
        limits={"label": MAX_LABEL, "name": MAX_NAME, "note": MAX_NOTE},
        recognition=lifetime(found.id) if found.kind == "volunteer" else None,
        staff_view=True,
    )


RECORD_FORM = ("phone", "building", "grid", "teams", "guardian", "guardian_phone", "note")


def _record_form(record: Any) -> dict[str, str]:
    values = {name: getattr(record, name) for name in RECORD_FORM}
    values["teams"] = TEAM_JOIN.join(record.teams)
    return values


def _record_problem(field: str, word: str) -> str:
    """Why a field of the record was refused, in the reader's language."""
    if word == "phone":
        return _("Enter a mobile number of 11 digits, or a landline with its area code.")
    if word == "too_many_teams":
        return _("At most %(num)d teams.", num=MAX_TEAMS)
    if word == "too_long":
        limit = {"guardian": MAX_NAME, "note": MAX_NOTE}.get(field, MAX_LABEL)
        return _("At most %(num)d characters.", num=limit)
    return _(
        "This may not contain control characters or invisible characters "
        "(zero-width characters or text-direction marks)."
    )


@bp.post("/staff/members/<account_id>/record")
@page(*REGISTRARS)
def save_record(account_id: str) -> Any:
    """Keep a member's phone, building, grid, teams, guardian and note (personal data: in
    the personal-data store, never in the log); the form again, as typed, with each
    field's problem beside it."""
    found = _member(account_id)
    typed = {name: text(name)[:1000] for name in RECORD_FORM}
    record, problems = check_record(typed)
    if problems:
        flash(_("The record was not saved. Check the marked fields."), "error")
        errors = {name: _record_problem(name, word) for name, word in problems.items()}
        return _member_page(found, typed, errors), 422
    if attempt(lambda: ledger_of().set_member_record(found.id, record)) is None:
        return back(f"/staff/members/{found.id}")
    flash(_("The record of %(name)s was saved.", name=found.display_name), "ok")
    return back(f"/staff/members/{found.id}")


@bp.post("/staff/members/<account_id>/erase")
@page(*ERASERS)
def erase_member(account_id: str) -> Any:
    """Ask for a member's personal data to be erased, or (a second staff member, not the
    one who asked) approve it: name, number, card and PIN are deleted; the account, its
    entries and the books stay."""
    here = f"/staff/members/{account_id}"
    found = _member(account_id)
    ledger = ledger_of()
    if found.erasure_requested_by is None:
        asked = attempt(lambda: ledger.request_erasure(found.id, actor()))
        if asked is not None:
            flash(_("Erasure asked for. A second staff member must approve it."), "ok")
        return back(here)
    if found.erasure_requested_by != who().username:  # the second person: asked once more
        asking = confirmation(
            _("Erase this member's personal data?"),
            _(
                "The name, account number, card and PIN of %(name)s are deleted for good. "
                "Their beans and entries stay in the books. This cannot be undone.",
                name=found.display_name,
            ),
            _("Yes, erase now"),
            here,
        )
        if asking is not None:
            return asking
    if attempt(lambda: ledger.approve_erasure(found.id, actor())) is not None:
        flash(_("The member's personal data was erased."), "ok")
    return back(here)


@bp.post("/staff/members/<account_id>/card")
@page(COORDINATOR)
def issue_card(account_id: str) -> Any:
    """Issue (or reissue) a beneficiary's card, with an optional 4-digit ``pin``; its
    code is printed from ``card.pdf`` (never put in the flashed message)."""

    def command() -> CardView | None:
        pin = request.form.get("pin", "").strip() or None
        if pin is not None and not PIN.match(pin):
            refuse(_("A PIN is 4 digits."), "pin")
            return None
        return attempt(
            lambda: ledger_of().issue_card(account_id, actor(), pin=pin, key=ledger_key())
        )

    def issued(_card: CardView) -> str:
        # Never the card's code: a flashed message travels in the session cookie, which
        # is signed, not encrypted. The code is printed from card.pdf.
        return _("New card issued. Print it now with “Print the card”.")

    return form_action(f"/staff/members/{account_id}", command, issued, form=("card-form", ()))


@bp.get("/staff/members/<account_id>/card.pdf")
@page(COORDINATOR)
def member_card_pdf(account_id: str) -> Any:
    """A beneficiary's current card to print (again), as GET /api/v1/accounts/{id}/card.pdf."""
    card, number = printed_card(account_id)
    return download(
        cards_pdf([card], card_back()), "application/pdf", f"goldbean-card-{number}.pdf"
    )


@bp.post("/staff/members/<account_id>/unlock")
@page(COORDINATOR)
def unlock_card(account_id: str) -> Any:
    """Clear a card's lock-out after too many wrong PINs."""
    here = f"/staff/members/{account_id}"
    if attempt(lambda: ledger_of().unlock_card(account_id, actor())) is not None:
        flash(_("The card's PIN lock was reset."), "ok")
    return back(here)
