"""Who is signed in to the pages.

The pages keep the bearer token that :meth:`api.auth.Auth.authenticate` issued in Flask's
signed cookie session, so expiry, revocation and disabled users work exactly as for the
API: every page request resolves the token with :meth:`~api.auth.Auth.resolve`, and a
token that no longer resolves empties the session. The cookie is HttpOnly (scripts never
see the token), SameSite=Lax, and Secure when ``GOLDBEAN_COOKIE_SECURE`` says so (the
default outside demo mode) or the request came over HTTPS (see :func:`cookie_secure`).
The Host header never decides: a reverse proxy often sends ``Host: localhost``.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from api.auth import BadToken, IssuedToken, Principal
from api.context import auth_of

TOKEN_KEY = "token"


def cookie_secure(app: Flask) -> bool:
    """Whether cookies get the Secure flag: always when ``SESSION_COOKIE_SECURE`` (the
    setting ``cookie_secure``), else when this request came over HTTPS (as the trusted
    proxies report it, see ``GOLDBEAN_TRUSTED_PROXIES``)."""
    return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session with :func:`cookie_secure` deciding the Secure flag."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure(app)


def signed_in() -> Principal | None:
    """The person signed in to the pages, or None (an invalid token empties the session)."""
    if "web_principal" in g:
        return g.web_principal
    token = session.get(TOKEN_KEY)
    found = None
    if isinstance(token, str):
        try:
            found = auth_of().resolve(token)
        except BadToken:
            session.clear()
    elif token is not None:
        session.clear()
    g.web_principal = found
    if found is not None:
        g.principal = found  # the request log names the user
    return found


def start_session(issued: IssuedToken) -> None:
    """Sign in: a fresh session (nothing carried over from before) holding the token; the
    cookie lasts as long as the token."""
    session.clear()
    session[TOKEN_KEY] = issued.token
    session.permanent = True
    g.web_principal = issued.principal


def end_session() -> None:
    """Sign out: revoke the token (it stops working everywhere) and empty the session."""
    token = session.get(TOKEN_KEY)
    if isinstance(token, str):
        auth_of().revoke(token)
    session.clear()
    g.web_principal = None
