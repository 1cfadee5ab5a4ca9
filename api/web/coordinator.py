"""The coordinator's pages (SPEC §1, §4, §10; issue 6 "Coordinator").

- ``/staff/incidents``: the incident queue (urgent first, then oldest first) and each
  incident's page with its actions: verify (award), reject, duplicate, handlers, resolve;
- ``/staff/activities``: the activities, a form to create one, each activity's attendance
  to confirm, and its full-screen check-in QR code (``/staff/activities/<id>/checkin``);
- ``/staff/members``: registering volunteers and beneficiaries, finding them, and per
  beneficiary: issuing a card, printing it (``card.pdf``, or all cards, ``cards.pdf``) and
  clearing a PIN lock;
- ``/staff/allotments``, ``/staff/pool``, ``/staff/corrections``: granting a month's
  allotments, allocating the gift pool, correcting an erroneous award.

Who may do what mirrors the JSON API (api/endpoints/*.py): writes are the coordinator's
(registering members also the admin's, like ``POST /api/v1/accounts``); reading the
incident queue and activities is also the auditor's; reading members is any staff role's
(``GET /api/v1/accounts/{id}``). The ledger owns every rule; a refusal is flashed in the
reader's language and nothing is recorded.

A form that changes the ledger carries a ``form_key``. Commands that take an idempotency
key get :func:`~api.web.support.ledger_key`; for the others (verifying an incident,
creating an activity, issuing a card…) :func:`_repeat` claims the form key in the
API's idempotency store, so a form sent twice, even by a double click, records once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import abort, flash, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

from api.auth import MAX_PASSWORD, MIN_PASSWORD, USERNAME
from api.context import auth_of, ledger_of, reading
from api.errors import ApiProblem
from api.files import download
from api.members import add_owner, printed_card
from api.web.support import (
    Refused,
    actor,
    attempt,
    back,
    claim_form,
    complete,
    form_int,
    ledger_key,
    page,
    who,
)
from api.web.views import INCIDENT_CATEGORY_NAMES, ROLE_NAMES, web
from ledger.errors import LedgerError, NotFound
from ledger.incidents import DUPLICATE, REJECTED, RESOLVED, SUBMITTED, VERIFIED
from ledger.rules import Rules
from merchant_pos.printing import cards_pdf
from merchant_pos.qr import qr_svg
from projections import queries

COORDINATOR = "coordinator"
#: who reads the incident queue and the activities (GET /api/v1/incidents, /activities/{id})
READERS = ("coordinator", "auditor")
#: who reads members' accounts (GET /api/v1/accounts/{id}: staff)
STAFF = ("coordinator", "fund_officer", "auditor", "admin")
#: who registers members (POST /api/v1/accounts)
REGISTRARS = ("coordinator", "admin")
PEOPLE = ("volunteer", "beneficiary")

STATUSES = (SUBMITTED, VERIFIED, REJECTED, DUPLICATE, RESOLVED)
STATUS_NAMES = {
    SUBMITTED: _l("Waiting for verification"),
    VERIFIED: _l("Verified"),
    REJECTED: _l("Rejected"),
    DUPLICATE: _l("Duplicate"),
    RESOLVED: _l("Resolved"),
}
FLOW_NAMES = {
    "award": _l("Award"),
    "allotment": _l("Monthly allotment"),
    "gift": _l("Gift"),
    "pool_allocation": _l("From the gift pool"),
    "redemption": _l("Spent at a merchant"),
    "refund": _l("Refund"),
    "settlement": _l("Settlement"),
    "correction": _l("Correction"),
}

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PIN = re.compile(r"^[0-9]{4}$")
#: how many volunteers or beneficiaries a choice list offers
MAX_CHOICES = 5000
#: how many members a search shows
MAX_MEMBERS = 200
#: how many incidents the "duplicate of" list offers
MAX_ORIGINALS = 300
#: how many incidents a page of the queue shows, and where the next page starts
QUEUE_PAGE = 50
QUEUE_MARK = re.compile(r"(?P<urgent>[01])-(?P<position>[1-9][0-9]{0,17})\Z")


# --- shared helpers ---------------------------------------------------------------------------


def _repeat() -> Any:
    """Claim this form's ``form_key`` (:func:`~api.web.support.claim_form`): None to go on,
    else where to go: for the same form sent again, where the first went, with a notice.
    For commands that take no idempotency key; the claim is released if the view ends
    without :func:`_done` (a refusal may be corrected and sent again)."""
    try:
        claim_form(request.endpoint or request.path)
    except Refused as refused:
        if refused.replayed:
            flash(_("This form was already sent; it was recorded only once."), "ok")
            return back(refused.replayed)
        return back(request.path.rsplit("/", 1)[0] if request.path.count("/") > 2 else "/staff")
    return None


def _done(target: str) -> Any:
    """The form's work is done (it went to ``target``): a repeat goes there too."""
    complete(g.get("form_claim"), target)
    return back(target)


def _text(name: str) -> str:
    """A text field, with the browser's CRLF line ends made plain newlines."""
    return request.form.get(name, "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _optional_beans(name: str, maximum: int) -> tuple[bool, int | None]:
    """(ok, value) of an optional whole-number field: blank is (True, None); a bad value
    is (False, None) with a flashed message."""
    if not request.form.get(name, "").strip():
        return True, None
    value = form_int(name, minimum=0, maximum=maximum)
    return value is not None, value


def _choices(kind: str) -> list[dict[str, Any]]:
    """Every volunteer or beneficiary (``kind``) by name, for a choice list."""
    with reading() as conn:
        return queries.members(conn, kind, None, MAX_CHOICES)


def _is_coordinator() -> bool:
    return who().role == COORDINATOR


def _rules() -> Rules:
    return ledger_of().rules


# --- incidents ----------------------------------------------------------------------------


@web.get("/staff/incidents")
@page(*READERS)
def incidents() -> Any:
    """The incident queue: urgent first, then oldest first; ``?status=`` filters."""
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    after = None
    mark = QUEUE_MARK.match(request.args.get("after", ""))
    if mark:
        after = (mark["urgent"] == "1", int(mark["position"]))
    with reading() as conn:
        rows, more = queries.incidents(conn, status, QUEUE_PAGE, after)
        count = queries.incident_count(conn, status)
        names = queries.account_names(conn, [row["reporter_id"] for row in rows])

    def href(mark: queries.IncidentMark | None) -> str:
        args = {"status": status or ""}
        if mark is not None:
            args["after"] = f"{int(mark[0])}-{mark[1]}"
        return "/staff/incidents?" + urlencode(args)

    return render_template(
        "web_coord_incidents.html",
        incidents=rows,
        count=count,
        first_href=href(None) if after else None,
        next_href=href(more) if more else None,
        names=names,
        status=status,
        statuses=STATUSES,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
    )


@web.get("/staff/incidents/<incident_id>")
@page(*READERS)
def incident(incident_id: str) -> Any:
    """One incident, and (for a coordinator) what can be done with it now."""
    found = ledger_of().get_incident(incident_id)
    people = [found.reporter_id, *found.handler_ids]
    volunteers, originals = [], []
    with reading() as conn:
        names = queries.account_names(conn, people)
        if _is_coordinator() and found.status in (SUBMITTED, VERIFIED):
            volunteers = queries.members(conn, "volunteer", None, MAX_CHOICES)
        if _is_coordinator() and found.status == SUBMITTED:
            originals = queries.recent_incidents(conn, MAX_ORIGINALS, found.id)
    rules = _rules()
    return render_template(
        "web_coord_incident.html",
        incident=found,
        names=names,
        volunteers=volunteers,
        originals=originals,
        can_act=_is_coordinator(),
        default_award=rules.incident_awards.get(found.category, 0),
        handler_award=rules.handler_award,
        max_award=rules.max_award,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
    )


def _incident_done(incident_id: str, message: str) -> Any:
    flash(message, "ok")
    return _done(f"/staff/incidents/{incident_id}")


@web.post("/staff/incidents/<incident_id>/verify")
@page(COORDINATOR)
def verify_incident(incident_id: str) -> Any:
    """Verify a submitted incident; its reporter is awarded (``award``, or the default)."""
    here = f"/staff/incidents/{incident_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    ok, award = _optional_beans("award", _rules().max_award)
    if not ok:
        return back(here)
    done = attempt(lambda: ledger_of().verify_incident(incident_id, actor(), award=award))
    if done is None:
        return back(here)
    message = ngettext(
        "Verified. The reporter was awarded %(num)d bean.",
        "Verified. The reporter was awarded %(num)d beans.",
        done.award or 0,
    )
    return _incident_done(incident_id, message)


@web.post("/staff/incidents/<incident_id>/reject")
@page(COORDINATOR)
def reject_incident(incident_id: str) -> Any:
    """Reject a submitted incident, with a ``reason``; nobody is awarded."""
    here = f"/staff/incidents/{incident_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    reason = _text("reason")
    if not reason:
        flash(_("Give a reason."), "error")
        return back(here)
    done = attempt(lambda: ledger_of().reject_incident(incident_id, actor(), reason))
    if done is None:
        return back(here)
    return _incident_done(incident_id, _("Rejected."))


@web.post("/staff/incidents/<incident_id>/duplicate")
@page(COORDINATOR)
def duplicate_incident(incident_id: str) -> Any:
    """Close a submitted incident as a duplicate ``of`` another one; nobody is awarded."""
    here = f"/staff/incidents/{incident_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    original = request.form.get("of", "").strip()
    if not original:
        flash(_("Choose the incident this one repeats."), "error")
        return back(here)
    done = attempt(lambda: ledger_of().mark_duplicate(incident_id, actor(), original))
    if done is None:
        return back(here)
    return _incident_done(incident_id, _("Marked as a duplicate."))


@web.post("/staff/incidents/<incident_id>/handlers")
@page(COORDINATOR)
def incident_handlers(incident_id: str) -> Any:
    """Name the volunteers who handle the incident (``account_ids``, replacing the list)."""
    here = f"/staff/incidents/{incident_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a]
    if not chosen:
        flash(_("Choose at least one volunteer."), "error")
        return back(here)
    done = attempt(lambda: ledger_of().assign_handlers(incident_id, actor(), chosen))
    if done is None:
        return back(here)
    message = ngettext("%(num)d handler named.", "%(num)d handlers named.", len(done.handler_ids))
    return _incident_done(incident_id, message)


@web.post("/staff/incidents/<incident_id>/resolve")
@page(COORDINATOR)
def resolve_incident(incident_id: str) -> Any:
    """Resolve a verified incident; each handler is awarded (``award_per_handler``)."""
    here = f"/staff/incidents/{incident_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    ok, award = _optional_beans("award_per_handler", _rules().max_award)
    if not ok:
        return back(here)
    done = attempt(
        lambda: ledger_of().resolve_incident(incident_id, actor(), award_per_handler=award)
    )
    if done is None:
        return back(here)
    return _incident_done(incident_id, _("Resolved. Each handler was awarded."))


# --- activities ---------------------------------------------------------------------------


@web.get("/staff/activities")
@page(*READERS)
def activities() -> Any:
    """Every activity, latest first, and (coordinator) a form to create one."""
    ledger = ledger_of()
    with reading() as conn:
        ids = queries.activity_ids(conn)
    found = []
    for activity_id in ids:
        try:
            found.append(ledger.get_activity(activity_id))
        except NotFound:  # the read model knows an id the ledger does not: skip it
            continue
    found.sort(key=lambda a: (a.starts_at, a.id), reverse=True)
    return render_template(
        "web_coord_activities.html",
        activities=found,
        can_act=_is_coordinator(),
        max_award=_rules().max_award,
        now=ledger.now(),
        form=request.args,
    )


def _local_moment(name: str) -> datetime | None:
    """A ``datetime-local`` field as an aware moment in the programme's time zone."""
    raw = request.form.get(name, "").strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ledger_of().calendar.zone)
    return moment


@web.post("/staff/activities")
@page(COORDINATOR)
def create_activity() -> Any:
    """Create an activity (``title``, ``starts_at``, ``ends_at``, ``beans``)."""
    repeated = _repeat()
    if repeated:
        return repeated
    title = _text("title")
    starts_at, ends_at = _local_moment("starts_at"), _local_moment("ends_at")
    if not title:
        flash(_("Give the activity a title."), "error")
        return back("/staff/activities")
    if starts_at is None or ends_at is None:
        flash(_("Enter when the activity starts and ends."), "error")
        return back("/staff/activities")
    if ends_at <= starts_at:
        flash(_("The activity must end after it starts."), "error")
        return back("/staff/activities")
    beans = form_int("beans", minimum=0, maximum=_rules().max_award)
    if beans is None:
        return back("/staff/activities")
    created = attempt(
        lambda: ledger_of().create_activity(
            title=title, starts_at=starts_at, ends_at=ends_at, beans=beans, by=actor()
        )
    )
    if created is None:
        return back("/staff/activities")
    flash(_("Activity created."), "ok")
    return _done(f"/staff/activities/{created.id}")


@web.get("/staff/activities/<activity_id>")
@page(*READERS)
def activity(activity_id: str) -> Any:
    """An activity: who checked in, whose attendance is confirmed."""
    ledger = ledger_of()
    found = ledger.get_activity(activity_id)
    with reading() as conn:
        names = queries.account_names(conn, found.checked_in)
    now = ledger.now()
    return render_template(
        "web_coord_activity.html",
        activity=found,
        names=names,
        can_act=_is_coordinator(),
        running=found.starts_at <= now < found.ends_at,
        started=found.starts_at <= now,
    )


@web.post("/staff/activities/<activity_id>/confirm")
@page(COORDINATOR)
def confirm_attendance(activity_id: str) -> Any:
    """Confirm the attendance of the ticked volunteers (``account_ids``): each is awarded
    the activity's beans once."""
    here = f"/staff/activities/{activity_id}"
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a]
    if not chosen:
        flash(_("Tick at least one volunteer."), "error")
        return back(here)
    done = attempt(lambda: ledger_of().confirm_attendance(activity_id, actor(), chosen))
    if done is None:
        return back(here)
    message = ngettext(
        "Attendance confirmed: %(num)d volunteer awarded.",
        "Attendance confirmed: %(num)d volunteers awarded.",
        done.awarded,
    )
    flash(message, "ok")
    return back(here)


@web.get("/staff/activities/<activity_id>/checkin")
@page(COORDINATOR)
def activity_checkin(activity_id: str) -> Any:
    """The activity's check-in QR code, full screen, for volunteers to scan. The code is
    fixed for the activity (ledger/codes.py) and works while it runs."""
    ledger = ledger_of()
    found = ledger.get_activity(activity_id)
    code = found.checkin_code
    grouped = " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    now = ledger.now()
    return render_template(
        "web_coord_checkin.html",
        activity=found,
        svg=Markup(qr_svg(code)),  # noqa: S704 - our own SVG of a digits-only code
        grouped=grouped,
        running=found.starts_at <= now < found.ends_at,
        upcoming=now < found.starts_at,
    )


# --- members ------------------------------------------------------------------------------


@web.get("/staff/members")
@page(*STAFF)
def members() -> Any:
    """Find members (``q``: part of a name, ``kind``) and (coordinator, admin) register one."""
    search = request.args.get("q", "").strip()[:120]
    kind = request.args.get("kind") or None
    if kind not in PEOPLE:
        kind = None
    with reading() as conn:
        rows = queries.members(conn, kind, search or None, MAX_MEMBERS)
    return render_template(
        "web_coord_members.html",
        members=rows,
        search=search,
        kind=kind,
        kind_names=ROLE_NAMES,
        can_register=who().role in REGISTRARS,
        can_print=_is_coordinator(),
        limited=len(rows) >= MAX_MEMBERS,
    )


@web.post("/staff/members")
@page(*REGISTRARS)
def register_member() -> Any:
    """Open a volunteer's or beneficiary's account (``kind``, ``display_name``), and with
    ``username`` and ``password`` also its sign-in, as POST /api/v1/accounts does."""
    repeated = _repeat()
    if repeated:
        return repeated
    kind = request.form.get("kind", "")
    name = _text("display_name")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    problem = None
    if kind not in PEOPLE:
        problem = _("Choose volunteer or beneficiary.")
    elif not name or len(name) > 120 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = _("Enter a name of at most 120 characters.")
    elif bool(username) != bool(password):
        problem = _("Give both a username and a password, or neither.")
    elif username and not USERNAME.fullmatch(username):
        problem = _("A username has 3 to 64 characters: letters, digits and any of _ . - @")
    elif password and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        problem = _(
            "A password has %(low)d to %(high)d characters.", low=MIN_PASSWORD, high=MAX_PASSWORD
        )
    elif username and auth_of().get_user(username) is not None:
        problem = _("That username is taken.")
    if problem:
        flash(problem, "error")
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
            return _done(target)
    flash(_("Registered %(name)s.", name=name), "ok")
    return _done(target)


def _member(account_id: str):
    """A volunteer's or beneficiary's account (404 for any other id)."""
    try:
        found = ledger_of().get_account(account_id)
    except LedgerError:
        abort(404)
    if found.kind not in PEOPLE:
        abort(404)
    return found


@web.get("/staff/members/cards.pdf")
@page(COORDINATOR)
def member_cards_pdf() -> Any:
    """The current cards of the beneficiaries given (``?account_id=`` repeated), or of every
    beneficiary who has one, on A4 sheets to print and cut (as GET /api/v1/cards.pdf)."""
    ledger = ledger_of()
    given = [a for a in dict.fromkeys(request.args.getlist("account_id")) if a]
    if given:
        cards = [printed_card(account_id)[0] for account_id in given]
    else:
        cards = []
        for account_id in ledger.index.ids_of("beneficiary"):
            try:
                cards.append(printed_card(account_id)[0])
            except NotFound:  # no card yet
                continue
    if not cards:
        flash(_("No beneficiary has a card yet."), "error")
        return back("/staff/members?kind=beneficiary")
    return download(cards_pdf(cards), "application/pdf", "goldbean-cards.pdf")


@web.get("/staff/members/<account_id>")
@page(*STAFF)
def member(account_id: str) -> Any:
    """A member: balance, latest entries and (beneficiaries) the card."""
    found = _member(account_id)
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
        can_act=_is_coordinator(),
    )


@web.post("/staff/members/<account_id>/card")
@page(COORDINATOR)
def issue_card(account_id: str) -> Any:
    """Issue (or reissue) a beneficiary's card, with an optional 4-digit ``pin``; the
    card code is shown once, then printed from ``card.pdf``."""
    here = f"/staff/members/{account_id}"
    repeated = _repeat()
    if repeated:
        return repeated
    pin = request.form.get("pin", "").strip() or None
    if pin is not None and not PIN.match(pin):
        flash(_("A PIN is 4 digits."), "error")
        return back(here)
    card = attempt(lambda: ledger_of().issue_card(account_id, actor(), pin=pin, key=ledger_key()))
    if card is None:
        return back(here)
    grouped = " ".join(card.card_code[i : i + 4] for i in range(0, len(card.card_code), 4))
    flash(_("New card issued, number %(code)s. Print it now.", code=grouped), "ok")
    return _done(here)


@web.get("/staff/members/<account_id>/card.pdf")
@page(COORDINATOR)
def member_card_pdf(account_id: str) -> Any:
    """A beneficiary's current card to print (again), as GET /api/v1/accounts/{id}/card.pdf."""
    card, number = printed_card(account_id)
    return download(cards_pdf([card]), "application/pdf", f"goldbean-card-{number}.pdf")


@web.post("/staff/members/<account_id>/unlock")
@page(COORDINATOR)
def unlock_card(account_id: str) -> Any:
    """Clear a card's lock-out after too many wrong PINs."""
    here = f"/staff/members/{account_id}"
    if attempt(lambda: ledger_of().unlock_card(account_id, actor())) is not None:
        flash(_("The card's PIN lock was reset."), "ok")
    return back(here)


# --- allotments, the gift pool, corrections ---------------------------------------------------


def _allotments_page(result: Any = None, status: int = 200) -> Any:
    ledger = ledger_of()
    current = ledger.calendar.period(ledger.now())
    return (
        render_template(
            "web_coord_allotments.html",
            beneficiaries=_choices("beneficiary"),
            period=request.form.get("period") or current,
            current=current,
            default_amount=_rules().allotment_beans,
            result=result,
        ),
        status,
    )


@web.get("/staff/allotments")
@page(COORDINATOR)
def allotments() -> Any:
    """A form to grant a month's allotments."""
    return _allotments_page()


@web.post("/staff/allotments")
@page(COORDINATOR)
def grant_allotments() -> Any:
    """Grant ``period``'s allotment (``amount`` beans, default the programme's) to every
    beneficiary or the chosen ones (``account_ids``); each gets at most one per period,
    so sending the form again grants only what is missing."""
    period = request.form.get("period", "").strip()
    if not PERIOD.match(period):
        flash(_("Choose a month."), "error")
        return _allotments_page(status=422)
    ok, amount = _optional_beans("amount", 1_000_000)
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


@web.get("/staff/pool")
@page(COORDINATOR)
def pool() -> Any:
    """The gift pool's balance and a form to allocate from it to a beneficiary."""
    return render_template(
        "web_coord_pool.html",
        balance=ledger_of().get_pool_balance(),
        beneficiaries=_choices("beneficiary"),
        chosen=request.args.get("to", ""),
    )


@web.post("/staff/pool")
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


@web.get("/staff/corrections")
@page(COORDINATOR)
def corrections() -> Any:
    """A form to take back beans awarded or allotted in error."""
    return render_template(
        "web_coord_corrections.html",
        volunteers=_choices("volunteer"),
        beneficiaries=_choices("beneficiary"),
        chosen=request.args.get("account_id", ""),
        corrects=request.args.get("corrects", ""),
    )


@web.post("/staff/corrections")
@page(COORDINATOR)
def correct() -> Any:
    """Take ``amount`` beans back from ``account_id`` (to issuance), with a ``reason`` and
    optionally the record it ``corrects``; never more than the account holds."""
    account_id = request.form.get("account_id", "").strip()
    reason = _text("reason")
    corrects = _text("corrects") or None
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
