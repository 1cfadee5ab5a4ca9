"""The outbox of the notices, and its one adapter: a webhook that receives each notice as
JSON (``GOLDBEAN_NOTIFY_WEBHOOK``), for an SMS or WeChat gateway the community runs.

How a notice travels (docs/OPERATIONS.md, "Notices"):

1. The ``notices`` projection (projections/notices.py) derives the notice from its event
   and adds a ``pending`` row to ``gb_notice_outbox`` in the same transaction, unless the
   notice has a row already (a rebuild adds nothing for a notice sent before).
2. :meth:`Outbox.deliver_due` takes the pending rows whose time has come, claims each by
   moving its next attempt a lease ahead (so two senders never post the same notice at
   once), and POSTs it. A ``2xx`` answer marks it ``delivered``: it is never sent again.
   Anything else (an error status, a refused connection, a timeout) counts an attempt
   and waits ``min(max_delay, base_delay × 2^(attempts-1))`` before the next one.
3. A crash between the POST and the mark leaves the row pending with its lease: once the
   lease runs out the notice is posted again, with the same ``id``. The receiver
   de-duplicates on it (the body's ``id``, also sent as ``Idempotency-Key``).
4. A notice older than ``max_age`` (``GOLDBEAN_NOTIFY_MAX_AGE_HOURS``, 72 by default) is
   not posted any more but marked ``expired``: a gateway down for days, or a webhook
   configured after a year of notices, does not flood people with old news.

Personal data: the body names the recipient by account (or shop) id; their phone number
is added only when the community set ``GOLDBEAN_NOTIFY_INCLUDE_PHONE``, read from the
personal-data store at the moment of sending. Nothing here writes to the event log.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from api.notify_words import notice_text
from api.store import Store
from ledger.personal import PersonalData
from projections import tables as t

log = logging.getLogger(__name__)

USER_AGENT = "goldbean-notify/1"
MAX_ERROR = 200


class DeliveryFailed(Exception):
    """Raised when the webhook did not take a notice (status or network error)."""


@dataclass(frozen=True)
class Webhook:
    """POSTs one JSON body to ``url``; any ``2xx`` is taken, anything else raises
    DeliveryFailed."""

    url: str
    timeout: float = 10.0

    def post(self, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": str(body["id"]),
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"the webhook answered {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailed(f"the webhook could not be reached: {error}") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"the webhook answered {status}")


@dataclass
class Rounds:
    """What one round of delivery did."""

    delivered: int = 0
    failed: int = 0
    expired: int = 0


class Outbox:
    """The notices waiting for the webhook, in ``store``'s database."""

    def __init__(
        self,
        store: Store,
        webhook: Webhook,
        people: PersonalData | None = None,
        *,
        include_phone: bool = False,
        max_age: timedelta = timedelta(hours=72),
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=2),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.webhook = webhook
        self.people = people
        self.include_phone = include_phone
        self.max_age = max_age
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.clock = clock

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (exponential, capped)."""
        seconds = self.base_delay.total_seconds() * 2 ** min(max(attempts - 1, 0), 30)
        return min(self.max_delay, timedelta(seconds=seconds))

    def deliver_due(self, limit: int = 100) -> Rounds:
        """Post every notice whose time has come (at most ``limit``)."""
        now = self.clock()
        rounds = Rounds()
        o, n = t.notice_outbox.c, t.notifications.c
        with self.store.write() as conn:
            rounds.expired = conn.execute(
                update(t.notice_outbox)
                .where(o.status == "pending", o.at < now - self.max_age)
                .values(status="expired")
            ).rowcount
        with self.store.read() as conn:
            due = [
                dict(row._mapping)
                for row in conn.execute(
                    select(t.notice_outbox, n.recipient_id, n.kind, n.subject_id, n.data)
                    .select_from(t.notice_outbox.join(t.notifications, n.id == o.id))
                    .where(o.status == "pending", o.next_attempt_at <= now)
                    .order_by(o.next_attempt_at, o.id)
                    .limit(limit)
                )
            ]
            kinds = self._recipient_kinds(conn, [row["recipient_id"] for row in due])
        for row in due:
            if not self._claim(row, now):
                continue  # another sender has it
            try:
                self.webhook.post(self.body(row, kinds.get(row["recipient_id"], "")))
            except DeliveryFailed as error:
                rounds.failed += 1
                self._failed(row, str(error))
                log.warning(
                    "notice %s not delivered (attempt %d): %s",
                    row["id"],
                    row["attempts"] + 1,
                    error,
                )
            else:
                rounds.delivered += 1
                self._delivered(row)
        return rounds

    @staticmethod
    def _recipient_kinds(conn: Any, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        a = t.accounts.c
        query = select(a.id, a.kind).where(a.id.in_(sorted(set(ids))))
        return {r.id: r.kind for r in conn.execute(query)}

    def body(self, row: dict[str, Any], recipient_kind: str) -> dict[str, Any]:
        """The JSON a receiver gets for one notice."""
        recipient: dict[str, Any] = {"id": row["recipient_id"], "kind": recipient_kind}
        if self.include_phone and self.people is not None:
            phone = self.people.get(row["recipient_id"]).get("phone")
            if phone:
                recipient["phone"] = phone
        return {
            "id": row["id"],
            "kind": row["kind"],
            "at": row["at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "recipient": recipient,
            "subject_id": row["subject_id"],
            "data": row["data"],
            "text": notice_text(row["kind"], row["data"]),
        }

    def _claim(self, row: dict[str, Any], now: datetime) -> bool:
        o = t.notice_outbox.c
        with self.store.write() as conn:
            claimed = conn.execute(
                update(t.notice_outbox)
                .where(
                    o.id == row["id"],
                    o.status == "pending",
                    o.next_attempt_at == row["next_attempt_at"],
                )
                .values(next_attempt_at=now + self.lease)
            ).rowcount
        return claimed == 1

    def _delivered(self, row: dict[str, Any]) -> None:
        with self.store.write() as conn:
            conn.execute(
                update(t.notice_outbox)
                .where(t.notice_outbox.c.id == row["id"])
                .values(
                    status="delivered",
                    attempts=row["attempts"] + 1,
                    delivered_at=self.clock(),
                    last_error=None,
                )
            )

    def _failed(self, row: dict[str, Any], error: str) -> None:
        attempts = row["attempts"] + 1
        with self.store.write() as conn:
            conn.execute(
                update(t.notice_outbox)
                .where(t.notice_outbox.c.id == row["id"], t.notice_outbox.c.status == "pending")
                .values(
                    attempts=attempts,
                    next_attempt_at=self.clock() + self.delay(attempts),
                    last_error=error[:MAX_ERROR],
                )
            )

    def run(self, stop: threading.Event, poll_seconds: float = 5.0) -> None:
        """Deliver until ``stop`` is set, a round every ``poll_seconds``; errors of the
        database are logged and retried."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("notices: a round of delivery failed")
            stop.wait(poll_seconds)

    def counts(self) -> dict[str, int]:
        """How many notices are pending, delivered and expired."""
        from sqlalchemy import func

        o = t.notice_outbox.c
        with self.store.read() as conn:
            rows = conn.execute(select(o.status, func.count()).group_by(o.status)).all()
        return {"pending": 0, "delivered": 0, "expired": 0} | {s: int(c) for s, c in rows}
