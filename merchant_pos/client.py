"""A till's Python client of the Goldbean HTTP API (SPEC §6), standard library only.

It talks HTTP and nothing else (no import of api/, ledger/ or projections/)::

    client = PosClient("https://beans.example.org", token, journal=Journal())
    receipt = client.redeem("483920175532", 7, note="two bowls of noodles")
    client.refund(receipt["id"], 2)
    client.today()                         # {"items": [...], "total": 7}

Every POST carries an ``Idempotency-Key`` (uuid4 hex). The key, method, path and exact
body bytes are written to the journal (fsynced) *before* the request leaves, and the
answer is written when it comes. On a timeout, a dropped connection, a 5xx or a
``409 conflict`` the client sends the same request again with the same key and body
(``retries`` times, with exponential backoff); the server answers a repeat with its first
answer (``Idempotent-Replayed: true``), so beans move once however often it is sent.
If no answer comes at all, :class:`PosUnavailable` is raised and the entry stays
``pending``; :meth:`PosClient.resume` settles such entries later (even after a crash).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from uuid import uuid4

from merchant_pos.journal import Entry, Journal, State

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
USER_AGENT = "goldbean-pos/0.1"


class PosError(Exception):
    """Raised when the server refuses a request (a problem+json answer, e.g. ``code_used``)."""

    def __init__(self, status: int, code: str, title: str = "", detail: str = "") -> None:
        super().__init__(status, code, title, detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def __str__(self) -> str:
        return f"{self.code} ({self.status}): {self.detail or self.title or 'refused'}"

    @classmethod
    def from_answer(cls, status: int, body: Any, reason: str = "") -> PosError:
        """From a problem+json body; a non-problem answer becomes ``http_<status>``."""
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return cls(
                int(body.get("status") or status),
                body["code"],
                str(body.get("title") or ""),
                str(body.get("detail") or ""),
            )
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return cls(status, f"http_{status}", reason, text[:200])


class PosUnavailable(Exception):
    """Raised when no answer came after every retry (the server is unreachable, keeps
    failing with 5xx, or is still busy with the request). ``key`` names the journal entry
    left ``pending``, if any: run :meth:`PosClient.resume` later."""

    def __init__(
        self, message: str, key: str | None = None, settled: list[Entry] | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.settled = settled or []  # what resume settled before the server went away


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the parsed body."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    attempts: int = 1

    @property
    def replayed(self) -> bool:
        return self.headers.get("idempotent-replayed", "").lower() == "true"

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def retryable(self) -> bool:
        """A 5xx, or a 409 ``conflict`` that is not a replay (a replayed one is final)."""
        if self.status >= 500:
            return True
        return self.status == 409 and self.code == "conflict" and not self.replayed


def caller_of(token: str) -> str:
    """A short fingerprint of a token, to tell whose journal entries are whose."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


class PosClient:
    """The POS's client: redeem, refund, today's redemptions, who am I, resume.

    ``retries`` is how many times a request is sent again after its first attempt;
    ``backoff`` is the first pause (doubling, at most ``max_backoff``). Without a
    ``journal`` requests are still keyed and retried, but a crash loses track of them.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        journal: Journal | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the server must be an http:// or https:// URL, not {base_url!r}")
        if not token:
            raise ValueError("a till token is required")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port  # (a bad port raises ValueError)
        self._prefix = parts.path.rstrip("/")
        self.token = token
        self.journal = journal
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff, self.max_backoff = backoff, max_backoff
        self._sleep = sleep
        self._me: dict[str, Any] | None = None
        self.last_answer: Answer | None = None

    # --- commands -------------------------------------------------------------------

    def redeem(
        self, code: str, amount: int, pin: str | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Redeem a payment code or card: ``{id, payer_id, merchant_id, amount, at}``.
        Raises PosError (``insufficient_balance``, ``code_used``, ``invalid_code``, …) or
        PosUnavailable."""
        body: dict[str, Any] = {"code": code, "amount": amount}
        if pin is not None:
            body["pin"] = pin
        if note is not None:
            body["note"] = note
        return self._post("/api/v1/redemptions", body)

    def refund(self, redemption_id: str, amount: int) -> dict[str, Any]:
        """Give back ``amount`` beans of one of this merchant's redemptions:
        ``{id, redemption_id, amount}``. Raises PosError or PosUnavailable."""
        path = f"/api/v1/redemptions/{quote(redemption_id, safe='')}/refunds"
        return self._post(path, {"amount": amount})

    # --- queries --------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """``{username, role, account_id, merchant_id}`` of the token (asked once)."""
        if self._me is None:
            self._me = self._get("/api/v1/me")
        return self._me

    def today(self, date: str | None = None) -> dict[str, Any]:
        """The merchant's redemptions of a local day (default today): ``{items, total}``."""
        merchant_id = self.me().get("merchant_id")
        if not merchant_id:
            raise PosError(403, "forbidden", "Not a merchant", "this token is not a merchant's")
        path = f"/api/v1/merchants/{quote(merchant_id, safe='')}/redemptions"
        return self._get(path + (f"?{urlencode({'date': date})}" if date else ""))

    # --- the journal ----------------------------------------------------------------

    def resume(self) -> list[Entry]:
        """Send every pending journal entry of this token again, with its original key
        and body, and record the answer (the server replays the first one). Returns the
        settled entries (``done`` or ``failed``). Entries of another token are left
        pending with a warning. Raises PosUnavailable if the server does not answer (the
        entries not yet settled stay pending)."""
        if self.journal is None:
            return []
        settled: list[Entry] = []
        me = caller_of(self.token)
        for entry in self.journal.pending():
            if entry.caller not in (None, me):
                log.warning("journal entry %s was sent with another token; left pending", entry.key)
                continue
            try:
                answer = self._send_with_retries(entry.method, entry.path, entry.body, entry.key)
            except PosUnavailable as error:
                raise PosUnavailable(str(error), entry.key, settled) from None
            settled.append(self._settle(entry, answer))
        return settled

    # --- HTTP -----------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(body, ensure_ascii=True, separators=(",", ":"))
        key = uuid4().hex
        entry = None
        if self.journal is not None:  # written and fsynced before anything is sent
            entry = self.journal.begin("POST", path, text, key=key, caller=caller_of(self.token))
        try:
            answer = self._send_with_retries("POST", path, text, key)
        except PosUnavailable as error:
            raise PosUnavailable(str(error), key if entry else None) from None
        if entry is not None:
            self._settle(entry, answer)
        return self._result(answer)

    def _get(self, path: str) -> dict[str, Any]:
        return self._result(self._send_with_retries("GET", path, None, None))

    def _settle(self, entry: Entry, answer: Answer) -> Entry:
        assert self.journal is not None
        state: State = "done" if answer.status < 400 else "failed"
        return self.journal.settle(entry, state, answer.status, answer.body)

    @staticmethod
    def _result(answer: Answer) -> dict[str, Any]:
        if answer.status >= 400:
            raise PosError.from_answer(answer.status, answer.body, answer.reason)
        if not isinstance(answer.body, dict):
            raise PosError.from_answer(answer.status, answer.body, "not a JSON object")
        return answer.body

    def _send_with_retries(
        self, method: str, path: str, body: str | None, key: str | None
    ) -> Answer:
        """The answer to the request, sent again on a transport failure, a 5xx or a
        ``409 conflict``; PosUnavailable once the retries are spent."""
        problem = "no attempt"
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._sleep(min(self.backoff * 2 ** (attempt - 2), self.max_backoff))
            try:
                answer = self._send_once(method, path, body, key)
            except (OSError, http.client.HTTPException) as error:
                problem = f"{type(error).__name__}: {error}"
                log.warning(
                    "%s %s: attempt %d/%d failed: %s", method, path, attempt, attempts, problem
                )
                continue
            answer = Answer(answer.status, answer.reason, answer.headers, answer.body, attempt)
            self.last_answer = answer
            if not answer.retryable:
                return answer
            problem = f"HTTP {answer.status} {answer.code or answer.reason}"
            log.warning(
                "%s %s: attempt %d/%d answered %s", method, path, attempt, attempts, problem
            )
        raise PosUnavailable(
            f"no answer from {self.base_url} after {attempts} attempt(s) ({problem})"
        )

    def _send_once(self, method: str, path: str, body: str | None, key: str | None) -> Answer:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": f"application/json, {PROBLEM_JSON}",
            "User-Agent": USER_AGENT,
        }
        payload = None
        if body is not None:
            payload = body.encode("utf-8")
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            connection.request(method, self._prefix + path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
            return Answer(response.status, response.reason, answer_headers, _parse(raw))
        finally:
            connection.close()


def _parse(raw: bytes) -> Any:
    """A JSON body as values; anything else as text."""
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text
