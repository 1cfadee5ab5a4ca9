"""A short chaos run (bench/chaos.py): ``goldbean serve`` with 2 workers, a projector and
the run's own throwaway PostgreSQL cluster, a mixed workload over HTTP from 4 threads for
22 seconds, while a worker and the projector are SIGKILLed and PostgreSQL is restarted.
Every 2xx must be recorded exactly once, the books must balance, the read tables must
agree with a replay and the audit export must verify.

The run needs the PostgreSQL binaries (initdb, pg_ctl): restarting a server is only done
to a cluster of its own. Without them the test is skipped, which under CI=true fails
(tests/conftest.py), like every PostgreSQL test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests import pg

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ARGS = [
    "--duration", "22",
    "--drain", "6",
    "--retry-for", "6",
    "--max-requests", "6000",
    "--workers", "2",
    "--server-threads", "4",
    "--threads", "4",
    "--volunteers", "10",
    "--beneficiaries", "3",
    "--merchants", "4",
    "--fault-interval", "4",
    "--settle-every", "8",
    "--seed", "7",
]  # fmt: skip


@pytest.fixture
def chaos():
    if pg._flag(pg.ENV_NO_POSTGRES):
        pytest.skip(f"{pg.ENV_NO_POSTGRES} is set: PostgreSQL tests are disabled")
    if pg.find_bindir() is None:
        pytest.skip(
            "no PostgreSQL binaries (initdb, pg_ctl, postgres) for the chaos run's own "
            "throwaway PostgreSQL cluster: " + pg.NO_POSTGRES_REASON
        )
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import chaos
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return chaos


def test_a_short_chaos_run_loses_and_doubles_nothing(chaos, tmp_path):
    code = chaos.main([*ARGS, "--out", str(tmp_path)])
    if code == chaos.EXIT_NO_POSTGRES:
        pytest.skip("could not start a throwaway PostgreSQL cluster for the chaos run")
    result = json.loads((tmp_path / "chaos.json").read_text())

    assert result["anomalies"] == []
    assert code == 0
    faults = result["faults_by_kind"]
    assert faults.get("worker_kill", 0) >= 1
    assert faults.get("projector_kill", 0) >= 1
    assert faults.get("postgres_restart", 0) == 1
    checks = result["checks"]
    assert checks["projections_check_exit"] == 0
    assert (checks["audit_export_exit"], checks["audit_verify_exit"]) == (0, 0)
    assert checks["books"]["sum_of_balances"] == 0
    # The workload did move beans under the faults, and every 2xx was found in the log.
    calls = result["summary"]["calls"]
    assert calls["redeem"].get("201", 0) > 0 and calls["gift"].get("201", 0) > 0
    assert checks["requests"]["ok_recorded_once"] > 100
