"""Racing writers on PostgreSQL: contended commands end in exactly the right state.

Threads sharing one ledger, and processes each with their own, race for the same
volunteer account, payment code, idempotency key, settlement line and allotments. The
ledger's optimistic concurrency (LedgerCore.run reloads and retries on IntegrityError)
must let exactly the right number of commands win and refuse the rest with the named
error -- and never give up with Conflict.

Every racer returns its outcomes as ``("ok", view)`` or ``("error", class name, message)``
so that thread and process variants are checked by the same assertions. Each test prints
how many clashes (IntegrityError retries) it saw; run with ``-s`` to read them.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.clock import FakeClock
from ledger.persistence import open_ledger
from ledger.views import Actor

COORD = Actor("coord")
TREASURER = Actor("treasurer")
OFFICER_A, OFFICER_B = Actor("officer-a"), Actor("officer-b")

RACERS = 16  # threads racing in one process
PROCESSES, THREADS_PER_PROCESS = 4, 4  # 16 racers over 4 processes
JOIN_TIMEOUT = 90  # seconds; a racer still running after this is a hang

Outcome = tuple  # ("ok", view) | ("error", class name, message)


# --- racing machinery -----------------------------------------------------------------------


def count_clashes(ledger) -> Counter:
    """Count every IntegrityError that ledger.run retries, and the most one call needed,
    by wrapping this instance's run (``del ledger.run`` stops counting)."""
    counts: Counter = Counter()
    lock = threading.Lock()
    run = type(ledger).run.__get__(ledger)

    def counting_run(attempt: Callable[[], Any], what: str, replay: Any = None) -> Any:
        mine = 0

        def counted() -> Any:
            nonlocal mine
            try:
                return attempt()
            except IntegrityError:
                mine += 1
                with lock:
                    counts["clashes"] += 1
                    counts["most in one call"] = max(counts["most in one call"], mine)
                raise

        return run(counted, what, replay)

    ledger.run = counting_run
    return counts


def outcome_of(call: Callable[[], Any]) -> Outcome:
    try:
        return ("ok", call())
    except Exception as error:  # every error is an outcome the test checks
        return ("error", type(error).__name__, str(error))


def race_threads(racers: int, work: Callable[[int], list[Outcome]]) -> list[Outcome]:
    """Run ``work(i)`` in ``racers`` threads released together; all their outcomes."""
    barrier = threading.Barrier(racers)
    results: list[list[Outcome] | None] = [None] * racers

    def racer(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:  # surfaces below as an outcome, never lost
            results[i] = [("error", type(error).__name__, str(error))]

    threads = [threading.Thread(target=racer, args=(i,), daemon=True) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return [outcome for result in results for outcome in (result or [("error", "Lost", "")])]


def _process_main(
    url: str, task_name: str, args: tuple, process: int, threads: int, barrier, results
) -> None:
    """One racing process: its own ledger, ``threads`` racers released by a barrier that
    spans every process."""
    ledger = open_ledger(url, create_tables=False)
    clashes = count_clashes(ledger)
    task = globals()[task_name]
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def racer(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            found = task(ledger, process * threads + i, *args)
        except BaseException as error:
            found = [("error", type(error).__name__, str(error))]
        with lock:
            outcomes.extend(found)

    try:
        workers = [threading.Thread(target=racer, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        ledger.close()
        results.put((process, outcomes, dict(clashes)))


def race_processes(url: str, task_name: str, *args: Any) -> tuple[list[Outcome], Counter]:
    """Run the module-level ``task_name(ledger, racer, *args)`` in PROCESSES spawned
    processes (THREADS_PER_PROCESS threads each); all outcomes and the clash count."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES * THREADS_PER_PROCESS)
    results = context.Queue()
    processes = [
        context.Process(
            target=_process_main,
            args=(url, task_name, args, p, THREADS_PER_PROCESS, barrier, results),
            daemon=True,
        )
        for p in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    collected = []
    try:
        for _ in processes:
            collected.append(results.get(timeout=JOIN_TIMEOUT))
    except queue.Empty:
        pytest.fail(f"only {len(collected)} of {PROCESSES} racing processes reported")
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    outcomes = [outcome for _, found, _ in collected for outcome in found]
    clashes = Counter(clashes=sum(c.get("clashes", 0) for _, _, c in collected))
    clashes["most in one call"] = max(c.get("most in one call", 0) for _, _, c in collected)
    return outcomes, clashes


def retried(clashes: Counter) -> str:
    return (
        f"{clashes['clashes']} clashes retried, at most {clashes['most in one call']} in one call"
    )


def successes(outcomes: list[Outcome]) -> list[Any]:
    return [outcome[1] for outcome in outcomes if outcome[0] == "ok"]


def errors(outcomes: list[Outcome]) -> Counter:
    return Counter(outcome[1] for outcome in outcomes if outcome[0] == "error")


def error_messages(outcomes: list[Outcome]) -> list[str]:
    return [f"{o[1]}: {o[2]}" for o in outcomes if o[0] == "error"]


# --- setting the scene ----------------------------------------------------------------------


def volunteer_with(ledger, beans: int, name: str = "Li Wei") -> str:
    """A volunteer whose only beans are one verified incident's award."""
    volunteer = ledger.open_volunteer(name)
    incident = ledger.submit_incident(volunteer.id, "other", "helped at the bean counter")
    ledger.verify_incident(incident.id, COORD, award=beans)
    assert ledger.get_balance(volunteer.id) == beans
    return volunteer.id


def merchant(ledger, name: str = "Corner Grocery"):
    return ledger.register_merchant(name, "grocery")


def today(ledger) -> date:
    return date.fromisoformat(ledger.day_of(ledger.now()))


def issue_codes(ledger, clock: FakeClock, volunteer_id: str, count: int) -> queue.Queue:
    """``count`` distinct payment codes, one per fake second, all still valid at the end."""
    codes: queue.Queue = queue.Queue()
    for _ in range(count):
        clock.advance(seconds=1)
        codes.put(ledger.issue_payment_code(volunteer_id).code)
    return codes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def ledger(postgres_url, clock):
    app = open_ledger(postgres_url, create_tables=True, clock=clock)
    yield app
    app.close()


# --- (a, b) spending one account down from many racers --------------------------------------

START, PRICE = 100, 7  # 14 payments of 7 fit in 100, leaving 2
WINNERS, LEFT = START // PRICE, START % PRICE


def spend_until_refused(pay: Callable[[int], Any]) -> list[Outcome]:
    """Pay again and again (a fresh idempotency key each time) until the ledger refuses."""
    outcomes = []
    for attempt in range(START):
        outcome = outcome_of(lambda attempt=attempt: pay(attempt))
        outcomes.append(outcome)
        if outcome[0] == "error":
            break
    return outcomes


def task_pay_merchant(ledger, racer: int, payer_id: str, merchant_code: str) -> list[Outcome]:
    return spend_until_refused(
        lambda attempt: ledger.pay_merchant(
            payer_id, merchant_code, PRICE, key=f"r{racer}-{attempt}"
        )
    )


def check_spent_down(
    ledger, outcomes: list[Outcome], payer_id: str, merchant_id: str, racers: int
) -> None:
    views = successes(outcomes)
    assert errors(outcomes) == Counter({"InsufficientBalance": racers}), error_messages(outcomes)
    assert len(views) == WINNERS
    assert len({view.id for view in views}) == WINNERS
    for view in views:
        assert ledger.get_redemption(view.id) == view
        assert (view.payer_id, view.merchant_id, view.amount) == (payer_id, merchant_id, PRICE)
    assert ledger.get_balance(payer_id) == LEFT
    assert ledger.get_merchant(merchant_id).balance == WINNERS * PRICE


@pytest.mark.parametrize("method", ["pay_merchant", "redeem", "both"])
def test_racing_threads_spend_an_account_down_to_what_is_left(ledger, clock, method):
    """16 threads spend 7 beans at a time from 100: 14 payments win, 2 beans are left,
    every other racer is told the balance is insufficient, and nobody sees a Conflict.
    Three rounds, each with a fresh volunteer and merchant."""
    for round_no in range(3):
        race_spending_round(ledger, clock, method, round_no)


def race_spending_round(ledger, clock, method: str, round_no: int) -> None:
    payer = volunteer_with(ledger, START, f"volunteer {method} {round_no}")
    shop = merchant(ledger, f"shop {method} {round_no}")
    codes = issue_codes(ledger, clock, payer, 40) if method != "pay_merchant" else None
    clashes = count_clashes(ledger)

    def pay(racer: int, attempt: int) -> Any:
        key = f"{round_no}-{racer}-{attempt}"
        if method == "pay_merchant" or (method == "both" and racer % 2):
            return ledger.pay_merchant(payer, shop.merchant_code, PRICE, key=key)
        return ledger.redeem(shop.id, codes.get_nowait(), PRICE, key=key)

    outcomes = race_threads(
        RACERS, lambda racer: spend_until_refused(lambda attempt: pay(racer, attempt))
    )
    del ledger.run  # stop counting into this round's counter
    print(
        f"\n[{method} round {round_no}] {len(successes(outcomes))} paid, "
        f"{dict(errors(outcomes))}, {retried(clashes)}"
    )
    check_spent_down(ledger, outcomes, payer, shop.id, RACERS)


def test_racing_processes_spend_an_account_down_to_what_is_left(ledger, postgres_url):
    """The same race from 4 processes with their own ledgers (4 threads each)."""
    payer = volunteer_with(ledger, START)
    shop = merchant(ledger)
    outcomes, clashes = race_processes(postgres_url, "task_pay_merchant", payer, shop.merchant_code)
    print(
        f"\n[processes] {len(successes(outcomes))} paid, {dict(errors(outcomes))}, "
        f"{retried(clashes)}"
    )
    check_spent_down(ledger, outcomes, payer, shop.id, PROCESSES * THREADS_PER_PROCESS)


# --- (c) one settlement line paid by many racers ---------------------------------------------


def approved_settlement(ledger) -> tuple[Any, list[Any]]:
    """Two merchants hold beans (50 and 30); the fund holds 1,000 yuan; a settlement of
    both is prepared by one officer and approved by another."""
    payer = volunteer_with(ledger, 80)
    shops = [merchant(ledger, "Rice Shop"), merchant(ledger, "Noodle Bar")]
    ledger.pay_merchant(payer, shops[0].merchant_code, 50, key="rice")
    ledger.pay_merchant(payer, shops[1].merchant_code, 30, key="noodles")
    ledger.record_donation(
        donor="Neighbourhood Fund",
        anonymous=False,
        amount_fen=100_000,
        received_on=today(ledger),
        receipt_no="R-0001",
        by=TREASURER,
    )
    prepared = ledger.prepare_settlement(OFFICER_A, cutoff=today(ledger) + timedelta(days=1))
    settlement = ledger.approve_settlement(prepared.id, OFFICER_B)
    assert settlement.status == "approved"
    assert {line.merchant_id: line.beans for line in settlement.lines} == {
        shops[0].id: 50,
        shops[1].id: 30,
    }
    return settlement, shops


def task_pay_line(ledger, racer: int, settlement_id: str, merchant_id: str) -> list[Outcome]:
    return [
        outcome_of(
            lambda: ledger.pay_settlement_line(
                settlement_id, merchant_id, f"bank-transfer-{racer}", OFFICER_A
            )
        )
    ]


def check_paid_once(ledger, outcomes, settlement, shop, others, fund_before, racers) -> None:
    line = next(line for line in settlement.lines if line.merchant_id == shop.id)
    paid = successes(outcomes)
    assert len(paid) == 1, error_messages(outcomes)
    assert errors(outcomes) == Counter({"InvalidState": racers - 1}), error_messages(outcomes)
    assert ledger.get_fund().balance_fen == fund_before - (line.cash_fen + line.rebate_fen)
    assert ledger.get_merchant(shop.id).balance == 0
    for other in others:
        assert ledger.get_merchant(other.id).balance == other.balance
    after = ledger.get_settlement(settlement.id)
    paid_line = next(line for line in after.lines if line.merchant_id == shop.id)
    assert paid_line.payment_ref == paid[0].payment_ref
    # The losers must be told why: the line is already paid (not a stale-read symptom
    # such as "merchant ... has only 0 beans reserved").
    wrong = [m for m in error_messages(outcomes) if "already paid" not in m]
    assert not wrong, f"{len(wrong)} racers were refused for another reason: {wrong[:3]}"


def test_racing_threads_pay_a_settlement_line_once(ledger):
    """16 threads pay the Rice Shop's line: one payment, 15 'already paid'; the fund drops
    by the line's cash plus rebate (5,500 fen) once, and the shop's 50 beans retire once."""
    settlement, (rice, noodles) = approved_settlement(ledger)
    fund_before = ledger.get_fund().balance_fen
    noodles = ledger.get_merchant(noodles.id)
    clashes = count_clashes(ledger)
    outcomes = race_threads(
        RACERS, lambda racer: task_pay_line(ledger, racer, settlement.id, rice.id)
    )
    print(
        f"\n[settlement threads] {len(successes(outcomes))} paid, {dict(errors(outcomes))}, "
        f"{retried(clashes)}"
    )
    check_paid_once(ledger, outcomes, settlement, rice, [noodles], fund_before, RACERS)
    assert fund_before - ledger.get_fund().balance_fen == 5_500


def test_racing_processes_pay_a_settlement_line_once(ledger, postgres_url):
    settlement, (rice, noodles) = approved_settlement(ledger)
    fund_before = ledger.get_fund().balance_fen
    noodles = ledger.get_merchant(noodles.id)
    outcomes, clashes = race_processes(postgres_url, "task_pay_line", settlement.id, rice.id)
    print(
        f"\n[settlement processes] {len(successes(outcomes))} paid, {dict(errors(outcomes))}, "
        f"{retried(clashes)}"
    )
    check_paid_once(
        ledger, outcomes, settlement, rice, [noodles], fund_before, PROCESSES * THREADS_PER_PROCESS
    )


# --- (d, e) one payment code, one idempotency key ----------------------------------------------


def test_one_payment_code_shown_to_eight_terminals_pays_once(ledger):
    """8 threads present the same payment code under different idempotency keys: one
    redemption; the other seven are told the code was already used."""
    payer = volunteer_with(ledger, 100)
    shop = merchant(ledger)
    code = ledger.issue_payment_code(payer).code
    clashes = count_clashes(ledger)
    outcomes = race_threads(
        8,
        lambda racer: [
            outcome_of(lambda: ledger.redeem(shop.id, code, 12, key=f"terminal-{racer}"))
        ],
    )
    print(
        f"\n[same code] {len(successes(outcomes))} paid, {dict(errors(outcomes))}, "
        f"{retried(clashes)}"
    )
    paid = successes(outcomes)
    assert len(paid) == 1
    assert errors(outcomes) == Counter({"CodeUsed": 7}), error_messages(outcomes)
    assert ledger.get_redemption(paid[0].id) == paid[0]
    assert ledger.get_balance(payer) == 88
    assert ledger.get_merchant(shop.id).balance == 12


def test_one_idempotency_key_retried_by_eight_threads_moves_beans_once(ledger):
    """A terminal's request retried 8 times at once (same code, same key) gives the same
    answer 8 times and moves 10 beans once; so does a merchant-code payment."""
    payer = volunteer_with(ledger, 100)
    shop = merchant(ledger)
    code = ledger.issue_payment_code(payer).code
    clashes = count_clashes(ledger)

    outcomes = race_threads(
        8,
        lambda racer: [
            outcome_of(lambda: ledger.redeem(shop.id, code, 10, key="till-7/receipt-42"))
        ],
    )
    views = successes(outcomes)
    assert ledger.get_balance(payer) == 90
    assert ledger.get_merchant(shop.id).balance == 10
    # Every retry of the request must get the first answer, not CodeUsed.
    assert len(views) == 8, error_messages(outcomes)
    assert len(set(views)) == 1
    assert ledger.get_redemption(views[0].id) == views[0]

    outcomes = race_threads(
        8,
        lambda racer: [
            outcome_of(
                lambda: ledger.pay_merchant(payer, shop.merchant_code, 10, key="phone-tap-1")
            )
        ],
    )
    views = successes(outcomes)
    assert len(views) == 8, error_messages(outcomes)
    assert len(set(views)) == 1
    assert ledger.get_balance(payer) == 80
    assert ledger.get_merchant(shop.id).balance == 20
    print(f"\n[same key] 16 identical answers, {retried(clashes)}")


# --- (f) allotments granted twice at once -----------------------------------------------------


def test_allotment_runs_at_once_grant_each_beneficiary_once(ledger):
    """Two coordinators start the monthly allotment run at the same moment, three times
    over: every beneficiary is granted exactly once; last month's run is refused whole
    (only the current month is open, issue 14) and grants nothing."""
    beneficiaries = [ledger.open_beneficiary(f"beneficiary {n}").id for n in range(20)]
    this_month = ledger.calendar.period(ledger.now())
    last_month = (date.fromisoformat(this_month + "-01") - timedelta(days=1)).strftime("%Y-%m")
    clashes = count_clashes(ledger)
    for _ in range(3):
        outcomes = race_threads(
            2,
            lambda racer: [
                outcome_of(lambda: ledger.grant_allotments(this_month, Actor(f"coord-{racer}")))
            ],
        )
        runs = successes(outcomes)
        assert len(runs) == 2, error_messages(outcomes)
        assert all(run.granted + run.skipped == 20 for run in runs)
    for beneficiary in beneficiaries:
        assert ledger.get_balance(beneficiary) == 100
    late = race_threads(
        2,
        lambda racer: [
            outcome_of(lambda: ledger.grant_allotments(last_month, Actor(f"coord-{racer}")))
        ],
    )
    assert not successes(late) and all("PeriodNotOpen" in m for m in error_messages(late))
    assert all(ledger.get_balance(b) == 100 for b in beneficiaries)
    print(f"\n[allotments] 20 beneficiaries granted once in 6 racing runs, {retried(clashes)}")
