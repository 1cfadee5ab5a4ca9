"""Reads of the ``recognition`` tables: a volunteer's lifetime totals and star rating, and
the quarterly honours list (docs/LEDGER.md, "Recognition")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from projections import tables as t
from projections.recognition import STAR_HOURS, new_totals, next_star_hours, stars

HONOURS_SIZE = 10


def with_words(row: dict[str, Any]) -> dict[str, Any]:
    """A totals row with its sums: ``earned`` (all kinds), ``net`` (less corrections),
    ``hours`` (whole hours, rounded down), ``stars`` and ``next_star_hours``."""
    earned = row["incident_awards"] + row["handling_awards"] + row["activity_awards"]
    return {
        **row,
        "earned": earned,
        "net": earned - row["corrected"],
        "hours": row["minutes"] // 60,
        "stars": stars(row["minutes"]),
        "next_star_hours": next_star_hours(row["minutes"]),
    }


def volunteer_totals(conn: Connection, account_id: str) -> dict[str, Any]:
    """One volunteer's lifetime figures (all zero before their first award or attendance)."""
    found = conn.execute(
        select(t.volunteer_totals).where(t.volunteer_totals.c.account_id == account_id)
    ).first()
    return with_words(dict(found._mapping) if found else new_totals(account_id))


def quarters(conn: Connection) -> list[str]:
    """The quarters with any award or service time, newest first."""
    q = t.volunteer_quarters.c
    return [r[0] for r in conn.execute(select(q.quarter).distinct().order_by(q.quarter.desc()))]


def honours(conn: Connection, quarter: str, size: int = HONOURS_SIZE) -> dict[str, Any]:
    """The honours list of ``quarter``: the ``size`` volunteers with the most net beans
    earned (awards less corrections) and the ``size`` with the most service time, each
    ``{account_id, display_name, opt_in, net, minutes, hours}`` (ties by the account's
    name); and the quarter's totals over every volunteer: how many took part, beans
    earned, service hours. Whose name a page may show is the page's business
    (``opt_in``)."""
    q, a = t.volunteer_quarters.c, t.accounts.c
    net = (q.earned - q.corrected).label("net")
    base = (
        select(q.account_id, a.display_name, a.leaderboard_opt_in, net, q.minutes)
        .select_from(t.volunteer_quarters.join(t.accounts, a.id == q.account_id))
        .where(q.quarter == quarter)
    )

    def rows(order: Any, condition: Any) -> list[dict[str, Any]]:
        query = base.where(condition).order_by(order.desc(), a.display_name, q.account_id)
        return [
            {
                "account_id": r.account_id,
                "display_name": r.display_name,
                "opt_in": bool(r.leaderboard_opt_in) and bool(r.display_name),
                "net": int(r.net),
                "minutes": int(r.minutes),
                "hours": int(r.minutes) // 60,
            }
            for r in conn.execute(query.limit(size))
        ]

    totals = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(q.earned - q.corrected), 0),
            func.coalesce(func.sum(q.minutes), 0),
        ).where(q.quarter == quarter, (q.earned - q.corrected > 0) | (q.minutes > 0))
    ).one()
    return {
        "quarter": quarter,
        "by_beans": rows(net, net > 0),
        "by_hours": rows(q.minutes, q.minutes >= 60),
        "volunteers": int(totals[0]),
        "beans": int(totals[1]),
        "hours": int(totals[2]) // 60,
    }


__all__ = ["STAR_HOURS", "honours", "quarters", "volunteer_totals", "with_words"]
