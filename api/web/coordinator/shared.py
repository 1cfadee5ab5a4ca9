"""What the coordinator's pages share: who may do what, the names of statuses, and the
skeleton of a form post that runs one ledger command (:func:`form_action`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, g, request, session
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.amounts import parse_whole
from api.context import ledger_of, reading
from api.web.support import Refused, back, claim_form, complete, who
from ledger.incidents import DUPLICATE, REJECTED, RESOLVED, SUBMITTED, VERIFIED
from ledger.rules import Rules
from projections import queries

T = TypeVar("T")

COORDINATOR = "coordinator"
#: who reads the incident queue and the activities (GET /api/v1/incidents, /activities/{id})
READERS = ("coordinator", "auditor")
#: who reads members' accounts (GET /api/v1/accounts/{id}: staff)
STAFF = ("coordinator", "fund_officer", "auditor", "admin")
#: who registers members (POST /api/v1/accounts)
REGISTRARS = ("coordinator", "admin")
#: who may ask for a member's personal data to be erased, and approve another's request
ERASERS = ("coordinator", "admin")
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
#: how many incidents a page of the queue shows, and how far it pages
QUEUE_PAGE = 50
MAX_QUEUE_PAGES = 10_000


# --- helpers ---------------------------------------------------------------------------


def repeat() -> Any:
    """Claim this form's ``form_key`` (:func:`~api.web.support.claim_form`): None to go on,
    else where to go: for the same form sent again, where the first went, with a notice.
    For commands that take no idempotency key; the claim is released if the view ends
    without :func:`done` (a refusal may be corrected and sent again)."""
    try:
        claim_form(request.endpoint or request.path)
    except Refused as refused:
        if refused.replayed:
            flash(_("This form was already sent; it was recorded only once."), "ok")
            return back(refused.replayed)
        return back(request.path.rsplit("/", 1)[0] if request.path.count("/") > 2 else "/staff")
    return None


def done(target: str) -> Any:
    """The form's work is done (it went to ``target``): a repeat goes there too."""
    complete(g.get("form_claim"), target)
    return back(target)


def text(name: str) -> str:
    """A text field, with the browser's CRLF line ends made plain newlines."""
    return request.form.get(name, "").replace("\r\n", "\n").replace("\r", "\n").strip()


def optional_beans(name: str, maximum: int) -> tuple[bool, int | None]:
    """(ok, value) of an optional whole-number field: blank is (True, None); a bad value
    is (False, None), refused beside the field."""
    if not request.form.get(name, "").strip():
        return True, None
    value = whole_number(name, minimum=0, maximum=maximum)
    return value is not None, value


def whole_number(name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
    """A whole number typed in the form as people write it ("5,000", "5，000", "5 000",
    full-width digits: api/amounts.py), or None with the refusal beside the field."""
    value = parse_whole(request.form.get(name, ""))
    if value is None or not minimum <= value <= maximum:
        refuse(
            _(
                "Enter a whole number from %(low)s to %(high)s.",
                low=format_decimal(minimum),
                high=format_decimal(maximum),
            ),
            name,
        )
        return None
    return value


def choices(kind: str) -> list[dict[str, Any]]:
    """Every volunteer or beneficiary (``kind``) by name, for a choice list."""
    with reading() as conn:
        return queries.members(conn, kind, None, MAX_CHOICES)


def is_coordinator() -> bool:
    return who().role == COORDINATOR


def current_rules() -> Rules:
    return ledger_of().rules


def chosen_ids(name: str = "account_ids") -> list[str]:
    """The ids ticked in a form's ``name`` list, each once, in the order given."""
    return [a for a in dict.fromkeys(request.form.getlist(name)) if a]


def form_action(
    here: str,
    command: Callable[[], T | None],
    message: Callable[[T], str],
    target: Callable[[T], str] | None = None,
    form: tuple[str, tuple[str, ...]] | None = None,
) -> Any:
    """A form post that runs one ledger command, sent once however often it arrives.

    Claims the form (:func:`repeat`: a repeat goes where the first went), runs
    ``command`` (None when its input or the ledger refused: already said, and the
    reader goes back ``here`` to correct it, with what they typed in the ``form`` (its
    id and fields) kept, see :func:`keep`), flashes ``message(result)`` and goes to
    ``target(result)`` (default ``here``), where a repeat of the form goes too."""
    repeated = repeat()
    if repeated:
        return repeated
    result = command()
    if result is None:
        if form is not None:
            keep(here, *form)
        return back(here)
    flash(message(result), "ok")
    return done(target(result) if target else here)


def refuse(message: str, field: str | None = None) -> None:
    """Say why a form's input is refused: beside the ``field`` (see :func:`keep`), or
    flashed at the top; the command then returns None to go back."""
    if field is None:
        flash(message, "error")
        return
    errors = g.setdefault("field_errors", {})
    errors.setdefault(field, message)


# --- what was typed, kept across the redirect after a refusal ---------------------------------

KEPT = "kept_form"
#: at most this much of a field is kept (the session is a cookie of about 4 kB)
KEPT_CHARS = 600


def keep(here: str, form_id: str, fields: tuple[str, ...]) -> None:
    """Keep what was typed in ``fields`` of the form ``form_id``, and the refusals beside
    its fields (:func:`refuse`), for the page ``here`` to show again once
    (:func:`kept_form`). Passwords and PINs are never among ``fields``."""
    errors = dict(g.get("field_errors", {}))
    if errors:
        flash(_("Nothing was saved. Check the marked fields."), "error")
    values = {
        name: [value[:KEPT_CHARS] for value in request.form.getlist(name)][:MAX_KEPT_CHOICES]
        for name in fields
    }
    session[KEPT] = {
        "path": urlsplit(here).path,
        "form": form_id,
        "values": values,
        "errors": errors,
    }


MAX_KEPT_CHOICES = 50


class Kept:
    """What a page's form shows again after a refusal: ``value``, ``chosen`` and
    ``error`` of a field of a form, or nothing (another form, or no refusal)."""

    def __init__(self, kept: dict[str, Any] | None = None) -> None:
        self.form = (kept or {}).get("form")
        self._values: dict[str, list[str]] = (kept or {}).get("values", {})
        self._errors: dict[str, str] = (kept or {}).get("errors", {})

    def has(self, form_id: str) -> bool:
        return self.form == form_id

    def value(self, form_id: str, name: str, default: Any = "") -> Any:
        given = self._values.get(name) if self.form == form_id else None
        return given[0] if given else default

    def chosen(self, form_id: str, name: str, default: Any = ()) -> set[str]:
        if self.form == form_id and name in self._values:
            return set(self._values[name])
        return set(default)

    def error(self, form_id: str, name: str) -> str | None:
        return self._errors.get(name) if self.form == form_id else None


def kept_form() -> Kept:
    """What :func:`keep` kept for this page, once (then it is forgotten)."""
    kept = session.pop(KEPT, None)
    if not isinstance(kept, dict) or kept.get("path") != request.path:
        return Kept()
    return Kept(kept)
