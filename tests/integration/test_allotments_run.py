"""``goldbean allotments run`` (issue 18): what a systemd timer or cron calls. Twice in a
month it grants once; a beneficiary who joins during the month gets that month's
allotment at the next run; the run is recorded as by the scheduler and is bounded by the
rule amount, so the four-eyes threshold for coordinators' batches does not stop it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import FourEyesRequired, PeriodNotOpen
from ledger.ids import derived_id
from ledger.records import Allotment
from ledger.rules import Rules
from ledger.views import Actor
from tests.projection_helpers import cli
from tests.scenario import Community


def period_now() -> str:
    """The current month in Shanghai, as the command (on the system clock) sees it."""
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def test_twice_in_a_month_grants_once_and_a_newcomer_gets_the_month_at_the_next_run(sqlite_url):
    community = Community.on(sqlite_url)
    elders = [community.beneficiary(name) for name in ("王奶奶", "李爷爷", "赵奶奶")]
    community.close()

    first = cli("allotments", "run", "--database-url", sqlite_url)
    assert first[0] == 0, first[1]
    assert f"Allotments for {period_now()}: 3 beneficiaries granted 300 beans" in first[1]
    again = cli("allotments", "run", "--database-url", sqlite_url)
    assert again[0] == 0 and "0 beneficiaries granted 0 beans; 3 already had it" in again[1]

    community = Community.on(sqlite_url)
    newcomer = community.beneficiary("孙奶奶")  # joins during the month
    community.close()
    third = cli("allotments", "run", "--database-url", sqlite_url)
    assert "1 beneficiaries granted 100 beans" in third[1]

    community = Community.on(sqlite_url)
    try:
        assert [community.balance(b) for b in [*elders, newcomer]] == [100, 100, 100, 100]
        record = community.ledger.find(derived_id("allotment", newcomer, period_now()), Allotment)
        assert record is not None and record.by == "(scheduler)"
    finally:
        community.close()


def test_a_closed_month_is_refused_in_one_line(sqlite_url):
    Community.on(sqlite_url).close()
    code, out = cli("allotments", "run", "--period", "2020-01", "--database-url", sqlite_url)
    assert code == 1 and "closed" in out and "Traceback" not in out


def test_the_scheduled_run_passes_the_coordinators_threshold_bounded_by_the_rule():
    community = Community.in_memory(rules=Rules(allotment_batch_approval_above=150))
    try:
        ledger = community.ledger
        elders = [community.beneficiary(name) for name in ("王奶奶", "李爷爷")]
        period = ledger.calendar.period(community.now)
        with pytest.raises(FourEyesRequired):  # a coordinator alone: 200 > 150
            ledger.grant_allotments(period, Actor("coord-1"))
        run = ledger.run_scheduled_allotments()
        assert (run.period, run.granted, run.total) == (period, 2, 200)
        assert [community.balance(e) for e in elders] == [100, 100]
        with pytest.raises(PeriodNotOpen):
            ledger.run_scheduled_allotments("2026-04")  # not begun
    finally:
        community.close()
