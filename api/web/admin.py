"""The administrator's pages (SPEC §1): users, merchants and their POS terminals.

Who may do what is the JSON API's rule: only admins create users (``POST /users``),
register, suspend and reactivate merchants and create terminals (``POST /merchants...``);
every staff role may read a merchant and its counter code (``GET /merchants/{id}``,
``code.svg``, ``sign.pdf``). Listing, disabling and re-enabling users and revoking
terminals have no JSON endpoint; they are the admin's, through :mod:`api.auth`.

A terminal's token is shown once, in the answer to the form that created it: it is never
stored in the clear, flashed into the cookie session, logged, or shown again. Beside it the
page shows a pairing code (8 digits, 10 minutes, once) and its QR code: the till types or
scans it on /pos and fetches a token of its own, so nobody copies the token by hand. A form sent
twice (a double click, a reload of the answer) does its work once: the form's key is
claimed in the API's idempotency store, and the repeat only says it was done.

The programme's rules have a page of their own (api/web/admin_rules.py).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from api.auth import (
    ACCOUNT_ROLES,
    MAX_LABEL,
    ROLES,
    USERNAME,
    InvalidUser,
    UserExists,
    enable_user,
    list_users,
    terminals_of,
)
from api.context import auth_of, ledger_of, reading
from api.files import code_image, download
from api.passwords import MIN_PASSWORD
from api.web import payee_form
from api.web.checks import name_or_refusal, password_refusal
from api.web.common import CATEGORY_NAMES, ROLE_NAMES, rebate_text
from api.web.support import (
    Refused,
    actor,
    attempt,
    back,
    claim_form,
    complete,
    confirmation,
    form_amount,
    page,
    release,
    who,
)
from ledger.errors import NotFound
from ledger.rules import MERCHANT_CATEGORIES
from merchant_pos.printing import counter_sign_pdf
from merchant_pos.qr import qr_svg
from projections import queries

bp = Blueprint("admin", __name__)

log = logging.getLogger(__name__)

ADMIN = "admin"
STAFF = ("coordinator", "fund_officer", "auditor", "admin")

STATUS_NAMES = {"active": lazy_gettext("Active"), "suspended": lazy_gettext("Suspended")}


# --- users -----------------------------------------------------------------------------------


def _user_rows() -> list[dict[str, Any]]:
    users = list_users(auth_of())
    rows = []
    with reading() as conn:
        for user in users:
            linked = None
            if user.account_id:
                account = queries.account(conn, user.account_id)
                linked = account["display_name"] if account else user.account_id
            elif user.merchant_id:
                merchant = queries.account(conn, user.merchant_id)
                linked = merchant["display_name"] if merchant else user.merchant_id
            rows.append({"user": user, "linked": linked})
    return rows


def _merchant_choices() -> list[dict[str, str]]:
    with reading() as conn:
        return queries.merchants(conn)


def _users_page(form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    html = render_template(
        "web_admin_users.html",
        rows=_user_rows(),
        form=form,
        errors=errors,
        roles=ROLES,
        merchants=_merchant_choices(),
        me=who().username,
        min_password=MIN_PASSWORD,
    )
    return html, status


EMPTY_USER = {"username": "", "role": "", "account": "", "merchant_id": ""}


@bp.get("/staff/users")
@page(ADMIN)
def admin_users() -> Any:
    """Every user with their role and link, and the form to create one."""
    return _users_page(dict(EMPTY_USER), {})


def _linked_account(role: str, given: str, errors: dict[str, str]) -> str | None:
    """The account id an account id or account number names, fit for ``role``."""
    if not given:
        if role in ACCOUNT_ROLES:
            errors["account"] = _("A volunteer or beneficiary user needs their bean account.")
        return None
    if role == "merchant":
        errors["account"] = _("A merchant user has no personal bean account.")
        return None
    ledger = ledger_of()
    try:
        account_id = ledger.account_id_for_number(given) if given.isdigit() else given
        # POST /users's check: a volunteer's or a beneficiary's account, in canonical form
        account = ledger.get_member_account(account_id)
    except NotFound:
        errors["account"] = _("There is no account with that id or number.")
        return None
    if role == "beneficiary" and account.kind != "beneficiary":
        errors["account"] = _("That account is not a beneficiary account.")
        return None
    if role == "volunteer" and account.kind != "volunteer":
        errors["account"] = _("That account is not a volunteer account.")
        return None
    return account.id


def _linked_merchant(role: str, given: str, errors: dict[str, str]) -> str | None:
    if role != "merchant":
        if given:
            errors["merchant_id"] = _("Only a merchant user belongs to a merchant.")
        return None
    if not given:
        errors["merchant_id"] = _("Choose the merchant this user works for.")
        return None
    try:
        return ledger_of().get_merchant(given).id
    except NotFound:
        errors["merchant_id"] = _("There is no such merchant.")
        return None


@bp.post("/staff/users")
@page(ADMIN)
def admin_create_user() -> Any:
    """Create a user (POST /api/v1/users), optionally linked to their bean account (by
    id or account number) or, for a merchant user, to their merchant."""
    form = {
        "username": request.form.get("username", "").strip(),
        "role": request.form.get("role", ""),
        "account": request.form.get("account", "").strip(),
        "merchant_id": request.form.get("merchant_id", "").strip(),
    }
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    account_id = merchant_id = None
    if not USERNAME.fullmatch(form["username"]):
        errors["username"] = _(
            "A username has 3 to 64 characters: letters, digits and any of _ . - @"
        )
    weak = password_refusal(password, form["username"])
    if weak:
        errors["password"] = weak
    if form["role"] not in ROLES:
        errors["role"] = _("Choose a role.")
    else:
        account_id = _linked_account(form["role"], form["account"], errors)
        merchant_id = _linked_merchant(form["role"], form["merchant_id"], errors)
    if errors:
        flash(_("The user was not created. Check the marked fields."), "error")
        return _users_page(form, errors, 422)
    try:
        auth_of().create_user(form["username"], password, form["role"], account_id, merchant_id)
    except UserExists:
        errors["username"] = _("That username is taken.")
    except InvalidUser:
        errors["role"] = _("Some of the values are not valid. Check them and try again.")
    if errors:
        flash(_("The user was not created. Check the marked fields."), "error")
        return _users_page(form, errors, 409 if "username" in errors else 422)
    flash(
        _(
            "User %(name)s created with the role %(role)s.",
            name=form["username"],
            role=ROLE_NAMES[form["role"]],
        ),
        "ok",
    )
    return back("/staff/users")


@bp.post("/staff/users/<username>/disable")
@page(ADMIN)
def admin_disable_user(username: str) -> Any:
    """Switch a user off: their sessions end and they cannot sign in."""
    if username == who().username:
        flash(_("You cannot disable your own user."), "error")
        return back("/staff/users")
    if not auth_of().disable_user(username):
        abort(404)
    flash(_("User %(name)s disabled; their sessions have ended.", name=username), "ok")
    return back("/staff/users")


@bp.post("/staff/users/<username>/enable")
@page(ADMIN)
def admin_enable_user(username: str) -> Any:
    """Let a disabled user sign in again."""
    if not enable_user(auth_of(), username):
        abort(404)
    flash(_("User %(name)s can sign in again.", name=username), "ok")
    return back("/staff/users")


# --- merchants -------------------------------------------------------------------------------


def _merchant_rows() -> list[Any]:
    ledger = ledger_of()
    rows = []
    for account in _merchant_choices():
        try:
            rows.append(ledger.get_merchant(account["id"]))
        except NotFound:
            log.warning("merchant %s is in the read model but not in the ledger", account["id"])
    return rows


@bp.get("/staff/merchants")
@page(*STAFF)
def admin_merchants() -> str:
    """Every merchant with its status; admins register, suspend and reactivate them."""
    return render_template(
        "web_admin_merchants.html",
        merchants=_merchant_rows(),
        categories=[(c, CATEGORY_NAMES[c]) for c in MERCHANT_CATEGORIES],
        category_names=CATEGORY_NAMES,
        status_names=STATUS_NAMES,
        rebate_text=rebate_text,
        default_rebate_bps=ledger_of().rules.default_rebate_bps,
        is_admin=who().role == ADMIN,
    )


@bp.post("/staff/merchants")
@page(ADMIN)
def admin_register_merchant() -> Any:
    """Register a partner merchant (POST /api/v1/merchants)."""
    name, invisible = name_or_refusal(request.form.get("name", ""))
    category = request.form.get("category", "")
    raw_bps = request.form.get("rebate_bps", "").strip()
    if invisible:
        flash(invisible, "error")
        return back("/staff/merchants")
    if not name or len(name) > 120 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        flash(_("Enter the merchant's name (at most 120 characters)."), "error")
        return back("/staff/merchants")
    if category not in MERCHANT_CATEGORIES:
        flash(_("Choose the merchant's category."), "error")
        return back("/staff/merchants")
    rebate_bps = None
    if raw_bps:
        rebate_bps = form_amount("rebate_bps", minimum=0, maximum=10_000)
        if rebate_bps is None:
            return back("/staff/merchants")
    try:
        claim = claim_form("register merchant")
    except Refused as refused:  # a repeat of the first post leads to its merchant
        return back(
            f"/staff/merchants/{refused.replayed}" if refused.replayed else "/staff/merchants"
        )
    try:
        registered = attempt(
            lambda: ledger_of().register_merchant(name, category, rebate_bps, by=actor())
        )
    except Exception:
        release(claim)
        raise
    if registered is None:
        release(claim)
        return back("/staff/merchants")
    complete(claim, registered.id)
    flash(_("Merchant %(name)s registered.", name=registered.name), "ok")
    return back(f"/staff/merchants/{registered.id}")


def _return_to(merchant_id: str) -> str:
    detail = f"/staff/merchants/{merchant_id}"
    return detail if request.form.get("return_to") == detail else "/staff/merchants"


@bp.post("/staff/merchants/<merchant_id>/suspend")
@page(ADMIN)
def admin_suspend_merchant(merchant_id: str) -> Any:
    """Suspend a merchant: it cannot redeem until reactivated (asked once more)."""
    found = ledger_of().get_merchant(merchant_id)  # NotFound: the 404 page
    asking = confirmation(
        _("Suspend %(name)s?", name=found.name),
        _(
            "%(name)s will not be able to take beans, and it is left out of settlements, "
            "until an administrator reactivates it. Volunteers paying there are refused.",
            name=found.name,
        ),
        _("Yes, suspend %(name)s", name=found.name),
        _return_to(merchant_id),
    )
    if asking is not None:
        return asking
    done = attempt(lambda: ledger_of().suspend_merchant(merchant_id, actor()))
    if done is not None:
        flash(_("%(name)s is suspended: it cannot take beans.", name=done.name), "ok")
    return back(_return_to(merchant_id))


@bp.post("/staff/merchants/<merchant_id>/reactivate")
@page(ADMIN)
def admin_reactivate_merchant(merchant_id: str) -> Any:
    """Let a suspended merchant take beans again."""
    done = attempt(lambda: ledger_of().reactivate_merchant(merchant_id, actor()))
    if done is not None:
        flash(_("%(name)s is active again.", name=done.name), "ok")
    return back(_return_to(merchant_id))


@bp.get("/staff/merchants/<merchant_id>")
@page(*STAFF)
def admin_merchant(merchant_id: str) -> str:
    """A merchant: its details, where it is paid (the account number in full for fund
    officers and the admin only), its counter code, and its POS terminals."""
    found = ledger_of().get_merchant(merchant_id)  # NotFound: the 404 page
    return render_template(
        "web_admin_merchant.html",
        merchant=found,
        category=CATEGORY_NAMES.get(found.category, found.category),
        status=STATUS_NAMES.get(found.status, found.status),
        rebate=rebate_text(found.rebate_bps),
        terminals=terminals_of(auth_of(), found.id),
        now=auth_of().clock.now(),
        is_admin=who().role == ADMIN,
        **payee_form.context(found.id),
    )


@bp.post("/staff/merchants/<merchant_id>/terminals")
@page(ADMIN)
def admin_create_terminal(merchant_id: str) -> Any:
    """Register a POS terminal: its token is on this answer, and nowhere else ever."""
    found = ledger_of().get_merchant(merchant_id)
    label, invisible = name_or_refusal(request.form.get("label", ""))
    if invisible:
        flash(invisible, "error")
        return back(f"/staff/merchants/{found.id}")
    if not label or len(label) > MAX_LABEL or any(ord(c) < 32 or ord(c) == 127 for c in label):
        flash(_("Enter a label for the till (at most 200 characters)."), "error")
        return back(f"/staff/merchants/{found.id}")
    try:
        claim = claim_form("create terminal")
    except Refused as refused:
        if refused.replayed:
            message = _("That till was already created. Its token cannot be shown again.")
            flash(message, "error")
        return back(f"/staff/merchants/{found.id}")
    try:
        terminal_id, token = auth_of().create_terminal(found.id, label)
    except InvalidUser:
        release(claim)
        flash(_("Enter a label for the till (at most 200 characters)."), "error")
        return back(f"/staff/merchants/{found.id}")
    except Exception:
        release(claim)
        raise
    complete(claim, terminal_id)  # the id only: the token is never kept
    made = next(t for t in terminals_of(auth_of(), found.id) if t.terminal_id == terminal_id)
    return render_template(
        "web_admin_terminal.html",
        merchant=found,
        label=label,
        terminal_id=terminal_id,
        token=token,
        expires_at=made.token_expires_at,
        rotated=False,
        **_pairing(terminal_id),
    )


def _pairing(terminal_id: str) -> dict[str, Any]:
    """A new pairing code of the terminal for the page: its digits, expiry and a QR code
    of the till page's address with the code after ``#`` (a browser never sends that part
    to the server, so the code stays out of every request log)."""
    issued = auth_of().new_pairing(terminal_id)
    if issued is None:  # revoked meanwhile: the token alone, as before
        return {"pairing_code": None}
    code, expires_at = issued
    address = f"{request.host_url}pos#pair={code}"
    return {
        "pairing_code": code,
        "pairing_expires_at": expires_at,
        "pairing_qr": qr_svg(address),
    }


@bp.post("/staff/merchants/<merchant_id>/terminals/<terminal_id>/rotate")
@page(ADMIN)
def admin_rotate_terminal(merchant_id: str, terminal_id: str) -> Any:
    """Give a terminal a new token (shown on this answer only); the old one stops working."""
    found = ledger_of().get_merchant(merchant_id)
    mine = {t.terminal_id: t for t in terminals_of(auth_of(), found.id)}
    if terminal_id not in mine:
        abort(404)
    rotated = auth_of().rotate_terminal(terminal_id)
    if rotated is None:
        flash(_("That till was revoked: create a new one instead."), "error")
        return back(f"/staff/merchants/{found.id}")
    token, expires_at = rotated
    return render_template(
        "web_admin_terminal.html",
        merchant=found,
        label=mine[terminal_id].label,
        terminal_id=terminal_id,
        token=token,
        expires_at=expires_at,
        rotated=True,
        **_pairing(terminal_id),
    )


@bp.post("/staff/merchants/<merchant_id>/terminals/<terminal_id>/revoke")
@page(ADMIN)
def admin_revoke_terminal(merchant_id: str, terminal_id: str) -> Any:
    """Revoke a terminal: its token stops working at once (asked once more)."""
    found = ledger_of().get_merchant(merchant_id)
    mine = {t.terminal_id: t for t in terminals_of(auth_of(), found.id)}
    if terminal_id not in mine:
        abort(404)
    asking = confirmation(
        _("Revoke till %(label)s?", label=mine[terminal_id].label),
        _(
            "The till %(label)s of %(name)s stops taking payments at once, and this cannot "
            "be undone: to take payments there again, add a new till.",
            label=mine[terminal_id].label,
            name=found.name,
        ),
        _("Yes, revoke the till"),
        f"/staff/merchants/{found.id}",
    )
    if asking is not None:
        return asking
    if auth_of().revoke_terminal(terminal_id):
        flash(_("Till “%(label)s” revoked.", label=mine[terminal_id].label), "ok")
    else:
        flash(_("That till was already revoked."), "ok")
    return back(f"/staff/merchants/{found.id}")


@bp.get("/staff/merchants/<merchant_id>/code.svg")
@page(*STAFF)
def admin_merchant_code_svg(merchant_id: str) -> Any:
    """The counter QR code as SVG (as GET /api/v1/merchants/{id}/code.svg)."""
    return code_image(ledger_of().get_merchant(merchant_id).merchant_code, "svg")


@bp.get("/staff/merchants/<merchant_id>/code.png")
@page(*STAFF)
def admin_merchant_code_png(merchant_id: str) -> Any:
    """The counter QR code as PNG."""
    return code_image(ledger_of().get_merchant(merchant_id).merchant_code, "png")


@bp.get("/staff/merchants/<merchant_id>/sign.pdf")
@page(*STAFF)
def admin_merchant_sign(merchant_id: str) -> Any:
    """The printable A4 counter sign (as GET /api/v1/merchants/{id}/sign.pdf)."""
    found = ledger_of().get_merchant(merchant_id)
    return download(
        counter_sign_pdf(found.name, found.merchant_code),
        "application/pdf",
        f"goldbean-sign-{found.number}.pdf",
    )
