"""Who is calling: the bearer token of each request, and the roles each view allows.

``Authorization: Bearer <token>`` is resolved once per request into a
:class:`~api.auth.Principal` (``g.principal``). Views declare who may call them with
:func:`requires`; the OpenAPI document lists the bearer scheme and the 401/403 answers.
SPEC §1: "staff" are coordinators, fund officers, auditors and admins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from flask import g, request

from api.auth import BadToken, Principal
from api.context import auth_of
from api.errors import ApiProblem
from ledger.errors import InvalidCode, WrongPin
from ledger.views import Actor

F = TypeVar("F", bound=Callable[..., Any])

STAFF = ("coordinator", "fund_officer", "auditor", "admin")


def canonical_id(an_id: str) -> str:
    """An id as the ledger writes it (lower-case UUID); anything else as given."""
    try:
        return str(UUID(an_id))
    except ValueError:
        return an_id


def principal() -> Principal | None:
    """The caller of this request, or None without a (valid) token."""
    if "principal" not in g:
        g.principal = _resolve()
    return g.principal


def _resolve() -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return auth_of().resolve(token.strip())
    except BadToken:
        return None


def caller() -> Principal:
    """The caller; 401 unauthenticated without a valid token."""
    found = principal()
    if found is None:
        raise ApiProblem(
            401,
            "unauthenticated",
            "send a valid token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="goldbean"'},
        )
    return found


def requires(*roles: str) -> Callable[[F], F]:
    """Allow the view to callers with one of ``roles`` (none named: any signed-in user)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = caller()
            if roles and who.role not in roles:
                raise ApiProblem(403, "forbidden", f"this needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)

        guarded._goldbean_roles = roles  # type: ignore[attr-defined]  # read by the route table
        return guarded  # type: ignore[return-value]

    return decorate


def forbid_unless(allowed: bool, detail: str = "not yours to see") -> None:
    """403 unless ``allowed`` (for rules about whose record it is)."""
    if not allowed:
        raise ApiProblem(403, "forbidden", detail)


def actor() -> Actor:
    """The caller as the ledger's Actor (staff name and own account, for four eyes)."""
    who = caller()
    return Actor(who.username or f"terminal:{who.terminal_id}", who.account_id)


@contextmanager
def limited_code_attempts(who: Principal) -> Iterator[None]:
    """Around presenting a code or PIN: 429 once ``who`` presented too many invalid codes
    or wrong PINs lately (:meth:`~api.auth.Auth.code_attempts_wait`), and count this one
    if it is invalid or its PIN wrong. Expired or used codes are not guesses and count
    nothing; a card's own lock after wrong PINs stays the ledger's."""
    subject = f"terminal:{who.terminal_id}" if who.terminal_id else f"user:{who.username}"
    auth = auth_of()
    wait = auth.code_attempts_wait(subject)
    if wait:
        raise ApiProblem(
            429,
            "too_many_requests",
            f"too many invalid codes or wrong PINs; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    try:
        yield
    except (InvalidCode, WrongPin):
        auth.count_code_failure(subject)
        raise
