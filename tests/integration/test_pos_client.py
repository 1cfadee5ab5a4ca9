"""The POS client and ``goldbean-pos`` against a real HTTP server (the app served by
werkzeug in a thread, on an in-memory database with a fake clock).

The stories: a till redeems and refunds and reads its day; every refusal arrives as a
PosError with the server's code; an answer lost on the way back is fetched again with the
same Idempotency-Key and the beans move once; a till that died (or lost the network)
after sending settles its pending requests with ``resume``, never charging twice.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from merchant_pos.cli import main
from merchant_pos.client import PosClient, PosError, PosUnavailable
from merchant_pos.journal import Journal
from tests.live_server import LiveServer
from tests.scenario import Community

FAST = {"timeout": 5.0, "retries": 2, "backoff": 0.01}


# --- a live server, and things between it and the till -----------------------------------


class LossyProxy:
    """A TCP proxy to ``port`` that forwards every request, but for the first ``drop``
    connections cuts the till off (a reset) as soon as the server starts answering, so
    the server has done the work and the till never hears of it.

    ``requests`` and ``answers`` hold the raw bytes of each connection, dropped or not."""

    def __init__(self, port: int, drop: int = 1) -> None:
        self.port, self.drop = port, drop
        self.requests: list[bytes] = []
        self.answers: list[bytes] = []
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                till, _ = self.listener.accept()
            except OSError:
                return
            sent, answered = bytearray(), bytearray()
            with self._lock:
                dropping, self.drop = self.drop > 0, self.drop - 1
                self.requests.append(sent)
                self.answers.append(answered)
            relay = threading.Thread(target=self._relay, args=(till, dropping, sent, answered))
            relay.daemon = True
            relay.start()

    def _relay(
        self, till: socket.socket, dropping: bool, sent: bytearray, answered: bytearray
    ) -> None:
        with closing(till), closing(socket.create_connection(("127.0.0.1", self.port))) as server:
            up = threading.Thread(target=_pump, args=(till, server, sent), daemon=True)
            up.start()
            while chunk := _recv(server):
                answered += chunk
                if dropping and not _complete(answered):
                    continue  # read the whole answer, so that the test can see it
                if dropping:  # the answer is lost: reset the till's connection
                    till.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                till.sendall(chunk)
            till.shutdown(socket.SHUT_RD)  # wakes the pump; the close then sends a reset
            up.join(timeout=5)

    def keys(self) -> list[str]:
        return [_header(request, "Idempotency-Key") for request in self.requests]


def _pump(source: socket.socket, target: socket.socket, copy: bytearray) -> None:
    while chunk := _recv(source):
        copy += chunk
        try:
            target.sendall(chunk)
        except OSError:
            return
    try:
        target.shutdown(socket.SHUT_WR)
    except OSError:
        return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _complete(raw: bytes) -> bool:
    """Whether ``raw`` holds a whole HTTP answer (its headers and Content-Length bytes)."""
    head, found, body = bytes(raw).partition(b"\r\n\r\n")
    return bool(found) and len(body) >= int(_header(head + b"\r\n", "Content-Length") or 0)


def _header(raw: bytes, name: str) -> str:
    found = re.search(rb"(?im)^" + name.encode() + rb":[ \t]*(\S+)\r$", raw)
    return found.group(1).decode() if found else ""


def _body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


def unused_port() -> int:
    with closing(socket.create_server(("127.0.0.1", 0))) as probe:
        return probe.getsockname()[1]


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def server():
    server = LiveServer()
    yield server
    server.close()


@pytest.fixture
def community(server):
    return server.community


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


@pytest.fixture
def token(server, shop):
    return server.terminal(shop)


@pytest.fixture
def li(community):
    """A volunteer who earned 30 beans."""
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    return li


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture
def till(server, token, journal):
    return PosClient(server.url, token, journal=journal, **FAST)


@pytest.fixture
def proxies():
    made: list[LossyProxy] = []

    def make(port: int, drop: int = 1) -> LossyProxy:
        made.append(LossyProxy(port, drop))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def code_of(community: Community, volunteer: str) -> str:
    """A fresh payment code (a second later than the last one, so never the same code)."""
    community.advance(seconds=1)
    return community.payment_code(volunteer)


# --- redeem, refund, today --------------------------------------------------------------


def test_a_till_redeems_and_refunds_through_the_client(community, till, journal, shop, li):
    assert till.me()["merchant_id"] == shop

    receipt = till.redeem(code_of(community, li), 7, note="two bowls of noodles")
    assert receipt == {
        "id": receipt["id"],
        "payer_id": li,
        "merchant_id": shop,
        "amount": 7,
        "at": receipt["at"],
    }
    assert community.balance(li) == 23 and community.balance(shop) == 7

    refund = till.refund(receipt["id"], 2)
    assert refund == {"id": refund["id"], "redemption_id": receipt["id"], "amount": 2}
    assert community.balance(li) == 25 and community.balance(shop) == 5

    entries = journal.entries()
    assert [(entry.state, entry.status, entry.path) for entry in entries] == [
        ("done", 201, "/api/v1/redemptions"),
        ("done", 201, f"/api/v1/redemptions/{receipt['id']}/refunds"),
    ]
    assert entries[0].response == receipt and journal.pending() == []
    community.check_books()


def test_today_totals_the_days_redemptions(community, till, li):
    assert till.today() == {
        "items": [], "total": 0, "count": 0, "refunded": 0, "next_cursor": None
    }  # fmt: skip
    first = till.redeem(code_of(community, li), 7)
    second = till.redeem(code_of(community, li), 5)
    till.refund(first["id"], 2)

    day = till.today()
    assert day["total"] == 12  # redeemed that day, before refunds
    assert [(item["id"], item["amount"], item["refunded"]) for item in day["items"]] == [
        (second["id"], 5, 0),
        (first["id"], 7, 2),
    ]
    assert till.today(date=community.today.isoformat()) == day
    assert (day["count"], day["refunded"]) == (2, 2)
    assert till.today(date="2026-03-09")["items"] == []


def test_every_refusal_is_a_pos_error_with_the_servers_code(
    server, community, till, journal, shop, li
):
    def refusal(call, *args, **kwargs) -> tuple[int, str]:
        with pytest.raises(PosError) as refused:
            call(*args, **kwargs)
        error = refused.value
        assert error.code in str(error) and error.detail
        return error.status, error.code

    assert refusal(till.redeem, code_of(community, li), 31) == (409, "insufficient_balance")
    assert refusal(till.redeem, "1234", 5) == (422, "invalid_code")
    used = code_of(community, li)
    till.redeem(used, 1)
    assert refusal(till.redeem, used, 1) == (409, "code_used")
    stale = code_of(community, li)
    community.advance(seconds=61)
    assert refusal(till.redeem, stale, 1) == (422, "code_expired")

    ming = community.beneficiary("Wang Ming")
    card = community.card(ming, pin="4321")
    assert refusal(till.redeem, card, 1, pin="0000") == (422, "wrong_pin")
    community.card(ming)  # reissued
    assert refusal(till.redeem, card, 1) == (422, "card_revoked")

    receipt = till.redeem(code_of(community, li), 3)
    assert refusal(till.refund, receipt["id"], 4) == (422, "refund_exceeds_redemption")
    assert refusal(till.refund, "no-such-receipt", 1) == (404, "not_found")
    assert refusal(till.redeem, code_of(community, li), 0) == (422, "validation_error")

    stranger = PosClient(server.url, "not-a-token", journal=journal, **FAST)
    assert refusal(stranger.redeem, code_of(community, li), 1) == (401, "unauthenticated")
    assert refusal(stranger.today) == (401, "unauthenticated")

    states = [entry.state for entry in journal.entries()]
    assert states.count("done") == 2 and "pending" not in states
    assert community.balance(li) == 26  # 30 - 1 - 3


# --- the answer is lost: the same request again, never a second charge -------------------


def test_a_lost_answer_is_fetched_again_with_the_same_key_and_charged_once(
    server, proxies, token, journal, community, shop, li
):
    proxy = proxies(server.http.server_port, drop=1)
    till = PosClient(proxy.url, token, journal=journal, **FAST)

    receipt = till.redeem(code_of(community, li), 7)

    assert len(proxy.requests) == 2  # the first answer was lost on the way back
    first, second = proxy.requests
    assert proxy.keys()[0] == proxy.keys()[1] == journal.entries()[0].key
    assert _body(first) == _body(second) == journal.entries()[0].body.encode()
    assert _header(proxy.answers[1], "Idempotent-Replayed") == "true"
    assert json.loads(_body(proxy.answers[0])) == receipt  # what the server first said
    assert till.last_answer.replayed and till.last_answer.attempts == 2

    assert community.balance(li) == 23 and community.balance(shop) == 7  # moved once
    assert [entry.state for entry in journal.entries()] == ["done"]
    community.check_books()


def test_a_till_that_never_heard_back_resumes_its_pending_request_once(
    server, proxies, token, journal, community, shop, li
):
    proxy = proxies(server.http.server_port, drop=99)  # every answer is lost
    lost = PosClient(proxy.url, token, journal=journal, **FAST)

    with pytest.raises(PosUnavailable) as unreachable:
        lost.redeem(code_of(community, li), 7)

    (pending,) = journal.pending()
    assert unreachable.value.key == pending.key and len(proxy.requests) == 3
    assert community.balance(li) == 23  # the server did it, the till does not know

    # The till restarts (a new client, the same journal) and the network is back.
    again = PosClient(server.url, token, journal=Journal(journal.path), **FAST)
    (settled,) = again.resume()

    first_answer = json.loads(_body(proxy.answers[0]))
    assert (settled.key, settled.state, settled.status) == (pending.key, "done", 201)
    assert settled.response == first_answer  # the original receipt, replayed
    assert again.last_answer.replayed
    assert journal.pending() == [] and again.resume() == []
    assert community.balance(li) == 23 and community.balance(shop) == 7  # still once
    community.check_books()


def test_a_till_that_died_before_sending_resumes_and_the_sale_happens_once(
    server, token, journal, community, shop, li
):
    body = json.dumps({"code": code_of(community, li), "amount": 5})
    crashed = journal.begin("POST", "/api/v1/redemptions", body)  # fsynced, then the crash

    till = PosClient(server.url, token, journal=journal, **FAST)
    (settled,) = till.resume()
    assert (settled.key, settled.state, settled.status) == (crashed.key, "done", 201)
    assert not till.last_answer.replayed  # it had never reached the server
    assert till.resume() == []
    assert community.balance(li) == 25 and community.balance(shop) == 5


def test_a_resumed_request_that_is_refused_is_recorded_as_failed(
    server, token, journal, community, li
):
    body = json.dumps({"code": code_of(community, li), "amount": 500})
    journal.begin("POST", "/api/v1/redemptions", body)
    till = PosClient(server.url, token, journal=journal, **FAST)

    (settled,) = till.resume()
    assert (settled.state, settled.status) == ("failed", 409)
    assert settled.response["code"] == "insufficient_balance"
    assert journal.pending() == []


# --- retries on 5xx and conflict, against a stub -------------------------------------------


class Stub:
    """An HTTP server that answers POSTs with ``script`` (status, body) in turn."""

    def __init__(self, script: list[tuple[int, dict, dict]]) -> None:
        self.script, self.seen = list(script), []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.seen.append((self.headers["Idempotency-Key"], body))
                status, answer, headers = stub.script.pop(0)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                kind = "application/problem+json" if status >= 400 else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def problem(status: int, code: str) -> dict:
    return {"type": "about:blank", "title": code, "status": status, "code": code, "detail": code}


def test_a_5xx_or_a_conflict_is_retried_with_the_same_key_and_body(journal):
    receipt = {"id": "r-1", "payer_id": "p", "merchant_id": "m", "amount": 7, "at": "x"}
    stub = Stub(
        [
            (503, problem(503, "unavailable"), {}),
            (409, problem(409, "conflict"), {}),
            (201, receipt, {}),
        ]
    )
    try:
        till = PosClient(stub.url, "t", journal=journal, **FAST)
        assert till.redeem("483920175532", 7) == receipt
    finally:
        stub.close()
    assert len({key for key, _ in stub.seen}) == 1 and len({body for _, body in stub.seen}) == 1
    assert [entry.state for entry in journal.entries()] == ["done"]


def test_a_replayed_conflict_is_final_and_retries_are_bounded(journal):
    replayed = {"Idempotent-Replayed": "true"}
    stub = Stub([(409, problem(409, "conflict"), replayed)] + [(500, problem(500, "x"), {})] * 3)
    try:
        till = PosClient(stub.url, "t", journal=journal, **FAST)
        with pytest.raises(PosError, match="conflict"):
            till.redeem("483920175532", 7)  # the server keeps that answer: do not loop
        with pytest.raises(PosUnavailable):
            till.redeem("483920175532", 7)  # 500, then 2 retries
    finally:
        stub.close()
    assert len(stub.seen) == 4
    assert [entry.state for entry in journal.entries()] == ["failed", "pending"]


# --- goldbean-pos -----------------------------------------------------------------------


def test_the_command_line_redeems_and_resumes_what_the_network_lost(
    server, token, tmp_path, community, shop, li, capsys
):
    journal = str(tmp_path / "cli.jsonl")
    live = ["--server", server.url, "--token", token, "--journal", journal, "--retries", "1"]
    down = ["--server", f"http://127.0.0.1:{unused_port()}", *live[2:]]

    assert main([*live, "redeem", code_of(community, li), "7", "--note", "noodles"]) == 0
    out = capsys.readouterr().out
    assert "已收款 Paid: 7 beans — receipt " in out

    used = code_of(community, li)
    assert main([*live, "redeem", used, "2"]) == 0
    assert main([*live, "redeem", used, "2"]) == 1
    assert "code_used" in capsys.readouterr().err

    assert main([*down, "redeem", code_of(community, li), "5"]) == 3
    err = capsys.readouterr().err
    assert "goldbean-pos resume" in err and "pending" in err
    assert community.balance(li) == 21  # 30 - 7 - 2: the third never arrived

    assert main(["--journal", journal, "pending"]) == 0
    out = capsys.readouterr().out
    assert "待确认 Pending: 1" in out and "amount 5" in out
    assert main(["--journal", journal, "--json", "pending"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["state"] == "pending" and listed["request"] == {"amount": 5}

    assert main([*down, "resume"]) == 3  # still down: still pending
    capsys.readouterr()
    assert main([*live, "resume"]) == 0
    assert "已完成 Done" in capsys.readouterr().out
    assert main([*live, "resume"]) == 0
    assert "Nothing to resume" in capsys.readouterr().out
    assert main(["--journal", journal, "pending"]) == 0
    assert "Nothing pending" in capsys.readouterr().out
    assert community.balance(li) == 16 and community.balance(shop) == 14


def test_the_command_line_shows_today_and_refunds_in_json(
    server, token, tmp_path, community, li, capsys
):
    live = ["--server", server.url, "--token", token, "--journal", str(tmp_path / "j.jsonl")]
    assert main([*live, "redeem", code_of(community, li), "7", "--json"]) == 0
    receipt = json.loads(capsys.readouterr().out)
    assert main([*live, "--json", "refund", receipt["id"], "3"]) == 0
    assert json.loads(capsys.readouterr().out)["amount"] == 3

    assert main([*live, "today"]) == 0
    out = capsys.readouterr().out
    assert "今日收款 Today's redemptions: 1 — 合计 total 7 beans, 已退 refunded 3" in out
    assert main([*live, "today", "--date", "2026-03-09", "--json"]) == 0
    quiet = json.loads(capsys.readouterr().out)
    assert (quiet["items"], quiet["total"], quiet["count"], quiet["refunded"]) == ([], 0, 0, 0)

    assert main([*live, "refund", receipt["id"], "5", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "refund_exceeds_redemption"


def test_the_command_line_refuses_bad_usage(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("GOLDBEAN_POS_TOKEN", raising=False)
    journal = ["--journal", str(tmp_path / "j.jsonl")]
    assert main([*journal, "redeem", "483920175532", "7"]) == 2  # no token
    assert main([*journal, "--token", "t", "redeem", "483920175532", "seven"]) == 2
    assert main([*journal, "--token", "t", "redeem", "483920175532", "0"]) == 2
    assert main([*journal, "--token", "t", "today", "--date", "10/03/2026"]) == 2
    assert main([*journal, "--token", "t", "--server", "ftp://x", "today"]) == 2
    assert main([]) == 2
    assert "usage: goldbean-pos" in capsys.readouterr().err
    assert not (tmp_path / "j.jsonl").exists()
