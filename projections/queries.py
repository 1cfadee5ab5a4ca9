"""Reads of the read tables: what the API serves. Each answer takes a few indexed queries,
however long the history (docs/PERFORMANCE.md measures a report at 1,000,000 events).

Figures are defined in docs/REPORTS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, and_, case, func, or_, select

from ledger import money
from ledger.money import cash_fen, rebate_fen
from projections import tables as t

M = TypeVar("M")  # where a page ends: what the next page starts after


def _row(conn: Connection, table: Any, *where: Any) -> dict[str, Any] | None:
    found = conn.execute(select(table).where(*where)).first()
    return dict(found._mapping) if found else None


def _page(
    conn: Connection, query: Select, limit: int | None, mark: Callable[[dict[str, Any]], M]
) -> tuple[list[dict[str, Any]], M | None]:
    """The rows of ``query``: all of them, or the first ``limit`` and, when more follow,
    the ``mark`` of the last one to continue after (None at the end)."""
    rows = [
        dict(r._mapping) for r in conn.execute(query if limit is None else query.limit(limit + 1))
    ]
    if limit is None or len(rows) <= limit:
        return rows, None
    return rows[:limit], mark(rows[limit - 1])


def position(conn: Connection, projection: str) -> int:
    """How far a projection has read the log (0 before its first batch)."""
    found = conn.execute(
        select(t.tracking.c.position).where(t.tracking.c.name == projection)
    ).scalar()
    return found or 0


# --- accounts ------------------------------------------------------------------------------


def account(conn: Connection, account_id: str) -> dict[str, Any] | None:
    """The account's row (id, kind, display_name, balance, leaderboard_opt_in, rebate_bps)."""
    return _row(conn, t.accounts, t.accounts.c.id == account_id)


def entries(
    conn: Connection, account_id: str, limit: int, before_version: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` entries of an account, newest first, below ``before_version``; and
    the version to continue below (None at the end)."""
    e = t.entries.c
    query = select(t.entries).where(e.account_id == account_id)
    # The column is 32-bit: a larger cursor is past every version, so it bounds nothing.
    if before_version is not None and before_version < 2**31:
        query = query.where(e.version < before_version)
    return _page(conn, query.order_by(e.version.desc()), limit, lambda last: last["version"])


# --- incidents -------------------------------------------------------------------------------


IncidentMark = tuple[bool, int]  # (urgent, position) of the last incident of a page


def incidents(
    conn: Connection,
    status: str | None,
    limit: int | None = None,
    after: IncidentMark | None = None,
) -> tuple[list[dict[str, Any]], IncidentMark | None]:
    """Incidents (of one status), urgent ones first, then in the order reported: all of
    them, or ``limit`` following the incident ``after``; and the mark to continue after
    (None at the end)."""
    i = t.incidents.c
    query = select(t.incidents).order_by(i.urgent.desc(), i.position)
    if status is not None:
        query = query.where(i.status == status)
    if after is not None:
        urgent, position = after
        later, calm = i.position > position, i.urgent.is_(False)
        query = query.where(or_(calm, later) if urgent else and_(calm, later))
    return _page(conn, query, limit, lambda last: (last["urgent"], last["position"]))


def incident_count(conn: Connection, status: str | None) -> int:
    """How many incidents there are (of one status)."""
    i = t.incidents.c
    query = select(func.count()).select_from(t.incidents)
    if status is not None:
        query = query.where(i.status == status)
    return conn.execute(query).scalar_one()


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a coordinator's list shows (every field optional)."""

    statuses: tuple[str, ...] | None = None  # None: every status
    category: str | None = None
    urgent: bool | None = None
    since: datetime | None = None  # reported at or after
    until: datetime | None = None  # reported before
    words: tuple[str, ...] = ()  # each in the description or the location
    place: tuple[str, ...] = ()  # each in the location
    besides: str | None = None  # not this incident


def _contains(column: Any, word: str) -> Any:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _incident_where(query: Select, given: IncidentFilter) -> Select:
    i = t.incidents.c
    if given.statuses is not None:
        query = query.where(i.status.in_(given.statuses))
    if given.category is not None:
        query = query.where(i.category == given.category)
    if given.urgent is not None:
        query = query.where(i.urgent.is_(given.urgent))
    if given.since is not None:
        query = query.where(i.at >= given.since)
    if given.until is not None:
        query = query.where(i.at < given.until)
    for word in given.words:
        query = query.where(or_(_contains(i.description, word), _contains(i.location, word)))
    for word in given.place:
        query = query.where(_contains(i.location, word))
    if given.besides is not None:
        query = query.where(i.id != given.besides)
    return query


def incident_queue(
    conn: Connection, given: IncidentFilter, limit: int, offset: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """The coordinator's queue: what needs action first (waiting for verification before
    the rest), urgent before calm, newest first; ``limit`` from ``offset``, and whether
    more follow."""
    i = t.incidents.c
    waiting = case((i.status == "submitted", 0), else_=1)
    query = _incident_where(select(t.incidents), given).order_by(
        waiting, i.urgent.desc(), i.position.desc()
    )
    rows = [dict(r._mapping) for r in conn.execute(query.offset(offset).limit(limit + 1))]
    return rows[:limit], len(rows) > limit


def incident_queue_count(conn: Connection, given: IncidentFilter) -> int:
    """How many incidents :func:`incident_queue` finds in all."""
    query = _incident_where(select(func.count()).select_from(t.incidents), given)
    return conn.execute(query).scalar_one()


def similar_incidents(conn: Connection, given: IncidentFilter, limit: int) -> list[dict[str, Any]]:
    """The incidents ``given`` finds, newest first (at most ``limit``): the "duplicate of"
    search."""
    i = t.incidents.c
    query = _incident_where(select(t.incidents), given).order_by(i.position.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


# --- merchants -----------------------------------------------------------------------------


def merchants(conn: Connection) -> list[dict[str, Any]]:
    """Every merchant account (id and display_name), by name: the public partner list."""
    a = t.accounts.c
    query = select(a.id, a.display_name).where(a.kind == "merchant").order_by(a.display_name, a.id)
    return [dict(r._mapping) for r in conn.execute(query)]


RedemptionMark = tuple[datetime, str]  # (at, id) of the last redemption of a page


def day_redemptions(
    conn: Connection,
    merchant_id: str,
    day: str,
    limit: int | None = None,
    after: RedemptionMark | None = None,
) -> tuple[list[dict[str, Any]], RedemptionMark | None]:
    """The merchant's redemptions of the local ``day``, newest first: all of them, or
    ``limit`` following the redemption ``after``; and the mark to continue after (None at
    the end)."""
    r = t.redemptions.c
    query = (
        select(t.redemptions)
        .where(r.merchant_id == merchant_id, r.day == day)
        .order_by(r.at.desc(), r.id.desc())
    )
    if after is not None:
        at, last_id = after
        query = query.where(or_(r.at < at, and_(r.at == at, r.id < last_id)))
    return _page(conn, query, limit, lambda last: (last["at"], last["id"]))


def day_totals(conn: Connection, merchant_id: str, day: str) -> dict[str, int]:
    """The merchant's local ``day`` in figures: the ``count`` of redemptions, and the
    beans ``redeemed`` and ``refunded`` of them."""
    r = t.redemptions.c
    count, redeemed, refunded = conn.execute(
        select(func.count(), func.sum(r.amount), func.sum(r.refunded)).where(
            r.merchant_id == merchant_id, r.day == day
        )
    ).one()
    return {"count": count, "redeemed": int(redeemed or 0), "refunded": int(refunded or 0)}


def statement(
    conn: Connection, merchant_id: str, rebate_bps: int, period: str, bean_value_fen: int
) -> dict[str, Any]:
    """A merchant's statement of one month (docs/REPORTS.md)."""
    m = t.merchant_months.c
    month = _row(conn, t.merchant_months, m.merchant_id == merchant_id, m.period == period)
    redeemed = month["redeemed"] if month else 0
    refunded = month["refunded"] if month else 0
    net = redeemed - refunded
    cash = cash_fen(net, bean_value_fen)
    rebate = rebate_fen(cash, rebate_bps) if cash >= 0 else -rebate_fen(-cash, rebate_bps)
    s = t.settlement_lines.c
    lines = conn.execute(
        select(s.beans, s.paid_on).where(s.merchant_id == merchant_id, s.period == period)
    ).all()
    settled = sum(line.beans for line in lines)
    return {
        "period": period,
        "redeemed": redeemed,
        "refunded": refunded,
        "net": net,
        "cash_fen": cash,
        "rebate_fen": rebate,
        "settled": settled,
        "paid": net > 0 and _all_paid_through(conn, merchant_id, period),
    }


def _all_paid_through(conn: Connection, merchant_id: str, period: str) -> bool:
    """Whether every bean the merchant redeemed up to the end of ``period``, net of every
    refund of those sales (whenever refunded), has been settled and paid. Settlements take
    a merchant's oldest unsettled beans first (all those before their cutoff), so the
    beans paid for are the oldest ones as long as the lines are paid in order: count the
    lines, month by month, up to the first month with a line still unpaid, and compare
    with what the sales up to ``period`` came to."""
    r, s = t.redemptions.c, t.settlement_lines.c
    owed = conn.execute(
        select(func.coalesce(func.sum(r.amount - r.refunded), 0)).where(
            r.merchant_id == merchant_id, r.day <= f"{period}-31"
        )
    ).scalar_one()
    lines = conn.execute(
        select(s.period, s.beans, s.paid_on).where(s.merchant_id == merchant_id).order_by(s.period)
    ).all()
    paid_for = 0
    for _, month in groupby(lines, key=lambda line: line.period):
        month_lines = list(month)
        if any(line.paid_on is None for line in month_lines):
            break
        paid_for += sum(line.beans for line in month_lines)
    return paid_for >= owed


def month_redemptions(conn: Connection, merchant_id: str, period: str) -> list[dict[str, Any]]:
    """Every sale of the merchant in the local month ``period`` (``YYYY-MM``), oldest
    first, with what was refunded of each: the statement's detail (兑换明细)."""
    r = t.redemptions.c
    query = (
        select(t.redemptions)
        .where(r.merchant_id == merchant_id, r.day >= f"{period}-01", r.day <= f"{period}-31")
        .order_by(r.at, r.id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def merchant_settlement_lines(
    conn: Connection, merchant_id: str, period: str
) -> list[dict[str, Any]]:
    """The merchant's settlement lines for the spending of ``period``: beans, cash,
    rebate, and the day and reference of the payment (None while unpaid)."""
    s = t.settlement_lines.c
    query = (
        select(t.settlement_lines)
        .where(s.merchant_id == merchant_id, s.period == period)
        .order_by(s.paid_on, s.settlement_id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def merchant_periods(conn: Connection, merchant_id: str) -> list[str]:
    """The months in which the merchant took beans, newest first."""
    m = t.merchant_months.c
    query = select(m.period).where(m.merchant_id == merchant_id).order_by(m.period.desc())
    return [row.period for row in conn.execute(query)]


# --- the fund report -----------------------------------------------------------------------


def first_period(conn: Connection) -> str | None:
    """The month of the first event, or None while the log is empty."""
    return conn.execute(select(func.min(t.chain_months.c.period))).scalar()


def report_periods(conn: Connection, current: str) -> list[str]:
    """Every month from the first event's through ``current``, newest first."""
    first = first_period(conn)
    if first is None:
        return []
    periods, period = [], current
    while period >= first:
        periods.append(period)
        year, month = int(period[:4]), int(period[5:])
        period = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    return periods


def coverage(balance_fen: int, liability_fen: int) -> str | None:
    ratio = money.coverage(balance_fen, liability_fen)
    return None if ratio is None else str(ratio)


def _months_upto(conn: Connection, period: str) -> list[dict[str, Any]]:
    m = t.months.c
    query = select(t.months).where(m.period <= period).order_by(m.period)
    return [dict(r._mapping) for r in conn.execute(query)]


def _merchant_changes(conn: Connection, period: str) -> dict[str, dict[str, int]]:
    """``{period: {merchant_id: change}}``: how the beans each merchant holds changed in
    each month up to ``period`` (redeemed, less refunded, less settled and paid)."""
    changes: dict[str, dict[str, int]] = {}

    def add(month: str, merchant_id: str, beans: int) -> None:
        changes.setdefault(month, {})
        changes[month][merchant_id] = changes[month].get(merchant_id, 0) + int(beans)

    m, p = t.merchant_months.c, t.payouts.c
    for row in conn.execute(
        select(m.period, m.merchant_id, m.redeemed - m.refunded).where(m.period <= period)
    ):
        add(row[0], row[1], row[2])
    for row in conn.execute(
        select(p.period, p.merchant_id, func.sum(p.beans))
        .where(p.period <= period)
        .group_by(p.period, p.merchant_id)
    ):
        add(row[0], row[1], -row[2])
    return changes


def _running(
    conn: Connection, months: list[dict[str, Any]], bean_value_fen: int
) -> dict[str, dict[str, int]]:
    """For each month with figures: the fund's balance, the beans outstanding and what
    paying them will cost (cash and rebates, ``ledger.money.liability_fen``) at its end."""
    if not months:
        return {}
    r = t.merchant_rates.c
    rates = [
        (row.period, row.merchant_id, row.rebate_bps)
        for row in conn.execute(select(r.period, r.merchant_id, r.rebate_bps).order_by(r.period))
    ]
    changes = _merchant_changes(conn, months[-1]["period"])
    balance = outstanding = 0
    held: dict[str, int] = {}
    registered: dict[str, int] = {}
    ends = {}
    for month in months:
        period = month["period"]
        balance += month["fund_in_fen"] - month["fund_out_fen"]
        outstanding += (
            month["incident_awards"]
            + month["activity_awards"]
            + month["allotments"]
            - month["corrected"]
            - month["retired"]
        )
        registered.update({m: bps for p, m, bps in rates if p <= period})
        for merchant_id, change in changes.get(period, {}).items():
            held[merchant_id] = held.get(merchant_id, 0) + change
        merchants = [(held.get(m, 0), bps) for m, bps in registered.items()]
        ends[period] = {
            "balance_end_fen": balance,
            "outstanding_end": outstanding,
            "liability_end_fen": money.liability_fen(outstanding, merchants, bean_value_fen),
        }
    return ends


def fund_history(conn: Connection, periods: list[str], bean_value_fen: int) -> list[dict]:
    """The fund's balance and liability at the end of each of ``periods`` (oldest first)."""
    if not periods:
        return []
    ordered = sorted(periods)
    ends = _running(conn, _months_upto(conn, ordered[-1]), bean_value_fen)
    history, last = [], {"balance_end_fen": 0, "liability_end_fen": 0}
    known = sorted(ends)
    index = 0
    for period in ordered:
        while index < len(known) and known[index] <= period:
            last = ends[known[index]]
            index += 1
        history.append(
            {
                "period": period,
                "balance_end_fen": last["balance_end_fen"],
                "liability_end_fen": last["liability_end_fen"],
            }
        )
    return history


def fund_report(
    conn: Connection, period: str, bean_value_fen: int, current: str
) -> dict[str, Any] | None:
    """The public fund report of ``period`` (docs/REPORTS.md), or None for a month
    before the first event or after ``current``."""
    first = first_period(conn)
    if first is None or not first <= period <= current:
        return None
    months = _months_upto(conn, period)
    ends = _running(conn, months, bean_value_fen)
    before = [m for m in months if m["period"] < period]
    start = ends[before[-1]["period"]] if before else None
    end = ends[months[-1]["period"]] if months else None
    month = months[-1] if months and months[-1]["period"] == period else {}
    figure = lambda name: month.get(name, 0)  # noqa: E731
    balance_end = end["balance_end_fen"] if end else 0
    liability_end = end["liability_end_fen"] if end else 0
    issued = {
        "incident_awards": figure("incident_awards"),
        "activity_awards": figure("activity_awards"),
        "allotments": figure("allotments"),
    }
    issued["total"] = sum(issued.values())
    donations = [
        {k: r[k] for k in ("received_on", "donor", "amount_fen", "receipt_no")}
        for r in conn.execute(
            select(t.donations)
            .where(t.donations.c.period == period)
            .order_by(t.donations.c.position)
        ).mappings()
    ]
    payouts = [
        {k: r[k] for k in ("merchant", "beans", "cash_fen", "rebate_fen", "paid_on", "payment_ref")}
        for r in conn.execute(
            select(t.payouts).where(t.payouts.c.period == period).order_by(t.payouts.c.position)
        ).mappings()
    ]
    v = t.volunteer_months.c
    active = conn.execute(select(func.count()).where(v.period == period, v.earned > 0)).scalar_one()
    merchants_paid = conn.execute(
        select(func.count(t.payouts.c.merchant_id.distinct())).where(t.payouts.c.period == period)
    ).scalar_one()
    c = t.chain_months.c
    head = conn.execute(
        select(c.chain).where(c.period <= period).order_by(c.position.desc()).limit(1)
    ).scalar()
    return {
        "period": period,
        "final": period < current,
        "donations": {
            "count": figure("donations_count"),
            "total_fen": figure("donations_fen"),
            "items": donations,
        },
        "payouts": {
            "cash_fen": figure("payouts_cash_fen"),
            "rebate_fen": figure("payouts_rebate_fen"),
            "items": payouts,
        },
        "beans": {
            "issued": issued,
            "redeemed": figure("redeemed"),
            "refunded": figure("refunded"),
            "gifted": figure("gifted"),
            "retired": figure("retired"),
            "corrected": figure("corrected"),
            "outstanding_end": end["outstanding_end"] if end else 0,
        },
        "fund": {
            "balance_start_fen": start["balance_end_fen"] if start else 0,
            "balance_end_fen": balance_end,
            "liability_end_fen": liability_end,
            "coverage_end": coverage(balance_end, liability_end),
        },
        "activity": {
            "active_volunteers": active,
            "incidents_verified": figure("incidents_verified"),
            "redemptions": figure("redemptions"),
            "merchants_paid": merchants_paid,
        },
        "rule_changes": rule_changes(conn, period),
        "chain_head": head,
    }


def rule_changes(conn: Connection, period: str) -> list[dict[str, Any]]:
    """The rule changes that take effect in ``period``, in the order they apply."""
    r = t.rule_changes.c
    return [
        {"effective_at": row.effective_at, "changes": dict(row.changes)}
        for row in conn.execute(
            select(r.effective_at, r.changes)
            .where(r.period == period)
            .order_by(r.effective_at, r.position)
        )
    ]


def payout_settlements(conn: Connection, period: str) -> list[dict[str, Any]]:
    """For each payout of ``period``, in the report's order: the settlement it paid and the
    month of spending that settlement covers (``spending_period``; None if not found)."""
    p, s = t.payouts.c, t.settlement_lines.c
    joined = t.payouts.outerjoin(
        t.settlement_lines,
        and_(
            s.merchant_id == p.merchant_id,
            s.payment_ref == p.payment_ref,
            s.paid_on == p.paid_on,
        ),
    )
    query = (
        select(p.position, s.settlement_id, s.period.label("spending_period"))
        .select_from(joined)
        .where(p.period == period)
        .order_by(p.position, s.settlement_id)
    )
    found: dict[int, dict[str, Any]] = {}
    for row in conn.execute(query):
        found.setdefault(
            row.position,
            {"settlement_id": row.settlement_id, "spending_period": row.spending_period},
        )
    return list(found.values())


# --- the leaderboard -----------------------------------------------------------------------


def leaderboard(conn: Connection, period: str, limit: int = 50) -> list[dict[str, Any]]:
    """Opted-in volunteers by net beans earned in ``period`` (awards of the month less
    the corrections that took them back), highest first."""
    v, a, c = t.volunteer_months.c, t.accounts.c, t.award_corrections.c
    net = (v.earned - func.coalesce(c.corrected, 0)).label("net")
    query = (
        select(a.display_name, net)
        .select_from(
            t.volunteer_months.join(t.accounts, a.id == v.account_id).outerjoin(
                t.award_corrections, and_(c.period == v.period, c.account_id == v.account_id)
            )
        )
        .where(v.period == period, net > 0, a.leaderboard_opt_in.is_(True))
        .order_by(net.desc(), a.display_name)
        .limit(limit)
    )
    return [{"display_name": r.display_name, "beans_earned": r.net} for r in conn.execute(query)]


# --- the audit chain -------------------------------------------------------------------------


def chain_values(conn: Connection, positions: list[int]) -> dict[int, str]:
    if not positions:
        return {}
    c = t.chain.c
    query = select(c.position, c.chain).where(
        c.position >= positions[0], c.position <= positions[-1]
    )
    return {r.position: r.chain for r in conn.execute(query)}


# --- the coordinator's pages (api/web/coordinator.py) ------------------------------------


def members(
    conn: Connection, kind: str | None = None, search: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Volunteer and beneficiary accounts (of one ``kind``), by name; ``search`` matches
    part of the name, ignoring case, or a whole account id. At most ``limit`` rows."""
    a = t.accounts.c
    kinds = [kind] if kind else ["volunteer", "beneficiary"]
    query = select(a.id, a.kind, a.display_name, a.balance).where(a.kind.in_(kinds))
    if search:
        query = query.where(
            func.lower(a.display_name).contains(search.lower(), autoescape=True) | (a.id == search)
        )
    query = query.order_by(a.display_name, a.id).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def account_names(conn: Connection, account_ids: list[str]) -> dict[str, str]:
    """The display names of these accounts (ids the read model does not know are left out)."""
    wanted = list(dict.fromkeys(account_ids))
    if not wanted:
        return {}
    a = t.accounts.c
    names = {}
    for start in range(0, len(wanted), 500):
        query = select(a.id, a.display_name).where(a.id.in_(wanted[start : start + 500]))
        names.update({r.id: r.display_name for r in conn.execute(query)})
    return names


def activity_ids(conn: Connection) -> list[str]:
    """The ids of every activity (in no particular order)."""
    s = t.subjects.c
    return [r.id for r in conn.execute(select(s.id).where(s.kind == "activity"))]


# --- a volunteer's or beneficiary's own pages (api/web/member.py) ----------------------------


def account_kinds_and_names(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{id: {"kind", "display_name"}}`` of the accounts among ``ids`` (one query): what a
    member's history says about the other side of an entry."""
    if not ids:
        return {}
    a = t.accounts.c
    query = select(a.id, a.kind, a.display_name).where(a.id.in_(sorted(set(ids))))
    return {r.id: {"kind": r.kind, "display_name": r.display_name} for r in conn.execute(query)}


def subject_kinds(conn: Connection, ids: list[str]) -> dict[str, str]:
    """``{id: "incident" | "activity"}`` for the award refs among ``ids`` (one query)."""
    if not ids:
        return {}
    s = t.subjects.c
    query = select(s.id, s.kind).where(s.id.in_(sorted(set(ids))))
    return {r.id: r.kind for r in conn.execute(query)}


def incident_roles(
    conn: Connection, account_id: str, ids: list[str]
) -> dict[str, tuple[bool, bool]]:
    """``{incident id: (reported it, handled it)}`` of one account, for the incidents
    among ``ids`` (award refs; others are left out)."""
    if not ids:
        return {}
    i = t.incidents.c
    query = select(i.id, i.reporter_id, i.handler_ids).where(i.id.in_(sorted(set(ids))))
    return {
        r.id: (r.reporter_id == account_id, account_id in (r.handler_ids or []))
        for r in conn.execute(query)
    }


def incidents_reported_by(conn: Connection, reporter_id: str, limit: int = 50) -> list[dict]:
    """The incidents one volunteer reported, newest first (at most ``limit``)."""
    i = t.incidents.c
    query = (
        select(t.incidents)
        .where(i.reporter_id == reporter_id)
        .order_by(i.position.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


# --- the fund officer's pages (api/web/fund_pages.py) --------------------------------------


def recent_donations(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest donations, newest first: ``{received_on, donor, amount_fen, receipt_no,
    period}`` (an anonymous donor reads as in the public report)."""
    d = t.donations.c
    query = select(t.donations).order_by(d.position.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def settlements(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Settlements with their totals, latest period first: ``{settlement_id, period,
    lines, paid_lines, beans, cash_fen, rebate_fen}``."""
    s = t.settlement_lines.c
    query = (
        select(
            s.settlement_id,
            s.period,
            func.count().label("lines"),
            func.count(s.paid_on).label("paid_lines"),
            func.sum(s.beans).label("beans"),
            func.sum(s.cash_fen).label("cash_fen"),
            func.sum(s.rebate_fen).label("rebate_fen"),
        )
        .group_by(s.settlement_id, s.period)
        .order_by(s.period.desc(), s.settlement_id)
        .limit(limit)
    )
    return [
        {**dict(r._mapping), **{k: int(r._mapping[k]) for k in ("beans", "cash_fen", "rebate_fen")}}
        for r in conn.execute(query)
    ]


# --- teams and grids (issue 18) ---------------------------------------------------------------


def awards_by_ref(conn: Connection, refs: list[str]) -> int:
    """Beans awarded (credited with the flow ``award``) by these incidents or activities."""
    wanted = sorted(set(refs))
    total = 0
    e = t.entries.c
    for start in range(0, len(wanted), 500):
        query = select(func.coalesce(func.sum(e.amount), 0)).where(
            e.flow == "award", e.amount > 0, e.ref.in_(wanted[start : start + 500])
        )
        total += int(conn.execute(query).scalar_one())
    return total


def incidents_among(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    """These incidents, urgent ones first, then newest first."""
    wanted = sorted(set(ids))
    found: list[dict[str, Any]] = []
    i = t.incidents.c
    for start in range(0, len(wanted), 500):
        query = select(t.incidents).where(i.id.in_(wanted[start : start + 500]))
        found += [dict(r._mapping) for r in conn.execute(query)]
    return sorted(found, key=lambda r: (not r["urgent"], -r["position"]))


def verified_incidents_reported_by(conn: Connection, reporter_ids: list[str]) -> int:
    """How many incidents these volunteers reported were verified (or since resolved)."""
    wanted = sorted(set(reporter_ids))
    count = 0
    i = t.incidents.c
    for start in range(0, len(wanted), 500):
        query = (
            select(func.count())
            .select_from(t.incidents)
            .where(
                i.reporter_id.in_(wanted[start : start + 500]),
                i.status.in_(("verified", "resolved")),
            )
        )
        count += int(conn.execute(query).scalar_one())
    return count


def allotment_recipients(conn: Connection, refs: list[str]) -> list[dict[str, Any]]:
    """Who received the allotments with these ids (``Ledger.allotment_ids``): the
    account, its name, the beans and when, earliest first."""
    e, a = t.entries.c, t.accounts.c
    found: list[dict[str, Any]] = []
    for start in range(0, len(refs), 1000):
        found += [
            dict(row)
            for row in conn.execute(
                select(e.account_id, a.display_name, e.amount, e.at)
                .join(t.accounts, a.id == e.account_id)
                .where(e.flow == "allotment", e.amount > 0, e.ref.in_(refs[start : start + 1000]))
            ).mappings()
        ]
    return sorted(found, key=lambda row: (row["at"], row["display_name"]))
