"""A person's inbox, as the API (``/api/v1/me/notifications``) and the pages (``/me``,
``/shop``) use it: whose notices a signed-in user reads, the notices with the unread
count, and marking them read. Bottom floor: it imports no endpoint and no page.

A volunteer or beneficiary reads the notices of their account, a shop owner (the
``merchant`` user, not a till) those of their shop. Read marks are kept beside the
notices (``gb_notice_reads``), not in the log: reading changes no books.
"""

from __future__ import annotations

from typing import Any

from api.context import ledger_of, reading, store_of
from projections import notice_queries

INBOX_ROLES = ("volunteer", "beneficiary", "merchant")


def recipient_of(
    role: str, account_id: str | None, merchant_id: str | None, terminal: bool
) -> str | None:
    """Whose notices this user reads (None: nobody's; a till has no inbox)."""
    if role in ("volunteer", "beneficiary"):
        return account_id
    if role == "merchant" and not terminal:
        return merchant_id
    return None


def inbox(
    recipient_id: str, limit: int, before: int | None = None, unread_only: bool = False
) -> dict[str, Any]:
    """``{items, unread, next_before}``: the notices newest first and how many are unread."""
    with reading() as conn:
        items, more = notice_queries.notices(conn, recipient_id, limit, before, unread_only)
        unread = notice_queries.unread_count(conn, recipient_id)
    return {"items": items, "unread": unread, "next_before": more}


def mark_read(recipient_id: str, notice_id: str) -> int | None:
    """Mark one notice read; the unread count after, or None if it is not theirs."""
    now = ledger_of().now()
    with reading():
        pass  # caught up first, so a notice just derived can be marked
    with store_of().write() as conn:
        if not notice_queries.mark_read(conn, recipient_id, notice_id, now):
            return None
        return notice_queries.unread_count(conn, recipient_id)


def mark_all_read(recipient_id: str) -> int:
    """Mark every notice of the recipient read; how many were marked."""
    now = ledger_of().now()
    with reading():
        pass
    with store_of().write() as conn:
        return notice_queries.mark_all_read(conn, recipient_id, now)
