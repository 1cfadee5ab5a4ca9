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

from api.auth import BadCredentials, LoginThrottled, Principal
from api.context import auth_of, ledger_of, reading
from api.errors import ledger_problem
from api.reports import current_period
from api.web.i18n import LANG_COOKIE, LANGUAGES, chosen_language, select_locale
from api.web.session import cookie_secure, end_session, signed_in, start_session
from api.web.support import ledger_message, page, release_unfinished, who
from ledger.errors import LedgerError, NotFound
from projections import queries

log = logging.getLogger(__name__)

web = Blueprint(
    "web",
    __name__,
    template_folder="../templates",
    static_folder="../static/web",
    static_url_path="/static/web",
)

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
#: the incident categories of ledger/rules.py, as staff pages name them
INCIDENT_CATEGORY_NAMES = {
    "fire": lazy_gettext("Fire"),
    "public_security": lazy_gettext("Public security"),
    "dispute": lazy_gettext("Dispute"),
    "sanitation": lazy_gettext("Sanitation"),
    "resident_need": lazy_gettext("Resident in need"),
    "other": lazy_gettext("Other"),
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


#: each role's part of the navigation: (path, label)
NAV = {
    "volunteer": (
        ("/me", lazy_gettext("My beans")),
        ("/me/code", lazy_gettext("Payment code")),
        ("/me/scan", lazy_gettext("Scan")),
        ("/me/report", lazy_gettext("Report an incident")),
        ("/me/give", lazy_gettext("Give")),
    ),
    "beneficiary": (("/me", lazy_gettext("My beans")),),
    "merchant": (("/pos", lazy_gettext("Point of sale")),),
    "coordinator": (
        ("/staff/incidents", lazy_gettext("Incidents")),
        ("/staff/activities", lazy_gettext("Activities")),
        ("/staff/members", lazy_gettext("Members")),
        ("/staff/allotments", lazy_gettext("Allotments")),
        ("/staff/pool", lazy_gettext("Gift pool")),
        ("/staff/corrections", lazy_gettext("Corrections")),
    ),
    "fund_officer": (
        ("/staff/fund", lazy_gettext("Fund")),
        ("/staff/donations", lazy_gettext("Donations")),
        ("/staff/settlements", lazy_gettext("Settlements")),
    ),
    "auditor": (
        ("/staff/audit", lazy_gettext("Event log")),
        ("/staff/fund", lazy_gettext("Fund")),
    ),
    "admin": (
        ("/staff/users", lazy_gettext("Users")),
        ("/staff/merchants", lazy_gettext("Merchants")),
        ("/staff/rules", lazy_gettext("Programme rules")),
    ),
}
PUBLIC_NAV = (
    ("/merchants", lazy_gettext("Partner merchants")),
    ("/reports", lazy_gettext("Fund reports")),
    ("/how", lazy_gettext("How it works")),
)


def home_of(who: Principal) -> str:
    """Where a person lands after signing in."""
    if who.role in MEMBER_ROLES:
        return "/me"
    if who.role == "merchant":
        return "/pos"
    return "/staff"


def safe_next(target: str | None) -> str | None:
    """A ``next=`` path on this site (``/staff/x?y=1``), else None: never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


@web.context_processor
def _page_context() -> dict[str, Any]:
    locale = select_locale()
    other = "en" if locale == "zh_CN" else "zh_CN"
    user = signed_in()
    return {
        "user": user,
        "nav": NAV.get(user.role, ()) if user else (),
        "public_nav": PUBLIC_NAV,
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


web.teardown_request(release_unfinished)


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


@web.errorhandler(403)
def _forbidden(_error: Exception) -> tuple[str, int]:
    message = _("This page is not for your role.")
    return render_template("web_message.html", title=_("Not allowed"), message=message), 403


@web.errorhandler(404)
def _not_found(_error: Exception) -> tuple[str, int]:
    message = _("There is nothing at this address.")
    return render_template("web_message.html", title=_("Not found"), message=message), 404


@web.errorhandler(LedgerError)
def _refused(error: LedgerError) -> tuple[str, int]:
    status, _code = ledger_problem(error)
    message = ledger_message(error)
    return render_template("web_message.html", title=_("Not possible"), message=message), status


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
    return render_template(
        "web_login.html", error=None, username="", next=safe_next(request.args.get("next"))
    )


@web.post("/login")
def login() -> Any:
    target = safe_next(request.form.get("next"))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        error = _("Enter your username and password.")
        return render_template("web_login.html", error=error, username=username, next=target), 400
    try:
        issued = auth_of().authenticate(username, password, request.remote_addr)
    except LoginThrottled as throttled:
        minutes = max(1, math.ceil(throttled.retry_after_seconds / 60))
        error = ngettext(
            "Too many failed sign-ins. Please try again in %(num)d minute.",
            "Too many failed sign-ins. Please try again in %(num)d minutes.",
            minutes,
        )
        page = render_template("web_login.html", error=error, username=username, next=target)
        return page, 429, {"Retry-After": str(throttled.retry_after_seconds)}
    except BadCredentials:
        error = _("Wrong username or password.")
        return render_template("web_login.html", error=error, username=username, next=target), 401
    start_session(issued)
    return redirect(target or home_of(issued.principal), code=303)


@web.post("/logout")
def logout() -> Any:
    end_session()
    return redirect("/", code=303)


# --- the signed-in landing pages -------------------------------------------------------------


@web.get("/staff")
@page(*STAFF_ROLES)
def staff() -> Any:
    """The staff member's start: the pages of their role."""
    return render_template("web_staff.html", who=who())


# Each role's pages register their routes on ``web``.
from api.web import (  # noqa: E402, F401
    admin,
    auditor,
    coordinator,
    fund_pages,
    member,
    public_pages,
)
