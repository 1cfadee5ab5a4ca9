"""The `goldbean` command line: `db init`, `demo` and the demo community it builds.

The demo is built once on SQLite for the module (a few seconds) and checked like a set
of books: nothing negative, the balances add up to the beans in circulation, merchants
were paid from the donations. Building it again never doubles it. The same commands run
against PostgreSQL (with the test schema in ``?schema=``).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import select

from api.auth import Auth
from api.cli import main
from api.demo import DEMO_DAYS
from api.demo_mark import NotADemoDatabase, is_demo_database
from api.demo_summary import summarize, yuan
from api.demo_users import create_demo_users
from api.report_sections import coverage_percent
from api.serve import GoldbeanServer
from api.store import Store, users
from ledger.accounts import Beneficiary
from ledger.activities import Activity
from ledger.application import Ledger
from ledger.clock import SystemClock
from ledger.fund import Donation, Settlement
from ledger.incidents import Incident
from ledger.money import liability_fen
from ledger.persistence import open_ledger
from ledger.records import Allotment, Correction, Gift, PoolAllocation, Redemption


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(*argv: str, env: dict[str, str] | None = None) -> Run:
    """``goldbean argv...`` in this process, with no GOLDBEAN_* from the caller's shell
    (only those of ``env``)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("GOLDBEAN_")]:
            mp.delenv(name)
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Run]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'goldbean.sqlite3'}"
    return url, run("demo", "--database-url", url)


@pytest.fixture
def demo_ledger(demo_db: tuple[str, Run]) -> Iterator[Ledger]:
    ledger = open_ledger(demo_db[0], create_tables=False)
    yield ledger
    ledger.close()


def of_type(ledger: Ledger, event_class: type) -> list:
    return list(ledger.recorder.select_notifications(1, 100_000, topics=[get_topic(event_class)]))


def check_books(ledger: Ledger) -> dict[str, list[int]]:
    """The demo's invariants; returns the balances by account kind."""
    balances = {
        kind: [ledger.get_account(a).balance for a in ledger.index.ids_of(kind)]
        for kind in ("volunteer", "beneficiary", "merchant", "pool")
    }
    everyone = [b for kind in balances.values() for b in kind]
    assert min(everyone) >= 0, "no account but issuance may go negative"
    fund = ledger.get_fund()
    assert sum(everyone) == fund.outstanding_beans, "balances add up to the beans in circulation"
    merchants = [
        (ledger.get_merchant(m).balance, ledger.get_merchant(m).rebate_bps)
        for m in ledger.index.ids_of("merchant")
    ]
    assert fund.liability_fen == liability_fen(fund.outstanding_beans, merchants, 100)
    assert fund.liability_fen > fund.outstanding_beans * 100, "rebates are owed too"
    return balances


# --- db init ----------------------------------------------------------------------------


def test_db_init_creates_the_tables_once_and_says_where(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'goldbean.sqlite3'}"
    first = run("db", "init", "--database-url", url)
    assert first.code == 0, first.err
    assert url in first.out and "0 events" in first.out
    assert (tmp_path / "var" / "goldbean.sqlite3").exists()
    again = run("db", "init", "--database-url", url)  # harmless when the tables exist
    assert again.code == 0 and "0 events" in again.out


def test_db_init_needs_no_secret_key(tmp_path) -> None:
    result = run("db", "init", "--database-url", f"sqlite:///{tmp_path / 'g.sqlite3'}")
    assert result.code == 0, result.err


# --- the demo ---------------------------------------------------------------------------


def test_the_demo_builds_and_prints_a_summary_to_try_things_with(demo_db) -> None:
    _, result = demo_db
    assert result.code == 0, result.err
    assert "Built in" in result.out
    for words in (
        "40 volunteers",
        "15 beneficiaries",
        "12 merchants",
        "incidents",
        "redemptions",
        "events in the log",
        "coverage",
        "settlements",
        "counter code 7",
        "card code 6",
        "account number",
    ):
        assert words in result.out
    assert "¥" in result.out
    assert "refused" not in result.out, "the demo keeps the rules, so nothing is refused"
    assert "Traceback" not in result.err


def test_the_demo_shows_its_progress_month_by_month(demo_db) -> None:
    _, result = demo_db
    months = [line for line in result.out.splitlines() if " incidents (" in line]
    assert len(months) >= 4  # about 95 days touch at least four calendar months
    assert "settlement for" in result.out


def test_the_demo_books_balance(demo_ledger: Ledger) -> None:
    balances = check_books(demo_ledger)
    assert len(balances["volunteer"]) == 40
    assert len(balances["beneficiary"]) == 15
    assert len(balances["merchant"]) == 12
    assert sum(balances["volunteer"]) > 0 and sum(balances["beneficiary"]) > 0


def test_the_demo_paid_merchants_from_the_donations(demo_ledger: Ledger, demo_db) -> None:
    donations = [
        demo_ledger.mapper.to_domain_event(n) for n in of_type(demo_ledger, Donation.Received)
    ]
    settlements = [
        demo_ledger.get_settlement(n.originator_id)
        for n in of_type(demo_ledger, Settlement.Prepared)
    ]
    donated = sum(d.amount_fen for d in donations)
    fund = demo_ledger.get_fund()
    assert any(d.anonymous for d in donations) and any(not d.anonymous for d in donations)
    assert any(s.status == "paid" for s in settlements)
    assert {s.prepared_by for s in settlements} == {"fund-officer-1"}
    assert {s.approved_by for s in settlements} == {"fund-officer-2"}
    assert 0 < fund.balance_fen < donated, "settlements were paid out of the donations"
    # the summary's figures are the ledger's
    out = demo_db[1].out
    assert f"balance {yuan(fund.balance_fen)} (donations {yuan(donated)}" in out
    shown = coverage_percent(fund.coverage)
    assert f"liability {yuan(fund.liability_fen)}, coverage {shown}" in out
    assert f"{sum(s.status == 'paid' for s in settlements)} paid in full" in out


def test_the_demo_uses_every_flow_of_the_ledger(demo_ledger: Ledger) -> None:
    def events(event_class: type) -> list:
        return [demo_ledger.mapper.to_domain_event(n) for n in of_type(demo_ledger, event_class)]

    redemptions = events(Redemption.Made)
    assert {r.method for r in redemptions} == {"payment", "merchant_code", "card"}
    assert all(r.amount <= 500 for r in redemptions)
    assert events(Redemption.Refunded), "a few refunds"
    gifts = events(Gift.Given)
    assert any(g.to_pool for g in gifts) and any(not g.to_pool for g in gifts)
    assert events(PoolAllocation.Allocated)
    assert len({a.period for a in events(Allotment.Granted)}) >= 3, "monthly allotments"
    assert len(events(Correction.Made)) == 1
    assert events(Activity.AttendanceConfirmed) and events(Activity.CheckedIn)
    cards = events(Beneficiary.CardIssued)
    assert any(c.has_pin for c in cards) and any(not c.has_pin for c in cards)
    assert len(cards) == 16, "15 cards and one reissued after a loss"


def test_the_demo_history_walks_three_months_up_to_now(demo_ledger: Ledger) -> None:
    recorder = demo_ledger.recorder
    last_id = recorder.max_notification_id()
    first = demo_ledger.mapper.to_domain_event(recorder.select_notifications(1, 1)[0])
    last = demo_ledger.mapper.to_domain_event(recorder.select_notifications(last_id, 1)[0])
    now = datetime.now(UTC)
    assert now - first.timestamp > timedelta(days=DEMO_DAYS - 1)
    assert last.timestamp <= now and now - last.timestamp < timedelta(days=2)


def test_the_demo_has_incidents_in_every_state_and_category(demo_ledger: Ledger) -> None:
    incidents = [
        demo_ledger.get_incident(n.originator_id) for n in of_type(demo_ledger, Incident.Submitted)
    ]
    statuses = {i.status for i in incidents}
    assert {"verified", "rejected", "duplicate", "resolved"} <= statuses
    assert {i.category for i in incidents} == set(demo_ledger.rules.incident_awards)
    assert any(i.urgent for i in incidents)
    assert all(i.handler_ids for i in incidents if i.status == "resolved")


def test_running_the_demo_again_does_not_double_it(demo_db, demo_ledger: Ledger) -> None:
    url, _ = demo_db
    events = demo_ledger.recorder.max_notification_id()
    again = run("demo", "--database-url", url)
    assert again.code == 0, again.err
    assert "already holds" in again.out and "no demo is built" in again.out
    assert "40 volunteers" in again.out  # the summary of what is there
    assert demo_ledger.recorder.max_notification_id() == events


def test_demo_force_refuses_a_database_that_is_not_empty(demo_db, demo_ledger: Ledger) -> None:
    events = demo_ledger.recorder.max_notification_id()
    result = run("demo", "--database-url", demo_db[0], "--force")
    assert result.code == 1
    assert "already holds" in result.err and "empty database" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert demo_ledger.recorder.max_notification_id() == events


# --- demo mode never touches real data --------------------------------------------------

REAL_SECRET = "a-real-secret-key-of-32-characters"


def real_database(url: str, *, with_events: bool = True) -> None:
    """A database a community really uses: its tables, a member and an admin sign-in."""
    assert run("db", "init", "--database-url", url).code == 0
    store = Store(url)
    try:
        store.create_tables()
        auth = Auth(store, SystemClock())
        auth.create_user("admin", "the-admin's own passphrase 2024", "admin")
    finally:
        store.close()
    if with_events:
        ledger = open_ledger(url, create_tables=False)
        try:
            ledger.open_volunteer("王芳")
        finally:
            ledger.close()


def users_and_events(url: str) -> tuple[list[str], int]:
    store = Store(url)
    ledger = open_ledger(url, create_tables=False)
    try:
        with store.read() as conn:
            names = sorted(conn.execute(select(users.c.username)).scalars())
        return names, ledger.recorder.max_notification_id() or 0
    finally:
        store.close()
        ledger.close()


def refused_in_one_line(result: Run) -> None:
    assert result.code == 1, (result.out, result.err)
    assert result.err.startswith("goldbean: error: ")
    assert "did not build" in result.err and "GOLDBEAN_DEMO" in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("with_events", [True, False], ids=["events", "users-only"])
def test_serve_in_demo_mode_refuses_a_database_with_real_data(
    tmp_path, with_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_gunicorn(_self) -> None:
        raise AssertionError("the server started on real data")

    monkeypatch.setattr(GoldbeanServer, "run", no_gunicorn)
    url = f"sqlite:///{tmp_path / 'real.sqlite3'}"
    real_database(url, with_events=with_events)
    before = users_and_events(url)
    result = run("serve", "--database-url", url, env={"GOLDBEAN_DEMO": "1"})
    refused_in_one_line(result)
    assert "Demo sign-ins" not in result.out and "terminal token" not in result.out
    assert users_and_events(url) == before, "no demo sign-in, no demo event"


def test_the_demo_command_refuses_a_database_with_real_data(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'real.sqlite3'}"
    real_database(url)
    before = users_and_events(url)
    result = run("demo", "--database-url", url)
    refused_in_one_line(result)
    assert "card code" not in result.out, "nothing of the real community is shown"
    assert users_and_events(url) == before


def test_demo_sign_ins_are_created_only_in_a_database_the_demo_built(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'real.sqlite3'}"
    real_database(url)
    store = Store(url)
    ledger = open_ledger(url, create_tables=False)
    try:
        with pytest.raises(NotADemoDatabase):
            create_demo_users(Auth(store, SystemClock()), summarize(ledger))
    finally:
        store.close()
        ledger.close()
    assert users_and_events(url)[0] == ["admin"]


def test_the_demo_marks_the_database_it_builds_and_serves_it_again(demo_db) -> None:
    url, _ = demo_db
    store = Store(url)
    try:
        assert is_demo_database(store)
    finally:
        store.close()


def test_demo_mode_refuses_real_data_on_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GoldbeanServer, "run", lambda _self: pytest.fail("the server started"))
    real_database(postgres_url)
    before = users_and_events(postgres_url)
    refused_in_one_line(run("serve", "--database-url", postgres_url, env={"GOLDBEAN_DEMO": "1"}))
    refused_in_one_line(run("demo", "--database-url", postgres_url))
    assert users_and_events(postgres_url) == before


# --- usage and errors -------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.code == 0 and result.out.startswith("goldbean ")


@pytest.mark.parametrize("argv", [[], ["db"], ["frobnicate"], ["demo", "--seed", "many"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert run(*argv).code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["db", "init", "--database-url", "mysql://db/goldbean"], "unsupported database URL"),
        (
            [
                "db",
                "init",
                "--database-url",
                "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2",
            ],
            "cannot use PostgreSQL at postgresql://postgres@127.0.0.1:1/test",
        ),
        (
            [
                "db",
                "init",
                "--database-url",
                "postgresql://u:s3cret@127.0.0.1:1/t?connect_timeout=2",
            ],
            "postgresql://u:***@127.0.0.1:1/t",
        ),
        (
            ["demo", "--database-url", "sqlite:////proc/no/such/dir/g.sqlite3"],
            "cannot use the database at sqlite:////proc/no/such/dir/g.sqlite3",
        ),
    ],
)
def test_expected_errors_exit_1_with_one_line_and_no_traceback(argv: list[str], message: str):
    result = run(*argv)
    assert result.code == 1
    assert result.err.startswith("goldbean: error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err and "s3cret" not in result.err


def test_a_bad_setting_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("GOLDBEAN_BEAN_VALUE_FEN", "lots")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo", "--database-url", f"sqlite:///{tmp_path / 'g.sqlite3'}"])
    assert code == 1 and "GOLDBEAN_BEAN_VALUE_FEN" in err.getvalue()


# --- PostgreSQL -------------------------------------------------------------------------


def test_db_init_and_demo_on_postgresql(postgres_url: str) -> None:
    init = run("db", "init", "--database-url", postgres_url)
    assert init.code == 0, init.err
    assert "0 events" in init.out
    demo = run("demo", "--database-url", postgres_url)
    assert demo.code == 0, demo.err
    assert "40 volunteers" in demo.out and "refused" not in demo.out
    ledger = open_ledger(postgres_url)
    try:
        check_books(ledger)
        assert ledger.get_fund().balance_fen > 0
        again = run("demo", "--database-url", postgres_url)
        assert again.code == 0 and "already holds" in again.out
    finally:
        ledger.close()
