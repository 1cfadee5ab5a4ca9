"""Recognition as the API and the pages show it (docs/LEDGER.md, "Recognition"): a
volunteer's lifetime figures and stars, and the quarterly honours list with the names
that may be shown. Bottom floor: it imports no endpoint and no page.

On the public list a volunteer appears by name only if they chose to be named (the
leaderboard choice on ``/me``); the others keep their place and figures without a name.
Staff see every name.
"""

from __future__ import annotations

import re
from typing import Any

from api.context import ledger_of, reading
from projections import recognition_queries
from projections.recognition import quarter_of_month

QUARTER = re.compile(r"^(20[0-9]{2})-Q([1-4])$")


def current_quarter() -> str:
    ledger = ledger_of()
    return quarter_of_month(ledger.calendar.period(ledger.now()))


def lifetime(account_id: str) -> dict[str, Any]:
    with reading() as conn:
        return recognition_queries.volunteer_totals(conn, account_id)


def honours(quarter: str | None, public: bool) -> dict[str, Any]:
    """The honours list of ``quarter`` (None or malformed: the current one), with
    ``quarters`` (those with figures, newest first, and the current one). On the public
    list a name not chosen to be shown is None, and no account ids are given."""
    current = current_quarter()
    chosen = quarter if quarter and QUARTER.match(quarter) else current
    with reading() as conn:
        found = recognition_queries.honours(conn, chosen)
        known = recognition_queries.quarters(conn)
    quarters = sorted(set(known) | {current}, reverse=True)

    def shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for rank, row in enumerate(rows, start=1):
            item = {
                "rank": rank,
                "display_name": row["display_name"] if row["opt_in"] or not public else None,
                "beans_earned": row["net"],
                "hours": row["hours"],
            }
            if not public:
                item |= {"account_id": row["account_id"], "named_in_public": row["opt_in"]}
            out.append(item)
        return out

    return {
        **found,
        "by_beans": shown(found["by_beans"]),
        "by_hours": shown(found["by_hours"]),
        "quarters": quarters,
    }
