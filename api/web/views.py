"""The people's pages (SPEC §10): ``/``, ``/login``, ``/logout``, ``/me``, ``/staff``.

Thin views: forms in, :class:`~api.auth.Auth` or a read-model query, a template out.
Every form post is checked for its CSRF token (see :mod:`api.web`); the pages never
call the JSON API's guarded views, so a session cookie never authorises an API call.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_wtf.csrf import CSRFError

from api.app import ledger_of
from api.auth import BadCredentials, LoginThrottled, Principal
from api.endpoints.public import current_period
from api.read_models import reading
from api.security import auth_of
from api.web.i18n import LANG_COOKIE, LANGUAGES, chosen_language, select_locale
from api.web.session import cookie_secure, end_session, signed_in, start_session
from ledger.errors import NotFound
from projections import queries

log = logging.getLogger(__name__)

web = Blueprint("web", __name__, template_folder="../templates")

MEMBER_ROLES = frozenset({"volunteer", "beneficiary"})
STAFF_ROLES = frozenset({"coordinator", "fund_officer", "auditor", "admin"})
LANG_COOKIE_AGE = 365 * 24 * 3600

ROLE_NAMES = {
    "volunteer": lazy_gettext("Volunteer"),
    "beneficiary": lazy_gettext("Beneficiary"),
    "merchant": lazy_gettext("Merchant"),
    "coordinator": lazy_gettext("Coordinator"),
    "fund_officer": lazy_gettext("Fund officer"),
    "auditor": lazy_gettext("Auditor"),
    "admin": lazy_gettext("Administrator"),
}
CATEGORY_NAMES = {
    "grocery": lazy_gettext("Grocery"),
    "produce": lazy_gettext("Fruit and vegetables"),
    "canteen": lazy_gettext("Community canteen"),
    "restaurant": lazy_gettext("Restaurant"),
    "pharmacy": lazy_gettext("Pharmacy"),
    "services": lazy_gettext("Services"),
    "other": lazy_gettext("Other"),
}


def home_of(who: Principal) -> str:
    """Where a person lands after signing in."""
    if who.role in MEMBER_ROLES:
        return "/me"
    if who.role == "merchant":
        return "/pos"
    return "/staff"


@web.context_processor
def _page_context() -> dict[str, Any]:
    locale = select_locale()
    other = "en" if locale == "zh_CN" else "zh_CN"
    return {
        "user": signed_in(),
        "role_names": ROLE_NAMES,
        "html_lang": LANGUAGES[locale],
        "switch_href": f"{request.path}?lang={other}",
        "switch_label": "English" if other == "en" else "中文",
        "switch_lang": LANGUAGES[other],
    }


@web.before_request
def _check_csrf() -> None:
    """Refuse a form post without this session's CSRF token (400, :func:`_csrf_failed`)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        current_app.extensions["csrf"].protect()


@web.after_request
def _after(response: Response) -> Response:
    """Keep a language chosen with ``?lang=``; personal pages are never cached."""
    chosen = chosen_language(request.args.get("lang"))
    if chosen is not None:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=cookie_secure(current_app),
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@web.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    log.info("form refused: %s", error.description)
    return render_template("web_error.html"), 400


# --- public ----------------------------------------------------------------------------------


@web.get("/")
def home() -> str:
    """What the programme is, its partner merchants and its fund reports."""
    current = current_period()
    with reading() as conn:
        accounts = queries.merchants(conn)
        periods = queries.report_periods(conn, current)
    merchants = []
    ledger = ledger_of()
    for account in accounts:
        try:
            merchant = ledger.get_merchant(account["id"])
        except NotFound:  # the projection is ahead of nothing; a vanished id is skipped
            log.warning("merchant %s is in the read model but not in the ledger", account["id"])
            continue
        if merchant.status == "active":
            category = CATEGORY_NAMES.get(merchant.category, merchant.category)
            merchants.append({"name": account["display_name"], "category": category})
    finals = [p for p in periods if p < current]
    latest = finals[0] if finals else (periods[0] if periods else None)
    return render_template(
        "web_home.html", merchants=merchants, periods=periods, latest=latest, current=current
    )


# --- signing in and out ------------------------------------------------------------------------


@web.get("/login")
def login_form() -> Any:
    who = signed_in()
    if who is not None:
        return redirect(home_of(who))
    return render_template("web_login.html", error=None, username="")


@web.post("/login")
def login() -> Any:
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        error = _("Enter your username and password.")
        return render_template("web_login.html", error=error, username=username), 400
    try:
        issued = auth_of().authenticate(username, password, request.remote_addr)
    except LoginThrottled as throttled:
        minutes = max(1, math.ceil(throttled.retry_after_seconds / 60))
        error = ngettext(
            "Too many failed sign-ins. Please try again in %(num)d minute.",
            "Too many failed sign-ins. Please try again in %(num)d minutes.",
            minutes,
        )
        page = render_template("web_login.html", error=error, username=username)
        return page, 429, {"Retry-After": str(throttled.retry_after_seconds)}
    except BadCredentials:
        error = _("Wrong username or password.")
        return render_template("web_login.html", error=error, username=username), 401
    start_session(issued)
    return redirect(home_of(issued.principal), code=303)


@web.post("/logout")
def logout() -> Any:
    end_session()
    return redirect("/", code=303)


# --- signed-in placeholders (the real pages come with their issues) ---------------------------


def _page_for(roles: frozenset[str], template: str) -> Any:
    who = signed_in()
    if who is None:
        return redirect("/login")
    if who.role not in roles:
        return redirect(home_of(who))
    return render_template(template, who=who)


@web.get("/me")
def me() -> Any:
    return _page_for(MEMBER_ROLES, "web_me.html")


@web.get("/staff")
def staff() -> Any:
    return _page_for(STAFF_ROLES, "web_staff.html")
