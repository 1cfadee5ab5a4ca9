"""The people's web pages (SPEC §10) and what they need from the app: sessions, CSRF
protection and message catalogues. ``create_app`` calls :func:`register_pages`.

Configuration, derived from the settings (api/settings.py):

- ``SESSION_COOKIE_HTTPONLY`` true and ``SESSION_COOKIE_SAMESITE`` ``"Lax"``;
- ``SESSION_COOKIE_SECURE`` the setting ``cookie_secure`` (``GOLDBEAN_COOKIE_SECURE``,
  true unless ``GOLDBEAN_DEMO``); when false, a request that came over HTTPS still gets
  Secure cookies (api/web/session.py). The Host header never decides;
- ``PERMANENT_SESSION_LIFETIME`` the lifetime of a session token (12 hours);
- CSRF: Flask-WTF's CSRFProtect is set up with ``WTF_CSRF_CHECK_DEFAULT`` off and the
  web blueprint checks its own form posts, so the JSON API (bearer tokens, no cookies)
  and the POS page's fetches are never CSRF-checked. ``WTF_CSRF_ENABLED`` (default on)
  switches the check off for a test that wants it off.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from api.settings import Settings
from api.web import (
    admin,
    admin_payee,
    admin_rules,
    auditor,
    fund_pages,
    fund_payments,
    honours,
    hooks,
    inbox,
    member,
    member_help,
    member_spend,
    member_teams,
    public_pages,
    reports,
    shop,
    site,
)
from api.web.coordinator import activities, beans, incidents, members, roster, teams
from api.web.i18n import DEFAULT_LOCALE, TRANSLATIONS, compile_catalogs, select_locale
from api.web.session import SessionInterface
from api.web.support import FILTERS, new_form_key

#: every page blueprint, in the order their routes are matched
PAGES = (
    site.bp,
    public_pages.bp,
    honours.bp,
    reports.bp,
    shop.bp,
    member.bp,
    inbox.bp,
    member_help.bp,
    member_spend.bp,
    member_teams.bp,
    incidents.bp,
    activities.bp,
    members.bp,
    roster.bp,
    beans.bp,
    teams.bp,
    fund_pages.bp,
    fund_payments.bp,
    auditor.bp,
    admin.bp,
    admin_payee.bp,
    admin_rules.bp,
)


def register_pages(app: Flask, settings: Settings) -> None:
    """Configure sessions, CSRF protection and Babel on ``app`` and register the pages:
    a fresh parent blueprint per app, with the shared hooks, holding every page blueprint."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=app.extensions["goldbean.auth"].session_ttl,
        WTF_CSRF_CHECK_DEFAULT=False,
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        BABEL_DEFAULT_TIMEZONE=app.extensions["goldbean.ledger"].calendar.zone_name,
    )
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["form_key"] = new_form_key
    app.session_interface = SessionInterface()
    compile_catalogs()
    Babel(app, locale_selector=select_locale)
    CSRFProtect(app)  # the web blueprint calls its protect() for its own posts
    web = Blueprint(
        "web",
        __name__,
        template_folder="../templates",
        static_folder="../static/web",
        static_url_path="/static/web",
    )
    hooks.install(web)
    for blueprint in PAGES:
        web.register_blueprint(blueprint)
    app.register_blueprint(web)
