"""The ``audit`` projection: the hash chain of SPEC §8 over the event log, and the chain
value at the end of each month (a fund report's ``chain_head``).

``chain = sha256(previous || position || originator_id || version || topic || state)``
with fixed-width big-endian integers and the UUID's 16 bytes (docs/REPORTS.md).
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, select

from ledger.calendar import ProgrammeCalendar
from projections import tables as t
from projections.events import LocalMonths, StoredEvent
from projections.rows import Rows, append

GENESIS = bytes(32)


def chain_value(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The chain after one event, given the chain before it."""
    digest = hashlib.sha256(previous)
    digest.update(position.to_bytes(8, "big"))
    digest.update(originator_id.bytes)
    digest.update(version.to_bytes(8, "big"))
    digest.update(topic.encode("utf-8"))
    digest.update(state)
    return digest.digest()


def head_before(conn: Connection, position: int) -> bytes:
    """The chain value of the last event before ``position`` (GENESIS if none)."""
    row = conn.execute(
        select(t.chain.c.chain)
        .where(t.chain.c.position < position)
        .order_by(t.chain.c.position.desc())
        .limit(1)
    ).first()
    return bytes.fromhex(row[0]) if row else GENESIS


class AuditChain:
    """One batch of the ``audit`` projection."""

    name = "audit"
    tables: tuple[Table, ...] = (t.chain, t.chain_months)
    # The chain takes in every event alike, whatever its type: no handlers by event type
    # to keep in step with the ledger's events (tests/unit/test_projection_coverage.py).
    dispatch = None

    def __init__(self, calendar: ProgrammeCalendar) -> None:
        self.calendar = calendar

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        if not events:
            return
        previous = head_before(conn, events[0].position)
        rows: list[dict[str, Any]] = []
        chain_months = Rows(conn, t.chain_months)
        months = LocalMonths(self.calendar.zone)
        last: dict[str, tuple[int, str]] = {}
        for event in events:
            previous = chain_value(
                previous,
                event.position,
                event.originator_id,
                event.version,
                event.topic,
                event.state,
            )
            value = previous.hex()
            rows.append({"position": event.position, "chain": value})
            period = months(event.at)
            last[period] = (event.position, value)  # positions grow: the last one wins
        append(conn, t.chain, rows)
        chain_months.prefetch(last)
        for period, (position, value) in last.items():
            month = chain_months.get(period)
            if month is None or month["position"] < position:
                chain_months.put({"period": period, "position": position, "chain": value})
        chain_months.flush()
