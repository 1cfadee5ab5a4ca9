"""Every error the API answers, as application/problem+json (SPEC §6), in one place.

Ledger errors map to one status and one stable ``code`` word by class (the most specific
class in the table wins, so e.g. PinLocked answers ``card_locked`` while other WrongPin
errors answer ``wrong_pin``). The API's own refusals raise :class:`ApiProblem`. HTTP
errors (404, 405, 413, malformed JSON) and unexpected exceptions become problems too;
an unexpected exception is logged with its request id and never shows a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import OperationalError as _RecorderOperational
from flask import Flask, Response, g, json, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import OperationalError as _SqlAlchemyOperational
from werkzeug.exceptions import HTTPException

from ledger import errors as le

_psycopg_operational: tuple[type[Exception], ...]
try:  # the errors of a database that is down or restarting (both drivers' and SQLAlchemy's)
    from psycopg import OperationalError as _PsycopgOperational

    _psycopg_operational = (_PsycopgOperational,)
except ImportError:  # pragma: no cover - installed without the postgres extra
    _psycopg_operational = ()

DatabaseUnreachable: tuple[type[Exception], ...] = (
    _SqlAlchemyOperational,
    _RecorderOperational,
    *_psycopg_operational,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Ledger error class -> (HTTP status, stable code). Subclasses not named inherit.
LEDGER_PROBLEMS: dict[type[le.LedgerError], tuple[int, str]] = {
    le.NotFound: (404, "not_found"),
    le.ValidationError: (422, "validation_error"),
    le.NothingToSettle: (422, "nothing_to_settle"),
    le.PeriodNotOpen: (422, "period_not_open"),
    le.InvalidState: (409, "invalid_state"),
    le.InsufficientBalance: (409, "insufficient_balance"),
    le.InsufficientFund: (409, "insufficient_fund"),
    le.PaymentReferenceUsed: (409, "payment_reference_used"),
    le.InvalidCode: (422, "invalid_code"),
    le.CodeExpired: (422, "code_expired"),
    le.CodeUsed: (409, "code_used"),
    le.CardRevoked: (422, "card_revoked"),
    le.WrongPin: (422, "wrong_pin"),
    le.PinLocked: (422, "card_locked"),
    le.PinRequired: (422, "pin_required"),
    le.MerchantNotAllowed: (403, "merchant_not_allowed"),
    le.MerchantSuspended: (403, "merchant_suspended"),
    le.LimitExceeded: (422, "limit_exceeded"),
    le.AwardCapExceeded: (422, "award_cap_exceeded"),
    le.SelfVerification: (403, "self_verification"),
    le.NoHandlers: (422, "no_handlers"),
    le.NotTeamLeader: (403, "forbidden"),
    le.FourEyesRequired: (403, "four_eyes_required"),
    le.UnknownCredit: (422, "unknown_credit"),
    le.CorrectionExceedsCredit: (422, "correction_exceeds_credit"),
    le.RefundExceedsRedemption: (422, "refund_exceeds_redemption"),
    le.RefundWindowClosed: (422, "refund_window_closed"),
    le.IdempotencyKeyReused: (422, "idempotency_key_reused"),
    le.DuplicateReceipt: (409, "duplicate_receipt"),
    le.Conflict: (409, "conflict"),
}

# Plain HTTP errors -> stable code.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}

TITLES = {
    "unauthenticated": "Sign in first",
    "forbidden": "Not allowed for your role",
    "internal_error": "Something went wrong on our side",
}


class ProblemSchema(Schema):
    """An error answer (RFC 9457 problem details with Goldbean's stable ``code``); like
    RFC 9457, it may carry further members (e.g. the ``account_id`` an answer names)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "stable machine word"})
    detail = fields.String(required=True)
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "field errors of a validation_error"})
    limit = fields.String(
        metadata={
            "description": "limit_exceeded: which limit refused it, `per_transaction` or "
            "`card_daily` (a beneficiary card's daily spending limit)"
        }
    )
    limit_beans = fields.Integer(metadata={"description": "limit_exceeded: the limit's size"})
    left_today = fields.Integer(
        metadata={
            "description": "limit_exceeded by `card_daily`: beans the card may still spend today"
        }
    )


class ApiProblem(Exception):
    """Raised by the API itself to answer a problem (unauthenticated, forbidden, …)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str = "",
        *,
        headers: dict | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}
        self.extra = extra or {}


def ledger_problem(error: le.LedgerError) -> tuple[int, str]:
    """The status and code for a ledger error: its nearest class in the table."""
    for cls in type(error).__mro__:
        if cls in LEDGER_PROBLEMS:
            return LEDGER_PROBLEMS[cls]
    return 422, "validation_error"  # pragma: no cover - LedgerError itself is in no table row


def ledger_facts(error: le.LedgerError) -> dict[str, Any]:
    """The fields a ledger error adds to its problem: a limit refusal says which limit and
    what is left (:class:`ledger.errors.LimitExceeded`); others add none."""
    return dict(getattr(error, "facts", None) or {})


def problem(
    status: int,
    code: str,
    detail: str = "",
    *,
    headers: dict | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An application/problem+json response."""
    body = {
        "type": f"urn:goldbean:problem:{code}",
        "title": TITLES.get(code) or code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if getattr(g, "request_id", None):
        body["request_id"] = g.request_id
    body.update(extra or {})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


#: addresses that answer machines, and so problem+json, whatever the error
MACHINE_PATHS = ("/api/", "/healthz", "/readyz")

ErrorPage = Callable[[int], Response]


def wants_page() -> bool:
    """Whether the request is for a person's page (any address outside the API), whose
    errors are answered with an HTML page in the reader's language."""
    return not request.path.startswith(MACHINE_PATHS)


def register(app: Flask, page: ErrorPage | None = None) -> None:
    """Install the problem handlers on ``app`` (after flask-smorest, to take precedence).

    ``page(status)`` renders the HTML error page for an address outside the API (the
    people's pages register it: a mistyped page address shows a page, not JSON); the API
    keeps problem+json. Should the page itself fail, the problem is answered instead."""

    def answer(
        status: int,
        code: str,
        detail: str = "",
        *,
        headers: dict | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        if page is not None and wants_page():
            try:
                response = page(status)
            except Exception:  # the page needs the database or the session; fall back
                log.exception("the %s error page failed (request %s)", status, g.get("request_id"))
            else:
                for name, value in (headers or {}).items():
                    response.headers[name] = value
                return response
        return problem(status, code, detail, headers=headers, extra=extra)

    @app.errorhandler(le.LedgerError)
    def _ledger(error: le.LedgerError) -> Response:
        status, code = ledger_problem(error)
        return answer(status, code, str(error), extra=ledger_facts(error))

    @app.errorhandler(ApiProblem)
    def _api(error: ApiProblem) -> Response:
        return answer(
            error.status, error.code, error.detail, headers=error.headers, extra=error.extra
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        code = HTTP_CODES.get(status, "http_error")
        detail = error.description or ""
        extra: dict[str, Any] = {}
        # flask-smorest / webargs put schema errors in error.data["messages"]
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if messages:
            extra["errors"] = messages
            detail = "some fields are missing or invalid"
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        return answer(status, code, detail, headers=headers, extra=extra)

    def _database_down(error: Exception) -> Response:
        # PostgreSQL restarting or unreachable: nothing was recorded (the transaction did
        # not commit), so the client may send the same request, with its key, again.
        log.warning(
            "database unavailable (request %s): %s",
            getattr(g, "request_id", "-"),
            str(error).splitlines()[0][:200],
        )
        return answer(
            503,
            "unavailable",
            "the database is not reachable just now; send the request again",
            headers={"Retry-After": "2"},
        )

    for unreachable in DatabaseUnreachable:
        app.register_error_handler(unreachable, _database_down)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error (request %s)", getattr(g, "request_id", "-"))
        return answer(500, "internal_error", "the error was logged; quote the request id")
