"""Shared by the projection tests (tests/property/test_projections_machine.py,
tests/integration/test_projector_crash.py, tests/integration/test_audit_tamper.py).

* :func:`open_store`, :func:`runner_for`: the read tables of a ledger's database and a
  runner over its log (``api.context.make_runner``), with a chosen batch size;
* :func:`assert_books_match`: every projected balance equals the ledger's, and the
  entries of each account add up to its balance;
* :func:`export_lines`, :func:`published_reports`, :func:`assert_reports_match`: the
  export built in memory (the log plus the chain values the ``audit`` projection
  recorded) and the reports the read tables give, against the auditor's verifier;
* :func:`cli`: ``goldbean ...`` in this process, its exit status and standard output;
* :func:`tell_story`: a small community over three months with every kind of movement.
"""

from __future__ import annotations

import contextlib
import io
import os
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.context import make_runner
from api.store import Store
from ledger.application import Ledger
from projections import queries
from projections import tables as t
from projections.runner import Runner
from projections.verifier import NAMED_DONOR, compare_reports, compute_reports, verify_chain
from tests.scenario import Community

ACCOUNT_KINDS = ("volunteer", "beneficiary", "merchant", "pool")
EXPORT_BATCH = 1000


# --- the read tables ----------------------------------------------------------------------


def open_store(url: str) -> Store:
    """The API's store on ``url`` with the read tables created."""
    store = Store(url)
    store.create_tables()
    return store


def runner_for(store: Store, ledger: Ledger, batch_size: int | None = None) -> Runner:
    """The API's runner (books and audit) over ``ledger``'s log."""
    runner = make_runner(store, ledger)
    if batch_size is not None:
        runner.batch_size = batch_size
    return runner


def ledger_balances(ledger: Ledger) -> dict[str, int]:
    """Every account's balance as the ledger (its aggregates) has it."""
    return {
        account_id: ledger.get_account(account_id).balance
        for kind in ACCOUNT_KINDS
        for account_id in ledger.index.ids_of(kind)
    }


def projected_balances(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return dict(conn.execute(select(t.accounts.c.id, t.accounts.c.balance)).all())


def assert_books_match(store: Store, ledger: Ledger) -> dict[str, int]:
    """Each balance in gb_proj_accounts equals the ledger's; each account's entries add
    up to its balance and the last one shows it; no entry belongs to an unknown account.
    Returns the balances."""
    expected = ledger_balances(ledger)
    e = t.entries.c
    with store.read() as conn:
        projected = dict(conn.execute(select(t.accounts.c.id, t.accounts.c.balance)).all())
        entries = conn.execute(
            select(e.account_id, e.amount, e.balance_after).order_by(e.account_id, e.version)
        ).all()
    sums: dict[str, int] = {}
    last: dict[str, int] = {}
    for account, amount, balance_after in entries:
        sums[account] = sums.get(account, 0) + amount
        last[account] = balance_after
    assert projected == expected, _diff("projected balance", projected, expected)
    assert set(sums) <= set(expected), f"entries of unknown accounts: {set(sums) - set(expected)}"
    by_entries = {account: sums.get(account, 0) for account in expected}
    assert by_entries == expected, _diff("sum of entries", by_entries, expected)
    assert last == {a: b for a, b in expected.items() if a in sums}, "last balance_after"
    return expected


def _diff(what: str, found: dict, expected: dict) -> str:
    keys = sorted(set(found) | set(expected))
    wrong = [
        f"{k}: {found.get(k)} != ledger {expected.get(k)}"
        for k in keys
        if found.get(k) != expected.get(k)
    ]
    return f"{what} differs from the ledger's: " + "; ".join(wrong[:10])


# --- the export and the reports ------------------------------------------------------------


def export_lines(ledger: Ledger, store: Store) -> list[dict[str, Any]]:
    """The export's event lines (docs/REPORTS.md), built in memory as ``goldbean audit
    export`` writes them: the log, with the chain values of the ``audit`` projection."""
    lines: list[dict[str, Any]] = []
    position = 0
    while True:
        batch = ledger.recorder.select_notifications(
            start=position, limit=EXPORT_BATCH, inclusive_of_start=False
        )
        if not batch:
            return lines
        with store.read() as conn:
            chains = queries.chain_values(conn, [n.id for n in batch])
        for n in batch:
            lines.append(
                {
                    "position": n.id,
                    "originator_id": str(n.originator_id),
                    "version": n.originator_version,
                    "topic": n.topic,
                    "state": n.state.decode("utf-8"),
                    "chain": chains.get(n.id),
                }
            )
        position = batch[-1].id


def export_header(ledger: Ledger, exported_at: datetime, events: int) -> dict[str, Any]:
    return {
        "format": "goldbean-audit-export",
        "version": 1,
        "time_zone": ledger.rules.time_zone,
        "bean_value_fen": ledger.rules.bean_value_fen,
        "exported_at": exported_at.isoformat(),
        "events": events,
    }


def published_reports(store: Store, ledger: Ledger, now: datetime) -> dict[str, dict]:
    """Every monthly report the read tables give (``queries.fund_report``) at ``now``."""
    current = ledger.calendar.period(now)
    with store.read() as conn:
        return {
            period: queries.fund_report(conn, period, ledger.rules.bean_value_fen, current)
            for period in queries.report_periods(conn, current)
        }


def without(report: dict, *names: str) -> dict:
    return {name: value for name, value in report.items() if name not in names}


def assert_reports_match(store: Store, ledger: Ledger, now: datetime) -> dict[str, dict]:
    """The chain the audit projection recorded is the one the verifier recomputes, and
    every published report equals the verifier's, field by field and as a whole (only
    ``final`` is left out, as REPORTS.md says). Returns the published reports."""
    published = published_reports(store, ledger, now)
    lines = export_lines(ledger, store)
    chain = verify_chain(lines)
    assert chain.ok, chain.reason
    computed = compute_reports(export_header(ledger, now, len(lines)), lines, now)
    differences = compare_reports(computed, published)
    assert not differences, "reports differ from the verifier's:\n" + "\n".join(differences[:10])
    assert {p: without(r, "final") for p, r in published.items()} == {
        p: without(named(r, published.get(p)), "final") for p, r in computed.items()
    }
    return published


def named(computed: dict, published: dict | None) -> dict:
    """``computed`` with the names of named donors as ``published`` shows them: the log
    holds no names, so the verifier recomputes only that a donor was named (and
    compare_reports checked that the published report names them)."""
    if not published:
        return computed
    items = [
        {**mine, "donor": theirs["donor"]} if mine.get("donor") == NAMED_DONOR else mine
        for mine, theirs in zip(
            computed["donations"]["items"], published["donations"]["items"], strict=False
        )
    ]
    return {**computed, "donations": {**computed["donations"], "items": items}}


# --- the command line ----------------------------------------------------------------------


def cli(*argv: str) -> tuple[int, str]:
    """``goldbean argv...`` in this process (no GOLDBEAN_* from the caller's shell):
    its exit status and what it printed on standard output."""
    from api.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("GOLDBEAN_")]:
            mp.delenv(name)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    return code, out.getvalue() + err.getvalue().replace("\r", "\n")


# --- a story over three months -------------------------------------------------------------


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def tell_story(c: Community, first: date) -> dict[str, Any]:
    """Three months of a small community, deterministic but for the aggregates' ids,
    from local ``first`` (the 1st of a month): in month 1 donations (named and
    anonymous), incident and activity awards, allotments, code, card and counter
    payments, a refund of 5 beans, gifts to a person and to the pool, a pool allocation,
    a correction; in month 2 the settlement of month 1 prepared, approved and paid on two
    days, more awards and payments, a donation, a correction, a second allotment; in
    month 3 a donation, an award, a donation reversed and recorded again, a settlement
    cancelled and prepared again, and a refund of a sale already settled. The clock ends
    in month 3. Returns the ids."""
    coordinator = c.coordinator
    second = next_month(first)
    third = next_month(second)

    def at(day: date, number: int, hour: int = 10) -> None:
        c.move_to_local(day.year, day.month, number, hour)

    at(first, 2)
    li, zhang = c.volunteer("李伟"), c.volunteer("Zhang Min")
    grandma = c.beneficiary("王奶奶")
    grocery = c.merchant("社区便利店", "grocery")
    noodles = c.merchant("Noodle House", "restaurant", rebate_bps=1250)
    c.ledger.set_leaderboard_opt_in(li, True)
    c.donate(150_000, receipt_no="R-001")
    c.ledger.record_donation(
        donor=None, anonymous=True, amount_fen=50_000, received_on=c.today - timedelta(days=1),
        receipt_no="R-002", by=c.officer,
    )  # fmt: skip
    c.earn(li, 150)
    c.earn(zhang, 60)
    activity = c.ledger.create_activity(
        "Litter pick", c.now, c.now + timedelta(hours=2), 20, coordinator
    )
    for volunteer in (li, zhang):
        c.ledger.check_in(activity.id, volunteer, activity.checkin_code)
    c.ledger.confirm_attendance(activity.id, coordinator)
    c.ledger.grant_allotments(first.strftime("%Y-%m"), coordinator)

    at(first, 3)
    bought = c.spend(li, grocery, 40)
    c.pay(zhang, noodles, 25)
    c.spend_card(grandma, grocery, 30)
    refund = c.refund(bought, 5)
    c.give(li, grandma, 10)
    c.give(zhang, "pool", 8)
    c.ledger.allocate_pool(grandma, 5, coordinator)
    c.ledger.correct(zhang, 3, "awarded in error", coordinator, corrects=c.credits(zhang)[0])

    at(second, 3)
    settlement = c.ledger.prepare_settlement(c.officer)
    c.ledger.approve_settlement(settlement.id, c.second_officer)
    c.ledger.pay_settlement_line(settlement.id, grocery, "BANK-1", c.officer)
    c.earn(li, 30)
    c.spend(li, noodles, 12)
    c.donate(20_000, receipt_no="R-003", donor="Kunming Tea Traders")
    c.ledger.grant_allotments(second.strftime("%Y-%m"), coordinator)
    at(second, 5)
    c.ledger.pay_settlement_line(settlement.id, noodles, "BANK-2", c.officer)
    c.ledger.correct(li, 2, "counted twice", coordinator, corrects=c.credits(li)[-1])
    card_sale = c.spend_card(grandma, grocery, 45)

    at(third, 4)
    c.donate(7_500, receipt_no="R-004")
    c.earn(zhang, 7)
    # Undone as new entries: a mistyped donation reversed and recorded again; a
    # settlement of month 2 cancelled, prepared again and paid; then month 2's card sale
    # refunded in part after it was paid (the grocery owes 5 beans).
    mistyped = c.donate(990_000, receipt_no="R-005")
    c.ledger.reverse_donation(mistyped.id, "typed 9900 yuan for 99", c.second_officer)
    c.donate(9_900, receipt_no="R-005")
    cancelled = c.ledger.prepare_settlement(c.officer)
    c.ledger.cancel_settlement(cancelled.id, "prepared before the shops checked", c.officer)
    c.settle()
    c.refund(card_sale, 5)
    return {
        "volunteers": [li, zhang],
        "beneficiary": grandma,
        "merchants": [grocery, noodles],
        "settlement": settlement.id,
        "refund": refund,
        "months": [first.strftime("%Y-%m"), second.strftime("%Y-%m"), third.strftime("%Y-%m")],
    }
