"""Random command sequences keep the books right: in memory (many examples), on SQLite
and on PostgreSQL (a fresh database per example). See ledger_machine.py for the rules,
the reference model and the invariants checked after every step."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests import pg
from tests.property.ledger_machine import OFFICERS, machine_for


def machine_settings(examples: int, steps: int = 40) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@contextmanager
def memory_store() -> Iterator[str]:
    yield "memory://"


@contextmanager
def sqlite_store() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="goldbean-machine-"))
    try:
        yield f"sqlite:///{folder / 'ledger.sqlite3'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def postgres_store(server_url: str):
    """A fresh schema on the server of ``server_url`` for each example, dropped after it."""
    import psycopg
    from psycopg import sql

    conninfo, _ = pg.split_schema(server_url)

    def run(statement: sql.Composable) -> None:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(statement)

    @contextmanager
    def store() -> Iterator[str]:
        schema = sql.Identifier(name := f"m_{secrets.token_hex(6)}")
        run(sql.SQL("CREATE SCHEMA {}").format(schema))
        try:
            yield pg.with_schema(server_url, name)
        finally:
            run(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))

    return store


def test_random_command_sequences_keep_the_books_in_memory() -> None:
    machine = machine_for(memory_store, name="InMemoryLedgerMachine")
    run_state_machine_as_test(machine, settings=machine_settings(500))


def test_random_command_sequences_keep_the_books_on_sqlite() -> None:
    machine = machine_for(sqlite_store, durable=True, name="SQLiteLedgerMachine")
    run_state_machine_as_test(machine, settings=machine_settings(100))


def test_random_command_sequences_keep_the_books_on_postgres(postgres_url: str) -> None:
    store = postgres_store(postgres_url)
    machine = machine_for(store, durable=True, name="PostgresLedgerMachine")
    run_state_machine_as_test(machine, settings=machine_settings(40))


# --- counterexamples, replayed step by step -----------------------------------------------


class Draws:
    """Stands in for hypothesis' ``data`` in a replay: hands out the given values in turn."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return self.values.pop(0)


def test_a_settlement_takes_no_beans_recorded_after_its_cutoff() -> None:
    """A shop redeems 100 beans on 10 March and refunds 30 of them on 2 April; the April
    settlement (cutoff 1 April) takes the 70 it still holds. After 50 more beans on 2
    April, a settlement with cutoff 1 March must find nothing recorded before 1 March."""
    state = machine_for(memory_store)()
    try:
        state.start_the_clock(start=datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
        shop, _ = state.first_merchants(food="grocery", other="restaurant").values
        li, wang = state.first_volunteers_at_an_activity(beans=100).values
        state.books_agree_with_the_model()
        redemption = state.pay_at_the_counter(li, shop, False, Draws(100))
        state.cross_month_end(offset=3600)
        state.time_passes(step=timedelta(days=1))
        state.refund(redemption, False, False, Draws(30))
        state.prepare_settlement(OFFICERS[0], "default", False)
        state.books_agree_with_the_model()
        state.pay_at_the_counter(wang, shop, False, Draws(50))
        state.prepare_settlement(OFFICERS[0], "previous month", False)
        state.books_agree_with_the_model()
    finally:
        state.teardown()
