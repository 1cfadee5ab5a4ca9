"""The Flask application factory (DESIGN.md style 7: nothing happens at import time).

``create_app(config)`` loads the settings (defaults < ``GOLDBEAN_*`` < ``config``), opens
the ledger on the configured database, and installs: the OpenAPI document at
``/api/v1/openapi.json`` with interactive docs at ``/api/docs`` (Swagger UI served from
the ``swagger-ui-bundle`` package, no CDN), ``/healthz`` and ``/readyz``, request ids and
one structured log line per request, a request size limit, and problem+json for every
error (api/errors.py).
"""

from __future__ import annotations

import http
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from api import errors
from api.auth import Auth
from api.context import make_runner, runner_of
from api.endpoints import register_all
from api.idempotency import IdempotencyStore
from api.jobs import Jobs
from api.settings import Settings
from api.store import Store
from api.web.blueprints import register_pages
from api.web.hooks import error_page
from ledger.application import Ledger
from ledger.persistence import open_ledger
from merchant_pos.web import pos

log = logging.getLogger("goldbean.requests")

MAX_BODY_BYTES = 64 * 1024  # the largest body any endpoint needs is a few hundred bytes
API_PREFIX = "/api/v1"


class GoldbeanApi(Api):
    """flask-smorest's Api, documenting error answers as they are sent: problem+json."""

    ERROR_SCHEMA = errors.ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, errors.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "An error, as problem+json", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, errors.PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def create_app(config: Mapping[str, Any] | None = None, *, ledger: Ledger | None = None) -> Flask:
    """Build the Goldbean web application.

    ``config`` overrides settings (see api/settings.py); ``ledger`` lets tests hand in a
    ledger with a fake clock.
    """
    settings = Settings.load(config)
    app = Flask("goldbean")
    if settings.trusted_proxies:
        # The client's address (request.remote_addr, which sign-in throttling counts) and
        # the scheme (request.is_secure, which the Secure cookie follows) as the trusted
        # proxies saw them; the rightmost N entries are theirs, anything left of them may
        # be forged by the client. Without proxies the headers are ignored.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SECRET_KEY=settings.secret_key,
        API_TITLE="Goldbean (金豆) API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # 李伟, not \u674e\u4f1f
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["goldbean.settings"] = settings
    ledger = ledger or open_ledger(
        settings.database_url, rules=settings.rules(), keyring=settings.keyring()
    )
    store = Store(settings.database_url)
    if settings.database_url.startswith("memory:"):
        store.create_tables()  # nothing outlives the process, so nobody else creates them
    app.extensions["goldbean.ledger"] = ledger
    app.extensions["goldbean.store"] = store
    app.extensions["goldbean.projections"] = make_runner(store, ledger)
    app.extensions["goldbean.auth"] = Auth(
        store,
        ledger.clock,
        terminal_ttl=timedelta(days=settings.terminal_token_days),
        pairing_key=settings.pairing_key(),
    )
    app.extensions["goldbean.idempotency"] = IdempotencyStore(store, ledger.clock)
    app.extensions["goldbean.jobs"] = Jobs(store, ledger.clock)

    api = GoldbeanApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    register_all(api)
    app.extensions["goldbean.api"] = api
    app.register_blueprint(_swagger_static())
    app.register_blueprint(_health())
    app.register_blueprint(pos)
    register_pages(app, settings)  # the people's pages: sessions, CSRF (their forms only), Babel
    _request_logging(app)
    # after Api(app), so problem+json wins over flask-smorest's JSON; pages get HTML pages
    errors.register(app, page=error_page)
    return app


MAX_JSON_DEPTH = 8


def parsed_json_body() -> Any:
    """The request's JSON body, parsed once for every endpoint; 400 when it is not JSON
    that Python can read: malformed, not UTF-8, a number of more than 4,300 digits, or
    nested deeper than the parser's recursion limit."""
    try:
        return request.get_json()
    except (BadRequest, RecursionError):
        raise errors.ApiProblem(400, "bad_request", "the body is not valid JSON") from None


def check_json_body(body: Any, depth: int = 0) -> None:
    """Refuse, for every endpoint at once, JSON no field of ours can hold: nesting deeper
    than any schema, and text that no database stores (NUL, lone UTF-16 surrogates)."""
    if depth > MAX_JSON_DEPTH:
        raise errors.ApiProblem(422, "validation_error", "the JSON body is nested too deeply")
    if isinstance(body, dict):
        for key, value in body.items():
            check_json_body(key, depth + 1)
            check_json_body(value, depth + 1)
    elif isinstance(body, list):
        for value in body:
            check_json_body(value, depth + 1)
    elif isinstance(body, str) and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in body):
        raise errors.ApiProblem(
            422, "validation_error", "text may not contain NUL or unpaired surrogate characters"
        )


def _swagger_static() -> Blueprint:
    return Blueprint(
        "swagger_static",
        __name__,
        static_folder=swagger_ui_path,
        static_url_path="/api/docs/static",
    )


def _health() -> Blueprint:
    health = Blueprint("health", __name__)

    @health.get("/healthz")
    def healthz() -> Response:
        """Liveness: the process answers."""
        return jsonify(status="ok")

    @health.get("/readyz")
    def readyz() -> Response:
        """Readiness: the database answers; how far each projection lags behind the log
        (events recorded that it has not applied yet)."""
        try:
            statuses = runner_of().status()
        except Exception as error:  # any database failure means "not ready"
            log.warning("readiness check failed: %s", error)
            return errors.problem(503, "unavailable", "the database does not answer")
        return jsonify(
            status="ready",
            database="ok",
            log_position=statuses[0].head if statuses else 0,
            projections={s.name: {"position": s.position, "lag": s.lag} for s in statuses},
        )

    return health


# Pages and answers load nothing from other sites and may not be framed. The interactive
# API docs (Swagger UI) start from an inline script, so they keep the browser's default.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _security_headers(response: Response) -> None:
    """Headers every answer carries unless its view set its own (the POS page does)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith("/api/docs"):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if _private_api_path(request.path):
        # Tokens, payment and card codes, balances and names: never kept by a browser,
        # a proxy or a shared till's cache. Only the public answers may be cached.
        headers.setdefault("Cache-Control", "no-store")


def _private_api_path(path: str) -> bool:
    """An API answer that may carry a token, a code or personal data: every one under
    ``/api/v1/`` but the public reports and the API document."""
    return path.startswith(API_PREFIX + "/") and not path.startswith(
        (API_PREFIX + "/public/", API_PREFIX + "/openapi.json")
    )


def loggable(text: str, limit: int = 300) -> str:
    """``text`` safe for a one-line log record: control and line-breaking characters (a
    path may carry ``%0a``) written as escapes, so a request cannot forge a log line."""
    escaped = "".join(
        c if c.isprintable() and c not in "\u2028\u2029" else c.encode("unicode_escape").decode()
        for c in text[:limit]
    )
    return escaped + ("…" if len(text) > limit else "")


def _request_logging(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        ok = 0 < len(given) <= 64 and given.replace("-", "").isalnum()
        g.request_id = given if ok else uuid.uuid4().hex
        g.started = time.perf_counter()
        # Refuse an oversized body before routing or reading it (Flask alone checks the
        # limit only when a view reads the body).
        # A view that takes a file upload names its own limit (``upload_limit``).
        view = app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "upload_limit", None) or MAX_BODY_BYTES
        if limit != MAX_BODY_BYTES:
            request.max_content_length = request.max_form_memory_size = limit
        if (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(f"a request body may be at most {limit} bytes")
        if request.is_json and request.content_length:
            check_json_body(parsed_json_body())

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        _security_headers(response)
        user = getattr(g, "principal", None)
        log.info(
            "%s %s %s %.1fms request=%s user=%s",
            request.method,
            loggable(request.path),
            response.status_code,
            (time.perf_counter() - g.get("started", time.perf_counter())) * 1000,
            g.get("request_id", "-"),
            getattr(user, "username", None) or getattr(user, "terminal_id", None) or "-",
        )
        return response
