"""The ``Idempotency-Key`` header (SPEC §6), for every POST view.

The same key from the same caller with the same request returns the first response
(status and body) again without doing anything; with another request it answers
``422 idempotency_key_reused``; while a twin request with the key is still running, the
second waits for its answer (``409 conflict`` if it takes too long). Business refusals
(4xx problems) are answers too and are replayed; a 5xx releases the key so a retry runs.
The key is also handed to the ledger command (``g.idempotency_key``), whose records are
keyed by it, so even a lost response store could not make a payment happen twice.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from api.context import idempotency_of
from api.errors import ApiProblem, ledger_facts, ledger_problem, problem
from api.idempotency import InProgress, Mismatch, Proceed, Replay
from api.security import principal
from ledger.errors import Conflict, LedgerError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"


def ledger_key() -> str | None:
    """The key for the ledger command of this request: scoped to the caller."""
    return g.get("idempotency_key")


def idempotent_secret(view: F) -> F:
    """Like :func:`idempotent` for a view whose answer holds a secret shown once (a
    terminal's token): the answer is not kept, so a repeat of a key that succeeded answers
    ``409 conflict`` saying the secret cannot be shown again, and does nothing."""
    return idempotent(view, keep_body=False)


def idempotent(view: F, *, keep_body: bool = True) -> F:
    """Make a POST view honour ``Idempotency-Key`` (outermost decorator of the view)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        who = principal()
        if key is None or who is None:  # without a caller there is no scope to keep it in
            return view(*args, **kwargs)
        if not 0 < len(key) <= 255 or not key.isascii() or not key.isprintable():
            raise ApiProblem(
                422, "validation_error", f"{HEADER} must be 1 to 255 visible ASCII characters"
            )
        scope = f"{who.role}:{who.username or who.terminal_id}"
        fingerprint = hashlib.sha256(
            b"\x1f".join([request.method.encode(), request.path.encode(), request.get_data()])
        ).hexdigest()
        store = idempotency_of()
        decision = store.begin(scope, key, fingerprint)
        if isinstance(decision, Replay):
            return _replayed(decision)
        if isinstance(decision, Mismatch):
            return problem(
                422, "idempotency_key_reused", f"this {HEADER} was used for another request"
            )
        if isinstance(decision, InProgress):
            return problem(409, "conflict", f"a request with this {HEADER} is still running; retry")
        assert isinstance(decision, Proceed)
        g.idempotency_key = f"{scope}/{key}"
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Conflict as error:  # clashed with concurrent writes: a retry may succeed
            store.release(scope, key)
            return _problem_for(error)
        except (LedgerError, ApiProblem) as error:
            response = _problem_for(error)
        except Exception:
            store.release(scope, key)
            raise
        if response.status_code >= 500 or response.status_code == 429:
            store.release(scope, key)  # nothing was done; the same key may try again
        elif keep_body or response.status_code >= 400:
            store.complete(scope, key, response.status_code, response.get_data(as_text=True))
        else:
            kept = problem(
                409,
                "conflict",
                "this request was done, and what it showed can be shown only once",
            )
            store.complete(scope, key, kept.status_code, kept.get_data(as_text=True))
        return response

    return wrapper  # type: ignore[return-value]


def _problem_for(error: LedgerError | ApiProblem) -> Response:
    if isinstance(error, ApiProblem):
        return problem(
            error.status, error.code, error.detail, headers=error.headers, extra=error.extra
        )
    status, code = ledger_problem(error)
    return problem(status, code, str(error), extra=ledger_facts(error))


def _replayed(decision: Replay) -> Response:
    mimetype = "application/problem+json" if decision.status >= 400 else "application/json"
    response = Response(decision.body, status=decision.status, mimetype=mimetype)
    response.headers["Idempotent-Replayed"] = "true"
    return response
