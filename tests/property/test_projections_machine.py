"""Random command sequences, with the projections run now and then in small batches,
leave read tables that equal a full replay of the log and published reports that equal
the auditor's independent recomputation.

The machine is the ledger machine of ledger_machine.py (its commands, model and
invariants) with three more rules: run the projections for a few batches of a random
size (1 to 7 events), run one batch, and check the read tables reached so far against a
replay (``projections.check``). At the end of each example it catches up and asserts that
``check`` finds no difference, that every balance in gb_proj_accounts equals the ledger's
(and the account's entries add up to it), and that every monthly report of
``queries.fund_report`` equals ``projections.verifier.compute_reports`` on an export
built from the log and the chain values the ``audit`` projection recorded, all fields
but ``final``.

A last test runs one fixed story (tests/projection_helpers.py: three months with a
settlement, donations, refunds, gifts, allotments and corrections) on SQLite and on
PostgreSQL and compares their reports.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from api.store import Store
from ledger.views import Actor
from projections.check import check
from projections.runner import Runner
from tests.projection_helpers import (
    assert_books_match,
    assert_reports_match,
    open_store,
    runner_for,
    tell_story,
    without,
)
from tests.property.ledger_machine import LedgerMachine
from tests.property.model import OFFICERS
from tests.property.test_ledger_machine import (
    machine_settings,
    memory_store,
    postgres_store,
    sqlite_store,
)
from tests.scenario import Community

BATCH_SIZES = st.integers(1, 7)
STEPS = 30  # commands per example (the ledger machine takes 40; each example here ends in a replay)


class ProjectionsMachine(LedgerMachine):
    """The ledger machine, with the projections run between its commands."""

    final_batch_size = 7  # the batch size of the catch-up at the end of an example

    def __init__(self) -> None:
        super().__init__()
        try:
            self.tables: Store = open_store(self.url)
        except BaseException:
            super().teardown()
            raise
        self.batch_size = 3
        self.projected = self.checked = 0  # positions the projections reached, were checked at
        # An exception already being handled when the example began (hypothesis' own);
        # any other one seen in teardown means the example failed before its end.
        self._ambient = sys.exc_info()[1]

    def runner(self, batch_size: int) -> Runner:
        """A new runner each time, as a restarted projector or a web worker would have
        (and the ledger object may have been reopened)."""
        self.batch_size = batch_size
        return runner_for(self.tables, self.ledger, batch_size)

    @rule(batches=st.integers(1, 6), batch_size=BATCH_SIZES)
    def run_the_projections_a_little(self, batches: int, batch_size: int) -> None:
        self._run_batches(batches, batch_size)

    @rule(batch_size=BATCH_SIZES)
    def run_one_batch(self, batch_size: int) -> None:
        self._run_batches(1, batch_size)

    def _run_batches(self, batches: int, batch_size: int) -> None:
        runner = self.runner(batch_size)
        before = runner.positions()
        read = sum(runner.run_batch() for _ in range(batches))
        after, head = runner.positions(), runner.head()
        assert after["books"] == after["audit"], f"the projections parted: {after}"
        assert before["books"] <= after["books"] <= head
        assert read <= batches * batch_size
        self.projected = after["books"]
        if read < batches * batch_size:  # a short batch reads up to the end of the log
            assert after["books"] == head, f"read {read} of the log, stopped at {after}"

    # Two more ways to settle, so that more examples have payouts in their reports: the
    # ledger machine's settle_what_is_owed (prepared, approved, funded, every line paid)
    # with every bean recorded so far, now or after the month has turned.

    @precondition(lambda self: any(m.unsettled for m in self.model.merchants.values()))
    @rule(target=LedgerMachine.settlements, officer=st.sampled_from(OFFICERS))
    def settle_everything_owed(self, officer: Actor):
        return self.settle_what_is_owed(officer, "tomorrow", funded=True)

    @precondition(lambda self: any(m.unsettled for m in self.model.merchants.values()))
    @rule(target=LedgerMachine.settlements, officer=st.sampled_from(OFFICERS))
    def settle_last_month_after_it_ends(self, officer: Actor):
        self.cross_month_end(offset=1)
        return self.settle_what_is_owed(officer, "default", funded=True)

    @precondition(lambda self: self.projected > self.checked)
    @rule()
    def the_read_tables_so_far_equal_a_replay(self) -> None:
        self.checked = self.projected
        differences = check(self.runner(self.batch_size))
        assert differences == [], "\n".join(str(d) for d in differences)

    def teardown(self) -> None:
        try:
            if sys.exc_info()[1] is self._ambient:  # the example ran to its end
                self.caught_up_projections_agree()
        finally:
            try:
                self.tables.close()
            finally:
                super().teardown()

    def caught_up_projections_agree(self) -> None:
        runner = self.runner(self.final_batch_size)
        runner.catch_up()
        head = runner.head()
        assert set(runner.positions().values()) == {head}
        differences = check(runner)
        assert differences == [], "\n".join(str(d) for d in differences)
        assert_books_match(self.tables, self.ledger)
        assert_reports_match(self.tables, self.ledger, self.clock.now())


def projections_machine(store, *, durable: bool, name: str, final_batch_size: int):
    """A ProjectionsMachine whose every example runs on a fresh store from ``store()``
    (as ledger_machine.machine_for makes a LedgerMachine)."""
    attributes = {
        "store": staticmethod(store),
        "durable": durable,
        "final_batch_size": final_batch_size,
    }
    return type(name, (ProjectionsMachine,), attributes)


def test_projections_follow_random_command_sequences_in_memory() -> None:
    machine = projections_machine(
        memory_store, durable=False, name="InMemoryProjectionsMachine", final_batch_size=7
    )
    run_state_machine_as_test(machine, settings=machine_settings(60, steps=STEPS))


def test_projections_follow_random_command_sequences_on_sqlite() -> None:
    machine = projections_machine(
        sqlite_store, durable=True, name="SQLiteProjectionsMachine", final_batch_size=20
    )
    run_state_machine_as_test(machine, settings=machine_settings(15, steps=STEPS))


def test_projections_follow_random_command_sequences_on_postgres(postgres_url: str) -> None:
    machine = projections_machine(
        postgres_store(postgres_url),
        durable=True,
        name="PostgresProjectionsMachine",
        final_batch_size=50,
    )
    run_state_machine_as_test(machine, settings=machine_settings(8, steps=STEPS))


# --- one story, two databases -------------------------------------------------------------


def test_the_same_story_gives_the_same_reports_on_sqlite_and_postgres(
    sqlite_url: str, postgres_url: str
) -> None:
    """A fixed sequence of commands on a fake clock from 1 March 2026 to 4 May 2026
    (tests/projection_helpers.tell_story): March's settlement prepared, approved and paid
    in April, donations, a refund, gifts, a pool allocation, allotments, corrections. The
    reports of March, April and May are the same on both databases, and each equals the
    verifier's. Aggregate ids are random (uuid4), so the chain values differ from one
    database to the other: ``chain_head`` is compared with the verifier's on each
    database, not across them."""
    reports, books = {}, {}
    for name, url in (("sqlite", sqlite_url), ("postgres", postgres_url)):
        community = Community.on(url, start=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
        store = open_store(url)
        try:
            story = tell_story(community, date(2026, 3, 1))
            runner_for(store, community.ledger, batch_size=4).catch_up()
            assert check(runner_for(store, community.ledger)) == []
            balances = assert_books_match(store, community.ledger)
            published = assert_reports_match(store, community.ledger, community.now)
            assert sorted(published) == story["months"]
            reports[name] = {p: without(r, "chain_head") for p, r in published.items()}
            # The same books too, with each account named by its kind and display name.
            books[name] = sorted(
                (view.kind, view.display_name, balance)
                for account, balance in balances.items()
                for view in [community.ledger.get_account(account)]
            )
        finally:
            store.close()
            community.close()
    assert reports["sqlite"] == reports["postgres"]
    assert books["sqlite"] == books["postgres"]
    march = reports["sqlite"]["2026-03"]
    assert march["final"] and march["beans"]["refunded"] == 5
    assert [p["payment_ref"] for p in reports["sqlite"]["2026-04"]["payouts"]["items"]] == [
        "BANK-1",
        "BANK-2",
    ]
