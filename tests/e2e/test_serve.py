"""``goldbean serve`` for real: a gunicorn master and workers on a port of this machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

GOLDBEAN = str(Path(sys.executable).with_name("goldbean"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(
    url: str, body: dict | None = None, token: str | None = None, key: str | None = None
) -> tuple[int, dict]:
    """One HTTP request; (status, JSON body) whatever the status."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@contextmanager
def running_server(database_url: str, env: dict[str, str], *args: str) -> Iterator[str]:
    """``goldbean serve`` on a free port until the block ends; yields its base URL."""
    port = free_port()
    # The server's log goes to a file: a pipe nobody reads would block the server once
    # full, and one left open is an unclosed file when the test ends.
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen(
        [GOLDBEAN, "serve", "--port", str(port), "--database-url", database_url, *args],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call(base + "/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            process.kill()
            process.wait(timeout=20)
            log.seek(0)
            pytest.fail("the server did not become ready:\n" + log.read())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path}/goldbean.sqlite3"
    with running_server(url, {"GOLDBEAN_DEMO": "1"}, "--workers", "2") as base:
        yield base


def test_the_demo_server_answers_sign_ins_from_every_worker(server):
    status, signed = call(
        server + "/api/v1/auth/token", {"username": "volunteer", "password": "goldbean-demo"}
    )
    assert status == 200 and signed["role"] == "volunteer"
    # Several calls spread over both workers: the token works at each of them.
    for _ in range(10):
        status, me = call(server + "/api/v1/me", token=signed["token"])
        assert status == 200 and me["account_id"] == signed["account_id"]
    status, problem = call(
        server + "/api/v1/auth/token", {"username": "volunteer", "password": "wrong"}
    )
    assert status == 401 and problem["code"] == "unauthenticated"


def test_serving_memory_is_refused_with_one_line():
    done = subprocess.run(
        [GOLDBEAN, "serve", "--database-url", "memory://"],
        env={**os.environ, "GOLDBEAN_DEMO": "1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "memory://" in done.stderr and "Traceback" not in done.stderr


def test_anyone_verifies_the_demo_communitys_published_log_from_its_address(tmp_path):
    """``goldbean audit verify https://site``: the public export and reports downloaded
    without credentials, the chain and every month recomputed and compared; and the
    export names nobody the demo made up (issue 15)."""
    from ledger.persistence import open_ledger

    url = f"sqlite:///{tmp_path}/goldbean.sqlite3"
    with running_server(url, {"GOLDBEAN_DEMO": "1"}, "--workers", "2") as base:
        done = subprocess.run(
            [GOLDBEAN, "audit", "verify", base],
            env={k: v for k, v in os.environ.items() if not k.startswith("GOLDBEAN_")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        with urllib.request.urlopen(base + "/api/v1/public/audit/export", timeout=60) as answer:
            export = answer.read().decode("utf-8")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain: ok" in done.stdout and "reports: ok" in done.stdout, done.stdout
    ledger = open_ledger(url)
    try:
        people = ledger.personal.get_many(
            ledger.index.ids_of("volunteer") + ledger.index.ids_of("beneficiary")
        )
    finally:
        ledger.close()
    assert len(people) >= 50  # the demo's volunteers and beneficiaries
    values = {v for found in people.values() for v in found.values() if len(v) >= 4}
    assert not [value for value in values if value in export]
