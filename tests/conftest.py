"""Shared fixtures and the PostgreSQL/CI policy of the test suite.

Fixtures:

* ``postgres_url`` -- ``postgresql://user@host:port/db?schema=t_<hex>``: a fresh schema on the
  PostgreSQL chosen by :mod:`tests.pg`, created before and dropped (CASCADE) after the test.
  Skips (with a reason naming PostgreSQL) when there is no PostgreSQL.
* ``sqlite_url`` -- ``sqlite:///<tmp_path>/ledger.sqlite3``.
* ``database_url`` -- parametrised: ``memory`` (``memory://``), ``sqlite``, ``postgres``.
* ``fake_clock`` -- ``ledger.clock.FakeClock`` at 2026-03-10 02:00 UTC.

Tests using ``postgres_url`` (directly, or through ``database_url[postgres]``) are marked
``postgres`` automatically, so ``-m "not postgres"`` deselects them.

Under ``CI=true`` (or ``CI=1``): a skip whose reason mentions PostgreSQL is reported as a
failure, and the session fails if no ``postgres``-marked test passed.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Generator, Iterator
from datetime import UTC, datetime

import pytest

from tests import pg

_POSTGRES_SKIP = re.compile(r"postgres", re.IGNORECASE)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


# --------------------------------------------------------------------------------------------
# Reporting which PostgreSQL is used


def pytest_report_header(config: pytest.Config) -> str:
    line = f"postgresql: {pg.resolve().describe()}"
    if _ci():
        line += "  [CI: PostgreSQL tests must run]"
    return line


_started: list[pg.Throwaway] = []
_postgres_passed = 0
_ci_failed_for_no_postgres = False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for cluster in _started:
        terminalreporter.write_line(f"postgresql: used {cluster.describe()}; removed")
    if _ci_failed_for_no_postgres:
        terminalreporter.write_sep(
            "!",
            "CI: no PostgreSQL test ran (no test marked 'postgres' passed); failing the run",
            red=True,
            bold=True,
        )


# --------------------------------------------------------------------------------------------
# Marking and CI enforcement


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if "postgres_url" in names or (
            "database_url" in names and params.get("database_url") == "postgres"
        ):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if _POSTGRES_SKIP.search(reason):
            report.outcome = "failed"
            report.longrepr = (
                f"CI=true: PostgreSQL tests must run, but this one was skipped: {reason}"
            )
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _ci_failed_for_no_postgres
    if not _ci() or session.config.option.collectonly:
        return
    if _postgres_passed == 0:
        _ci_failed_for_no_postgres = True
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --------------------------------------------------------------------------------------------
# Database fixtures


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL of the PostgreSQL server for this session (starting a throwaway one if
    that is what :func:`tests.pg.resolve` chose).  Skips if there is none."""
    choice = pg.resolve()
    if choice.kind in ("env", "local"):
        assert choice.url is not None
        yield choice.url
        return
    if choice.kind == "none":
        pytest.skip(choice.reason)
    assert choice.bindir is not None
    try:
        cluster = pg.start_throwaway(choice.bindir)
    except pg.ThrowawayError as exc:
        pytest.skip(f"could not start a throwaway PostgreSQL cluster: {exc}")
    _started.append(cluster)
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL with a fresh schema: ``postgresql://...?schema=t_<hex>``; dropped afterwards."""
    import psycopg
    from psycopg import sql

    conninfo, _ = pg.split_schema(postgres_server)
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    except psycopg.OperationalError as exc:
        pytest.fail(f"cannot use PostgreSQL at {pg.redact(conninfo)}: {exc}", pytrace=False)
    try:
        yield pg.with_schema(postgres_server, schema)
    finally:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
            # A test that leaks a connection holding locks would block the drop forever.
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per store; the postgres one only starts PG if run."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


# --------------------------------------------------------------------------------------------
# Time


FAKE_CLOCK_START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def fake_clock():
    """``ledger.clock.FakeClock`` starting at 2026-03-10 02:00 UTC (imported lazily)."""
    from ledger.clock import FakeClock

    return FakeClock(FAKE_CLOCK_START)
