"""Reads of the notices (projections/notices.py) with their read marks, and marking them
read. A notice belongs to its recipient: every read and mark here names the recipient,
so nobody reads or marks another's notices by guessing an id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from projections import tables as t
from projections.rows import dialect_insert


def notices(
    conn: Connection,
    recipient_id: str,
    limit: int,
    before: int | None = None,
    unread_only: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """A recipient's notices, newest first, ``limit`` at a time: each row of the table
    with ``read`` (bool); and the position to continue ``before`` (None at the end)."""
    n, r = t.notifications.c, t.notice_reads.c
    query = (
        select(t.notifications, r.read_at)
        .select_from(t.notifications.outerjoin(t.notice_reads, r.id == n.id))
        .where(n.recipient_id == recipient_id)
        .order_by(n.position.desc(), n.id)
    )
    if before is not None:
        query = query.where(n.position < before)
    if unread_only:
        query = query.where(r.read_at.is_(None))
    rows = [dict(row._mapping) for row in conn.execute(query.limit(limit + 1))]
    for row in rows:
        row["read"] = row.pop("read_at") is not None
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], rows[limit - 1]["position"]


def unread_count(conn: Connection, recipient_id: str) -> int:
    """How many of a recipient's notices are not read yet."""
    n, r = t.notifications.c, t.notice_reads.c
    query = (
        select(func.count())
        .select_from(t.notifications.outerjoin(t.notice_reads, r.id == n.id))
        .where(n.recipient_id == recipient_id, r.read_at.is_(None))
    )
    return int(conn.execute(query).scalar_one())


def mark_read(conn: Connection, recipient_id: str, notice_id: str, at: datetime) -> bool:
    """Mark one of the recipient's notices read (again is harmless); False if the
    recipient has no notice of that id."""
    n = t.notifications.c
    found = conn.execute(
        select(n.id).where(n.id == notice_id, n.recipient_id == recipient_id)
    ).first()
    if found is None:
        return False
    insert = dialect_insert(conn, t.notice_reads)
    conn.execute(
        insert.values(id=notice_id, recipient_id=recipient_id, read_at=at).on_conflict_do_nothing()
    )
    return True


def mark_all_read(conn: Connection, recipient_id: str, at: datetime) -> int:
    """Mark every unread notice of the recipient read; returns how many."""
    n, r = t.notifications.c, t.notice_reads.c
    unread = [
        row.id
        for row in conn.execute(
            select(n.id)
            .select_from(t.notifications.outerjoin(t.notice_reads, r.id == n.id))
            .where(n.recipient_id == recipient_id, r.read_at.is_(None))
        )
    ]
    insert = dialect_insert(conn, t.notice_reads)
    for start in range(0, len(unread), 500):
        conn.execute(
            insert.values(
                [
                    {"id": notice_id, "recipient_id": recipient_id, "read_at": at}
                    for notice_id in unread[start : start + 500]
                ]
            ).on_conflict_do_nothing()
        )
    return len(unread)
