"""A volunteer scans codes with their phone (SPEC §5): a shop's counter code to pay it, an
activity's check-in code to check in.

- ``GET /me/scan``: the camera (``me-scan.js`` with the scanner it shares with the till,
  ``/pos/static/scan.js``: ``getUserMedia`` and ``BarcodeDetector``
  where the browser has it, else frames read by ``POST /me/scan/decode``) and a form to
  type the code (field ``code``), for phones without a camera or when it is refused.
- ``POST /me/scan``: what the code is. A counter code leads to ``GET /me/pay?merchant=``;
  a check-in code to a confirmation (``POST /me/checkin``); a beneficiary's card to the
  gift form. Check-in and card codes are secrets, so they travel in form posts, never in
  a URL.
- ``GET /me/pay?merchant=<code>``, ``POST /me/pay`` (``merchant``, ``amount``): the amount
  to pay; the post shows the shop and the amount to confirm (nothing is paid yet), and
  only its "Confirm" (``confirm=1``, the same ``form_key``) pays the shop; the receipt is
  ``GET /me/paid/<id>``. The form's ``form_key`` makes a repeated post pay once.

Counter codes and check-in codes are digits (ledger/codes.py): a counter code is 10 digits
starting with 7, a check-in code 13 digits starting with 5; their QR images encode just
the digits. A check-in code does not say which activity it is for: the ledger finds it by
the code's claim record (``Ledger.activity_for_checkin_code``).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from flask import Blueprint, flash, jsonify, render_template, request
from flask_babel import gettext as _

from api.context import ledger_of
from api.errors import ApiProblem, ledger_problem
from api.frames import frame_of_request
from api.web import member_help
from api.web.common import CATEGORY_NAMES
from api.web.member import my_account_id
from api.web.support import (
    back,
    beans,
    code_guesses_refused,
    count_code_guess,
    form_int,
    ledger_key,
    ledger_message,
    page,
    when,
)
from ledger import codes
from ledger.errors import (
    ActivityNotRunning,
    InsufficientBalance,
    InvalidCode,
    LedgerError,
    LimitExceeded,
    MerchantSuspended,
    NotFound,
)
from merchant_pos.qr import decode_image

bp = Blueprint("member_spend", __name__)

log = logging.getLogger(__name__)

#: the page's own policy: the default one, plus the camera's picture in a <video>
SCAN_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
MAX_BEANS = 1_000_000  # far above the ledger's limits, so that its own refusal answers
MAX_CODE_LENGTH = 80


# --- scanning ----------------------------------------------------------------------------------


def scan_page(status: int = 200, code: str = "") -> Any:
    body = render_template("web_me_scan.html", code=code)
    headers = {"Content-Security-Policy": SCAN_POLICY, "Permissions-Policy": "camera=(self)"}
    return body, status, headers


def refuse_scan(message: str, code: str) -> Any:
    if code:
        count_code_guess()  # guessing check-in or card codes is throttled like the API
    flash(message, "error")
    return scan_page(422, code)


@bp.get("/me/scan")
@page("volunteer")
def scan() -> Any:
    """Scan a shop's counter code or an activity's check-in code, or type it."""
    return scan_page()


@bp.post("/me/scan")
@page("volunteer")
def scanned() -> Any:
    """Where a scanned or typed code leads."""
    refused = code_guesses_refused()
    if refused is not None:
        return refused
    code = request.form.get("code", "").strip()[:MAX_CODE_LENGTH]
    unknown = _("That is not the code of a shop or of an activity. Check the digits and try again.")
    if not code:
        return refuse_scan(_("Scan a code or type its digits."), code)
    try:
        kind = codes.classify_code(code)
    except InvalidCode:
        return refuse_scan(unknown, code)
    digits = code.replace(" ", "").replace("-", "")
    if kind == "merchant":
        try:
            ledger_of().get_merchant_by_code(digits)
        except InvalidCode:
            return refuse_scan(unknown, code)
        return back(f"/me/pay?merchant={digits}")
    if kind == "checkin":
        return checkin_confirmation(digits, code, unknown)
    if kind == "card":
        return member_help.render_give(to="beneficiary", beneficiary=code)
    return refuse_scan(
        _("That is a payment code: a shop's till scans it. Here, scan the shop's counter code."),
        "",
    )


def checkin_confirmation(digits: str, typed: str, unknown: str) -> Any:
    try:
        codes.parse_checkin_code(digits)
    except InvalidCode:
        return refuse_scan(unknown, typed)
    try:
        activity = ledger_of().activity_for_checkin_code(digits)
    except InvalidCode:
        return refuse_scan(_("No activity has that check-in code."), typed)
    return render_template("web_me_checkin.html", activity=activity, checkin_code=digits)


@bp.post("/me/scan/decode")
@page("volunteer")
def decode_frame() -> Any:
    """The QR codes in one camera frame or photo (PNG or JPEG, at most 48 KiB), for
    browsers without BarcodeDetector: ``{"codes": [...]}``. Nothing is stored."""
    try:
        found = decode_image(frame_of_request())
    except ApiProblem as problem:
        return jsonify({"error": problem.code}), problem.status
    except ValueError as error:  # a header that reads, over pixel data that does not
        log.info("a frame to decode is damaged: %s", error)
        return jsonify({"error": "validation_error"}), 422
    return jsonify({"codes": found})


# --- checking in to an activity ---------------------------------------------------------------


@bp.post("/me/checkin")
@page("volunteer")
def check_in() -> Any:
    """Check in to a running activity with its code; the coordinator confirms later."""
    refused = code_guesses_refused()
    if refused is not None:
        return refused
    activity_id = request.form.get("activity_id", "")
    code = request.form.get("checkin_code", "")
    ledger = ledger_of()
    try:
        activity = ledger.get_activity(activity_id)
    except LedgerError:  # no such activity, or not an id
        flash(_("No activity has that check-in code."), "error")
        return back("/me/scan")
    try:
        done = ledger.check_in(activity.id, my_account_id(), code)
    except ActivityNotRunning:
        flash(
            _(
                "Check-in is open only while the activity runs (%(start)s to %(end)s).",
                start=when(activity.starts_at),
                end=when(activity.ends_at),
            ),
            "error",
        )
        return back("/me/scan")
    except InvalidCode:
        count_code_guess()
        flash(_("No activity has that check-in code."), "error")
        return back("/me/scan")
    if done.new:
        message = _(
            "You are checked in to “%(title)s”. Your attendance awaits the coordinator's "
            "confirmation.",
            title=activity.title,
        )
    else:
        message = _(
            "You were already checked in to “%(title)s”. Your attendance awaits the "
            "coordinator's confirmation.",
            title=activity.title,
        )
    flash(message, "ok")
    return back("/me")


# --- paying a shop by its counter code --------------------------------------------------------


def shop_for(code: str) -> Any:
    """The shop a counter code names, or None (and a flashed message)."""
    try:
        return ledger_of().get_merchant_by_code(code)
    except LedgerError as error:
        log.info("a counter code names no shop: %s", error)
        flash(_("That is not a shop's counter code. Scan it again or check the digits."), "error")
        return None


def pay_page(shop: Any, status: int = 200, amount: str = "") -> Any:
    balance = ledger_of().get_balance(my_account_id())
    category = CATEGORY_NAMES.get(shop.category, shop.category)
    page_html = render_template(
        "web_me_pay.html", shop=shop, category=category, balance=balance, amount=amount
    )
    return page_html, status


def foreseen_refusal(shop: Any, amount: int) -> LedgerError | None:
    """What the ledger would surely refuse, said before asking to confirm (the ledger
    checks again when the payment is made)."""
    ledger = ledger_of()
    if shop.status != "active":
        return MerchantSuspended("this merchant is suspended")
    if amount > ledger.rules.max_redemption:
        return LimitExceeded(f"at most {ledger.rules.max_redemption} beans per transaction")
    if amount > ledger.get_balance(my_account_id()):
        return InsufficientBalance("not enough beans")
    return None


def confirm_page(shop: Any, amount: int) -> Any:
    """The shop and the amount, to confirm before anything is paid."""
    balance = ledger_of().get_balance(my_account_id())
    category = CATEGORY_NAMES.get(shop.category, shop.category)
    key = request.form.get("form_key", "")
    return render_template(
        "web_me_pay_confirm.html",
        shop=shop,
        category=category,
        amount=amount,
        balance=balance,
        key=key if ledger_key() is not None else None,
    )


@bp.get("/me/pay")
@page("volunteer")
def pay_form() -> Any:
    """How many beans to pay the shop whose counter code was scanned."""
    code = request.args.get("merchant", "").strip()[:MAX_CODE_LENGTH]
    if not code:
        return back("/me/scan")
    shop = shop_for(code)
    if shop is None:
        return back("/me/scan")
    return pay_page(shop)


@bp.post("/me/pay")
@page("volunteer")
def pay() -> Any:
    """Pay the shop; a repeat of the same form (same form_key) pays once."""
    shop = shop_for(request.form.get("merchant", "").strip()[:MAX_CODE_LENGTH])
    if shop is None:
        return back("/me/scan")
    typed = request.form.get("amount", "").strip()[:20]
    amount = form_int("amount", minimum=1, maximum=MAX_BEANS)
    if amount is None:
        return pay_page(shop, 422, typed)
    if request.form.get("confirm") != "1":  # one tap never sends beans: ask once more
        refusal = foreseen_refusal(shop, amount)
        if refusal is not None:
            status, _code = ledger_problem(refusal)
            flash(ledger_message(refusal), "error")
            return pay_page(shop, status, typed)
        return confirm_page(shop, amount)
    try:
        paid = ledger_of().pay_merchant(
            my_account_id(), shop.merchant_code, amount, key=ledger_key()
        )
    except LedgerError as error:
        status, _code = ledger_problem(error)
        flash(ledger_message(error), "error")
        return pay_page(shop, status, typed)
    flash(_("You paid %(amount)s beans to %(shop)s.", amount=beans(amount), shop=shop.name), "ok")
    return back(f"/me/paid/{paid.id}")


@bp.get("/me/paid/<redemption_id>")
@page("volunteer")
def paid(redemption_id: str) -> Any:
    """The receipt of one of the volunteer's payments, to show the shop."""
    ledger = ledger_of()
    account_id = my_account_id()
    payment = ledger.get_redemption(redemption_id)  # NotFound: the 404 page
    if not same_id(payment.payer_id, account_id):
        raise NotFound("not one of your payments")
    shop = ledger.get_merchant(payment.merchant_id)
    return render_template(
        "web_me_paid.html",
        payment=payment,
        shop=shop,
        balance=ledger.get_balance(account_id),
        receipt=payment.id.replace("-", "")[:8].upper(),
    )


def same_id(one: str, other: str) -> bool:
    try:
        return UUID(one) == UUID(other)
    except ValueError:
        return False
