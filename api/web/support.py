"""What every signed-in page shares: who may open it, one form post's idempotency key,
ledger refusals as translated messages, and locale-aware money, beans and dates.

A page view is decorated with :func:`page` (the roles that may open it). A form that
changes the ledger carries a hidden ``form_key`` (the ``form_key()`` template global, a
fresh UUID per rendering); :func:`ledger_key` turns it into the ledger's idempotency key,
so a double-clicked or re-sent form records once and shows the first result again.
:func:`attempt` runs a ledger command and flashes its refusal, translated, instead of
raising; the view then re-renders or redirects (post/redirect/get).
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, render_template, request
from flask_babel import format_currency, format_decimal, get_locale, get_timezone, ngettext
from flask_babel import lazy_gettext as _l

from api.amounts import parse_whole
from api.auth import Principal
from api.context import auth_of, idempotency_of
from api.dates import day_text, moment_text, month_text, time_text
from api.errors import ledger_problem
from api.idempotency import Mismatch, Proceed, Replay
from api.web.session import signed_in
from ledger.errors import LedgerError
from ledger.views import Actor

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

FORM_KEY = re.compile(r"^[0-9a-f]{32}$")

#: the ledger's stable error code (api/errors.py) -> what the person reads
LEDGER_MESSAGES = {
    "not_found": _l("That record does not exist."),
    "validation_error": _l("Some of the values are not valid. Check them and try again."),
    "nothing_to_settle": _l("No merchant has unsettled beans before that date."),
    "invalid_state": _l("That cannot be done in the record's current state."),
    "insufficient_balance": _l("Not enough beans."),
    "insufficient_fund": _l("The fund does not hold enough cash for this."),
    "invalid_code": _l("That code is not valid."),
    "code_expired": _l("That code has expired. Ask for a new one."),
    "code_used": _l("That payment code has already been used."),
    "card_revoked": _l("That card has been replaced by a newer card."),
    "wrong_pin": _l("Wrong PIN."),
    "card_locked": _l("The card is locked after too many wrong PINs. A coordinator can unlock it."),
    "merchant_not_allowed": _l("Cards cannot be used at this merchant."),
    "merchant_suspended": _l("This merchant is suspended."),
    "limit_exceeded": _l("That is over the limit."),
    "award_cap_exceeded": _l("That award would go over the daily award cap."),
    "self_verification": _l(
        "You cannot give beans to your own account: another coordinator must verify, "
        "resolve, confirm, allot or allocate for it."
    ),
    "forbidden": _l("Only a leader of the activity's team, or a coordinator, can do this."),
    "four_eyes_required": _l(
        "Another fund officer must do this: you prepared the settlement or recorded the donation."
    ),
    "period_not_open": _l(
        "Allotments are granted for the current month only, and never for a month before "
        "the account was opened."
    ),
    "unknown_credit": _l(
        "Choose the award, allotment, gift or pool allocation of this account that the "
        "correction takes back."
    ),
    "correction_exceeds_credit": _l("That is more than is left of the credit being corrected."),
    "pin_required": _l("This card has a PIN: ask for it."),
    "no_handlers": _l("Name the handlers first, or say that nobody is to be awarded."),
    "payment_reference_used": _l("That payment reference already paid another settlement line."),
    "refund_exceeds_redemption": _l("That is more than is left of the payment."),
    "refund_window_closed": _l("The refund window for that payment has closed."),
    "idempotency_key_reused": _l("This form was already sent with other values. Reload the page."),
    "duplicate_receipt": _l("That receipt number is already recorded."),
    "conflict": _l("Someone else changed this at the same moment. Please try again."),
}

ROLES_HOME = {
    "volunteer": "/me",
    "beneficiary": "/me",
    "merchant": "/pos",
}


def who() -> Principal:
    """The person on this page (only inside a :func:`page` view)."""
    return g.web_principal


def actor() -> Actor:
    """The signed-in person as the ledger's Actor (four eyes, self-verification)."""
    person = who()
    return Actor(person.username or "", person.account_id)


def page(*roles: str) -> Callable[[F], F]:
    """Open the view to people signed in with one of ``roles``: anyone else signed in gets
    403 (a page saying so), and a visitor is sent to /login, coming back here after."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            person = signed_in()
            if person is None:
                target = request.full_path if request.method == "GET" else request.path
                return redirect(f"/login?next={target.rstrip('?')}")
            if roles and person.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded._goldbean_page_roles = roles  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def new_form_key() -> str:
    """A fresh key for one rendering of a form (template global ``form_key``)."""
    return uuid.uuid4().hex


def ledger_key() -> str | None:
    """The ledger idempotency key of this form post, or None without a valid form_key."""
    value = request.form.get("form_key", "")
    return f"web:{value}" if FORM_KEY.match(value) else None


# --- a form sent once ---------------------------------------------------------------------


Claim = tuple[str, str] | None


class Refused(Exception):
    """This form post must not run: its key was used before (the message is flashed)."""

    def __init__(self, replayed: str | None = None) -> None:
        super().__init__("form already sent")
        self.replayed = replayed  # what the first post kept, if it was the same post


def claim_form(what: str) -> Claim:
    """Claim this form post's key, so that it does its work once: ``(scope, key)`` to
    :func:`complete` or :func:`release` after the work, or None without a form key (the
    work simply runs). Raises :class:`Refused` when the key was used before: for the same
    values (``replayed`` is what the first post kept), for other values, or by a post
    still running."""
    key = ledger_key()
    if key is None:
        return None
    scope = f"web:{who().username}"
    fields = sorted((k, v) for k, v in request.form.items(multi=True) if k != "csrf_token")
    fingerprint = hashlib.sha256(repr((what, request.path, fields)).encode("utf-8")).hexdigest()
    decision = idempotency_of().begin(scope, key, fingerprint)
    if isinstance(decision, Proceed):
        g.form_claim = (scope, key)
        return scope, key
    if isinstance(decision, Replay):
        raise Refused(decision.body)
    if isinstance(decision, Mismatch):
        flash(str(LEDGER_MESSAGES["idempotency_key_reused"]), "error")
    else:
        flash(str(LEDGER_MESSAGES["conflict"]), "error")
    raise Refused()


def release(claim: Claim) -> None:
    """The work did not happen (refused, or failed): the same form may be sent again."""
    if claim is not None:
        idempotency_of().release(*claim)
        g.pop("form_claim", None)


def complete(claim: Claim, result: str) -> None:
    """The work is done; a repeat of the form gets ``result`` (an id or a path) back."""
    if claim is not None:
        idempotency_of().complete(*claim, 200, result)
        g.pop("form_claim", None)


def release_unfinished(_error: BaseException | None = None) -> None:
    """Teardown of every page request: a claim neither completed nor released (the view
    returned early on a refusal, or raised) is released."""
    release(g.get("form_claim"))


def ledger_message(error: LedgerError) -> str:
    """A ledger refusal in the reader's language."""
    _status, code = ledger_problem(error)
    return str(LEDGER_MESSAGES.get(code, LEDGER_MESSAGES["validation_error"]))


def attempt(command: Callable[[], T]) -> T | None:
    """Run a ledger ``command``; on a refusal flash its message and return None."""
    try:
        return command()
    except LedgerError as error:
        flash(ledger_message(error), "error")
        return None


def back(default: str) -> Any:
    """Post/redirect/get: back to ``default`` (a path on this site)."""
    return redirect(default, code=303)


def form_int(name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
    """A whole number from the form, or None (and a flashed message) when it is not one."""
    raw = request.form.get(name, "").strip()
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        message = _l("Enter a whole number from %(low)s to %(high)s.", low=minimum, high=maximum)
        flash(str(message), "error")
        return None
    return value


#: the field a confirmed form carries (the confirmation page adds it)
CONFIRMED = "confirmed"


def confirmation(title: str, consequence: str, yes: str, back_to: str) -> Any | None:
    """Ask once more before an irreversible action (issue 17, item 12), without scripts:
    None when the form carries the confirmation, else the page that asks. It says
    ``consequence`` (what will happen, and that it cannot be undone) and sends the same
    form again with the confirmation (button ``yes``); "No" goes back to ``back_to``."""
    if request.form.get(CONFIRMED) == "yes":
        return None
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", CONFIRMED)
    ]
    return render_template(
        "web_confirm.html",
        title=title,
        consequence=consequence,
        yes=yes,
        back_to=back_to,
        action=request.path,
        fields=fields,
    )


def form_amount(name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
    """A whole amount typed in a staff form, as people write it ("5,000", "5，000",
    "5 000", full-width digits: api/amounts.py), or None (and a flashed message)."""
    value = parse_whole(request.form.get(name, ""))
    if value is None or not minimum <= value <= maximum:
        message = _l(
            "Enter a whole number from %(low)s to %(high)s.",
            low=format_decimal(minimum),
            high=format_decimal(maximum),
        )
        flash(str(message), "error")
        return None
    return value


def _guesser() -> str:
    return f"user:{who().username}"


def code_guesses_refused() -> Any | None:
    """A 429 page (with Retry-After) when the person on this page presented too many
    invalid codes lately (the API's limit, :meth:`api.auth.Auth.code_attempts_wait`)."""
    wait = auth_of().code_attempts_wait(_guesser())
    if not wait:
        return None
    minutes = max(1, -(-wait // 60))
    message = ngettext(
        "Too many invalid codes or wrong PINs. Please try again in %(num)d minute.",
        "Too many invalid codes or wrong PINs. Please try again in %(num)d minutes.",
        minutes,
    )
    title = _l("Not possible")
    body = render_template("web_message.html", title=title, message=message)
    return body, 429, {"Retry-After": str(wait)}


def count_code_guess() -> None:
    """Count an invalid code presented on a page towards that limit."""
    auth_of().count_code_failure(_guesser())


# --- formatting (template filters) --------------------------------------------------------


def beans(value: int | None) -> str:
    """A number of beans, grouped for the locale (1,234)."""
    return "" if value is None else format_decimal(value)


def money(fen: int | None) -> str:
    """Fen as yuan with the locale's currency sign: ¥12.34 (zh), CN¥12.34 (en)."""
    if fen is None:
        return ""
    return format_currency(Decimal(fen) / 100, "CNY")


def reader_lang() -> str:
    """The reader's language for :mod:`api.dates`: ``zh`` or ``en``."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def when(value: datetime | str | None) -> str:
    """A moment in the programme's time zone, the glossary's way: 2026年12月8日 14:05,
    8 Dec 2026, 14:05."""
    return moment_text(value, reader_lang(), get_timezone())


def day(value: date | str | None) -> str:
    """A calendar day: 2026年12月8日, 8 Dec 2026."""
    return day_text(value, reader_lang())


def clock(value: datetime | str | None) -> str:
    """The time of day of a moment in the programme's time zone: 14:05."""
    return time_text(value, reader_lang(), get_timezone())


def month(period: str | date | None) -> str:
    """A month: 2026年12月, December 2026."""
    return month_text(period, reader_lang())


FILTERS = {
    "beans": beans,
    "money": money,
    "when": when,
    "day": day,
    "clock": clock,
    "month": month,
}
