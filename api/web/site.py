"""The site's own pages (SPEC §10): ``/``, ``/login``, ``/logout`` and ``/staff``.

Thin views: forms in, :class:`~api.auth.Auth` or a read-model query, a template out.
Every form post is checked for its CSRF token (see :mod:`api.web`); the pages never
call the JSON API's guarded views, so a session cookie never authorises an API call.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from api.auth import BadCredentials, LoginThrottled, Principal
from api.context import auth_of, ledger_of, reading
from api.reports import current_period
from api.web.common import CATEGORY_NAMES, MEMBER_ROLES, STAFF_ROLES
from api.web.session import end_session, signed_in, start_session
from api.web.support import page, who
from ledger.errors import NotFound
from projections import queries

log = logging.getLogger(__name__)

bp = Blueprint("site", __name__)


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


# --- public ----------------------------------------------------------------------------------


@bp.get("/")
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


@bp.get("/login")
def login_form() -> Any:
    who = signed_in()
    if who is not None:
        return redirect(home_of(who))
    return render_template(
        "web_login.html", error=None, username="", next=safe_next(request.args.get("next"))
    )


@bp.post("/login")
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
        wait = throttled.retry_after_seconds
        if wait < 60:
            error = ngettext(
                "Too many failed sign-ins. Please try again in %(num)d second.",
                "Too many failed sign-ins. Please try again in %(num)d seconds.",
                wait,
            )
        else:
            error = ngettext(
                "Too many failed sign-ins. Please try again in %(num)d minute.",
                "Too many failed sign-ins. Please try again in %(num)d minutes.",
                math.ceil(wait / 60),
            )
        page = render_template("web_login.html", error=error, username=username, next=target)
        return page, 429, {"Retry-After": str(throttled.retry_after_seconds)}
    except BadCredentials:
        error = _("Wrong username or password.")
        return render_template("web_login.html", error=error, username=username, next=target), 401
    start_session(issued)
    return redirect(target or home_of(issued.principal), code=303)


@bp.post("/logout")
def logout() -> Any:
    end_session()
    return redirect("/", code=303)


# --- the signed-in landing pages -------------------------------------------------------------


@bp.get("/staff")
@page(*STAFF_ROLES)
def staff() -> Any:
    """The staff member's start: the pages of their role."""
    return render_template("web_staff.html", who=who())
