"""The notices' outbox against a real HTTP receiver (a thread running http.server): each
notice is posted once with an id the receiver can de-duplicate on, failures are retried
with exponential backoff, a crash between the post and the mark posts the same id again,
a rebuilt projection sends nothing twice, old notices expire, and a phone number goes out
only when the community said so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from api.context import make_runner
from api.notify import Outbox, Webhook
from api.store import Store
from projections import tables as t
from tests.scenario import Community


class Receiver:
    """A gateway on localhost: it answers the next statuses it is given (then 200) and
    keeps every body and ``Idempotency-Key`` it got."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                receiver.keys.append(self.headers["Idempotency-Key"])
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"

    def ids(self) -> list[str]:
        return [body["id"] for body in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Community, Store]]:
    url = request.getfixturevalue(f"{request.param}_url")
    community = Community.on(url)
    store = Store(url)
    store.create_tables()
    yield community, store
    store.close()
    community.close()


def outbox(world, url: str, clock: Clock, **options: Any) -> Outbox:
    community, store = world
    make_runner(store, community.ledger).catch_up()
    return Outbox(store, Webhook(url, timeout=5), community.ledger.personal, clock=clock, **options)


def rejected_report(community: Community) -> tuple[str, str]:
    li = community.volunteer("Li Wei")
    incident = community.ledger.submit_incident(li, "other", "a loud dog")
    community.ledger.reject_incident(incident.id, community.coordinator, "Not an incident")
    return li, incident.id


def statuses(store: Store) -> list[tuple[str, int]]:
    o = t.notice_outbox.c
    with store.read() as conn:
        return [(r.status, r.attempts) for r in conn.execute(select(o.status, o.attempts))]


def test_a_notice_is_posted_once_as_json_with_its_id_and_words(world, receiver) -> None:
    community, store = world
    li, incident_id = rejected_report(community)
    clock = Clock(community.now)
    box = outbox(world, receiver.url, clock)
    assert box.deliver_due().delivered == 1
    assert box.deliver_due().delivered == 0, "a delivered notice is never sent again"
    (body,) = receiver.bodies
    assert receiver.keys == [body["id"]]
    assert body["kind"] == "report_rejected"
    assert body["recipient"] == {"id": li, "kind": "volunteer"}, "no phone unless configured"
    assert body["subject_id"] == incident_id
    assert body["data"] == {"category": "other", "reason": "Not an incident"}
    assert "Not an incident" in body["text"] and "未通过" in body["text"]
    assert statuses(store) == [("delivered", 1)]


def test_failures_are_retried_with_exponential_backoff(world, receiver) -> None:
    community, store = world
    rejected_report(community)
    clock = Clock(community.now)
    box = outbox(world, receiver.url, clock, base_delay=timedelta(seconds=30))
    receiver.statuses = [500, 503, 429]
    assert box.deliver_due().failed == 1
    assert box.deliver_due().failed == 0, "not due again before its wait"
    clock.now += timedelta(seconds=30)
    assert box.deliver_due().failed == 1
    clock.now += timedelta(seconds=59)
    assert box.deliver_due().failed == 0, "the second wait is twice the first"
    clock.now += timedelta(seconds=1)
    assert box.deliver_due().failed == 1
    clock.now += timedelta(seconds=120)
    assert box.deliver_due().delivered == 1
    assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 4, "one id every time"
    assert statuses(store) == [("delivered", 4)]


def test_an_unreachable_gateway_counts_as_a_failure(world, receiver) -> None:
    community, store = world
    rejected_report(community)
    clock = Clock(community.now)
    receiver.close()
    box = outbox(world, receiver.url, clock)
    assert box.deliver_due().failed == 1
    assert statuses(store) == [("pending", 1)]


def test_a_crash_between_post_and_mark_posts_the_same_id_again(world, receiver) -> None:
    community, store = world
    rejected_report(community)
    clock = Clock(community.now)
    box = outbox(world, receiver.url, clock, lease=timedelta(minutes=2))

    def crash(row: dict[str, Any]) -> None:
        raise SystemExit("killed after the post")

    box._delivered = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        box.deliver_due()
    assert len(receiver.bodies) == 1
    fresh = outbox(world, receiver.url, clock, lease=timedelta(minutes=2))
    assert fresh.deliver_due().delivered == 0, "its lease holds it a while"
    clock.now += timedelta(minutes=2)
    assert fresh.deliver_due().delivered == 1
    assert receiver.ids()[0] == receiver.ids()[1], "the receiver can tell it is the same"


def test_a_rebuilt_projection_sends_nothing_again(world, receiver) -> None:
    community, store = world
    li, _ = rejected_report(community)
    clock = Clock(community.now)
    assert outbox(world, receiver.url, clock).deliver_due().delivered == 1
    make_runner(store, community.ledger).rebuild()
    community.earn(li, 3)  # one new notice
    box = outbox(world, receiver.url, clock)
    assert box.deliver_due().delivered == 1
    assert [b["kind"] for b in receiver.bodies] == ["report_rejected", "report_verified"]


def test_old_notices_expire_instead_of_being_sent(world, receiver) -> None:
    community, store = world
    rejected_report(community)
    clock = Clock(community.now + timedelta(hours=73))
    box = outbox(world, receiver.url, clock, max_age=timedelta(hours=72))
    rounds = box.deliver_due()
    assert (rounds.delivered, rounds.expired) == (0, 1)
    assert receiver.bodies == []
    assert box.counts() == {"pending": 0, "delivered": 0, "expired": 1}


def test_the_phone_goes_out_only_when_the_community_configured_it(world, receiver) -> None:
    community, store = world
    li, _ = rejected_report(community)
    community.ledger.personal.put(li, {"display_name": "Li Wei", "phone": "13800138000"})
    clock = Clock(community.now)
    outbox(world, receiver.url, clock, include_phone=True).deliver_due()
    assert receiver.bodies[0]["recipient"]["phone"] == "13800138000"
    log = community.ledger.recorder.select_notifications(start=0, limit=10_000)
    assert not any(b"13800138000" in n.state for n in log), "never in the event log"


def test_goldbean_notify_run_once_and_status(sqlite_url, receiver, monkeypatch) -> None:
    """The command line: a round that posts what is due, and the counts."""
    import contextlib
    import io
    import os
    from datetime import UTC

    from api.cli import main

    community = Community.on(sqlite_url, start=datetime.now(UTC))
    try:
        rejected_report(community)
        store = Store(sqlite_url)
        store.create_tables()
        make_runner(store, community.ledger).catch_up()
        store.close()
    finally:
        community.close()

    def goldbean(*argv: str, **env: str) -> tuple[int, str]:
        for name in [n for n in os.environ if n.startswith("GOLDBEAN_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main([*argv, "--database-url", sqlite_url])
        return code, out.getvalue()

    code, said = goldbean("notify", "run", "--once")
    assert code == 1 and "GOLDBEAN_NOTIFY_WEBHOOK" in said, said
    code, said = goldbean("notify", "run", "--once", GOLDBEAN_NOTIFY_WEBHOOK=receiver.url)
    assert code == 0 and "Delivered 1," in said, said
    assert [b["kind"] for b in receiver.bodies] == ["report_rejected"]
    code, said = goldbean("notify", "status")
    assert code == 0 and "pending 0  delivered 1  expired 0" in said, said
