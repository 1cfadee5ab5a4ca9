"""The ``notices`` projection: what each person is told, derived from the events.

=====================================  ==========================  =========================
event                                  who is told                 kind (data)
=====================================  ==========================  =========================
``Incident.Verified``                  the reporter                ``report_verified``
                                                                   (category, award)
``Incident.Rejected``                  the reporter                ``report_rejected``
                                                                   (category, reason)
``Incident.MarkedDuplicate``           the reporter                ``report_duplicate``
                                                                   (category, of)
``Incident.HandlersAssigned``          each handler newly named    ``handler_assigned``
                                                                   (category)
``Incident.Resolved``                  the reporter                ``report_resolved``
                                                                   (category)
                                       each handler                ``handling_resolved``
                                                                   (category, award)
``Settlement.LinePaid``                the shop                    ``line_paid`` (period,
                                                                   beans, cash_fen,
                                                                   rebate_fen, payment_ref)
=====================================  ==========================  =========================

A notice's id is derived from its event, its recipient and its kind, so a rebuild gives each notice
the id it had. Each new notice also gets a pending row in the webhook's outbox
(``gb_notice_outbox``, api/notify.py) unless it has one: the outbox and the read marks
are not this projection's tables, so a rebuild neither empties them nor sends a delivered
notice again. Nothing here holds a phone number or a name: the webhook's sender looks
those up beside the log when (and if) the community configured it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from sqlalchemy import Connection, Table

from ledger.activities import Activity
from ledger.fund import Settlement
from ledger.incidents import Incident
from projections import tables as t
from projections.dispatch import Dispatch
from projections.events import StoredEvent
from projections.quiet_events import QUIET
from projections.rows import Rows, append, dialect_insert

NAMESPACE = uuid5(NAMESPACE_URL, "https://goldbean.invalid/notices")

KINDS = (
    "report_verified",
    "report_rejected",
    "report_duplicate",
    "report_resolved",
    "handler_assigned",
    "handling_resolved",
    "line_paid",
)


def notice_id(event: StoredEvent, recipient_id: str, kind: str) -> str:
    """The id of the notice of ``kind`` that ``event`` gives ``recipient_id`` (the same in
    every rebuild). The kind is part of it: one event may tell one person two things (a
    reporter who also handled the incident learns it is resolved, and of the award)."""
    return str(uuid5(NAMESPACE, f"{event.originator_id}/{event.version}/{recipient_id}/{kind}"))


class Notices:
    """One batch of the ``notices`` projection."""

    name = "notices"
    tables: tuple[Table, ...] = (t.notifications, t.notice_subjects)

    def __init__(self) -> None:
        self.dispatch = DISPATCH

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        batch = _Batch(conn)
        handler = self.dispatch.handler
        relevant = [(e, h) for e in events if (h := handler(e.topic)) is not None]
        created = {e.id for e, _ in relevant if e.version == 1}
        batch.subjects.prefetch({e.id for e, _ in relevant if e.id not in created})
        for event, handle in relevant:
            handle(batch, event)
        batch.flush()


class _Batch:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.subjects = Rows(conn, t.notice_subjects)
        self.notices: list[dict[str, Any]] = []

    def flush(self) -> None:
        self.subjects.flush()
        append(self.conn, t.notifications, self.notices)
        if self.notices:
            outbox = [
                {
                    "id": n["id"],
                    "at": n["at"],
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": n["at"],
                    "last_error": None,
                    "delivered_at": None,
                }
                for n in self.notices
            ]
            insert = dialect_insert(self.conn, t.notice_outbox)
            for start in range(0, len(outbox), 500):
                self.conn.execute(
                    insert.values(outbox[start : start + 500]).on_conflict_do_nothing()
                )

    def tell(self, event: StoredEvent, recipient_id: str, kind: str, **data: Any) -> None:
        self.notices.append(
            {
                "id": notice_id(event, recipient_id, kind),
                "position": event.position,
                "at": event.at,
                "recipient_id": recipient_id,
                "kind": kind,
                "subject_id": event.id,
                "data": data,
            }
        )

    def subject(self, subject_id: str) -> dict[str, Any]:
        row = self.subjects.get(subject_id)
        if row is None:  # cannot happen for a log written by the ledger
            row = self.subjects.put({"id": subject_id, "data": {}})
        return row["data"]

    def remember(self, subject_id: str, **data: Any) -> None:
        row = self.subjects.get(subject_id)
        merged = {**(row["data"] if row else {}), **data}
        self.subjects.put({"id": subject_id, "data": merged})

    # --- incidents --------------------------------------------------------------------

    def submitted(self, event: StoredEvent) -> None:
        self.remember(
            event.id,
            reporter_id=event.data["reporter_id"],
            category=event.data["category"],
            handler_ids=[],
        )

    def to_reporter(self, event: StoredEvent, kind: str, **data: Any) -> None:
        incident = self.subject(event.id)
        reporter = incident.get("reporter_id")
        if reporter:
            self.tell(event, reporter, kind, category=incident.get("category"), **data)

    def verified(self, event: StoredEvent) -> None:
        self.to_reporter(event, "report_verified", award=event.data["award"])

    def rejected(self, event: StoredEvent) -> None:
        self.to_reporter(event, "report_rejected", reason=event.data["reason"])

    def duplicate(self, event: StoredEvent) -> None:
        self.to_reporter(event, "report_duplicate", of=event.data["of"])

    def handlers_assigned(self, event: StoredEvent) -> None:
        incident = self.subject(event.id)
        before = set(incident.get("handler_ids", []))
        handlers = list(event.data["handler_ids"])
        for handler_id in handlers:
            if handler_id not in before:
                self.tell(event, handler_id, "handler_assigned", category=incident.get("category"))
        self.remember(event.id, handler_ids=handlers)

    def resolved(self, event: StoredEvent) -> None:
        incident = self.subject(event.id)
        self.to_reporter(event, "report_resolved")
        for handler_id in incident.get("handler_ids", []):
            self.tell(
                event,
                handler_id,
                "handling_resolved",
                category=incident.get("category"),
                award=event.data["award_per_handler"],
            )

    # --- settlements --------------------------------------------------------------------

    def settlement_prepared(self, event: StoredEvent) -> None:
        self.remember(
            event.id,
            period=event.data["period"],
            lines={
                line["merchant_id"]: {
                    "beans": line["beans"],
                    "cash_fen": line["cash_fen"],
                    "rebate_fen": line["rebate_fen"],
                }
                for line in event.data["lines"]
            },
        )

    def line_paid(self, event: StoredEvent) -> None:
        settlement = self.subject(event.id)
        merchant_id = event.data["merchant_id"]
        line = settlement.get("lines", {}).get(merchant_id, {})
        self.tell(
            event,
            merchant_id,
            "line_paid",
            period=settlement.get("period"),
            beans=line.get("beans", 0),
            cash_fen=line.get("cash_fen", 0),
            rebate_fen=line.get("rebate_fen", 0),
            payment_ref=event.data["payment_ref"],
        )


Handler = Callable[[_Batch, StoredEvent], None]

HANDLERS: dict[type, Handler] = {
    Incident.Submitted: _Batch.submitted,
    Incident.Verified: _Batch.verified,
    Incident.Rejected: _Batch.rejected,
    Incident.MarkedDuplicate: _Batch.duplicate,
    Incident.HandlersAssigned: _Batch.handlers_assigned,
    Incident.Resolved: _Batch.resolved,
    Settlement.Prepared: _Batch.settlement_prepared,
    Settlement.LinePaid: _Batch.line_paid,
}

IGNORED: frozenset[type] = QUIET | {
    Incident.CreditCorrected,  # a correction is the office's, shown in the history
    Activity.Created,  # attendance awards show in the history; nobody waits on them
    Activity.CheckedIn,
    Activity.AttendanceConfirmed,
    Activity.AttendanceConfirmedByLeader,
    Activity.CreditCorrected,
    Settlement.Approved,  # a shop is told when its line is paid
    Settlement.Cancelled,
}

DISPATCH: Dispatch[Handler] = Dispatch(HANDLERS, IGNORED)
