"""Who is signed in to the pages.

The pages keep the bearer token that :meth:`api.auth.Auth.authenticate` issued in Flask's
signed cookie session, so expiry, revocation and disabled users work exactly as for the
API: every page request resolves the token with :meth:`~api.auth.Auth.resolve`, and a
token that no longer resolves empties the session. The cookie is HttpOnly (scripts never
see the token), SameSite=Lax, and Secure unless the request is to localhost/127.0.0.1 or
the server runs in demo mode (see :class:`SessionInterface`).
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from api.auth import BadToken, IssuedToken, Principal
from api.context import auth_of

TOKEN_KEY = "token"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def is_local_request() -> bool:
    """True when the browser talks to this machine (http://localhost:8000 in development)."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return host.lower() in LOCAL_HOSTS


def cookie_secure(app: Flask) -> bool:
    """Whether cookies get the Secure flag: ``SESSION_COOKIE_SECURE`` (true unless demo),
    except for requests to localhost, which browsers reach over plain HTTP."""
    return bool(app.config["SESSION_COOKIE_SECURE"]) and not is_local_request()


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
