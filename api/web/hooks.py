"""What every page shares, installed on the pages' parent blueprint: the template
context (who is signed in, the navigation, the language switch), the CSRF check of form
posts, the language cookie and ``no-store``, and the translated error pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError

from api.errors import ledger_problem
from api.web.common import NAV, PUBLIC_NAV, ROLE_NAMES
from api.web.i18n import LANG_COOKIE, LANGUAGES, chosen_language, select_locale
from api.web.session import cookie_secure, signed_in
from api.web.support import ledger_message, release_unfinished
from ledger.errors import LedgerError

log = logging.getLogger("api.web")

LANG_COOKIE_AGE = 365 * 24 * 3600


def install(web: Blueprint) -> None:
    """Install the shared hooks on ``web``; they apply to every page blueprint under it."""
    web.context_processor(_page_context)
    web.before_request(_check_csrf)
    web.teardown_request(release_unfinished)
    web.after_request(_after)
    web.register_error_handler(CSRFError, _csrf_failed)
    for status in (403, 404, 405, 410, 500):
        web.register_error_handler(status, _http_error)
    web.register_error_handler(LedgerError, _refused)


#: status -> (title, message) of the site's error pages
ERROR_WORDS = {
    400: (lazy_gettext("Not possible"), lazy_gettext("The request could not be understood.")),
    401: (lazy_gettext("Sign in first"), lazy_gettext("Please sign in to see this page.")),
    403: (lazy_gettext("Not allowed"), lazy_gettext("This page is not for your role.")),
    404: (lazy_gettext("Not found"), lazy_gettext("There is nothing at this address.")),
    405: (
        lazy_gettext("Not possible"),
        lazy_gettext("This address cannot be used that way. Open it with a link instead."),
    ),
    410: (lazy_gettext("No longer here"), lazy_gettext("This page has been taken away.")),
    500: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("Something went wrong on our side. Please try again in a moment."),
    ),
    503: (
        lazy_gettext("Not available just now"),
        lazy_gettext("The service is busy or restarting. Please try again in a moment."),
    ),
}


def error_page(status: int) -> Response:
    """The site's page for an error ``status``, in the reader's language inside the site's
    layout; any address outside the API gets it (api/errors.py), not problem+json."""
    fallback = 500 if status >= 500 else 404 if status == 404 else 400
    title, message = ERROR_WORDS.get(status, ERROR_WORDS[fallback])
    html = render_template(
        "web_message.html", title=str(title), message=str(message), **_page_context()
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _http_error(error: Exception) -> Response:
    return error_page(getattr(error, "code", None) or 500)


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


def _check_csrf() -> None:
    """Refuse a form post without this session's CSRF token (400, :func:`_csrf_failed`)."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        current_app.extensions["csrf"].protect()


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


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    log.info("form refused: %s", error.description)
    return render_template("web_error.html"), 400


def _refused(error: LedgerError) -> tuple[str, int]:
    status, _code = ledger_problem(error)
    message = ledger_message(error)
    return render_template("web_message.html", title=_("Not possible"), message=message), status
