"""The till's journal: every request that moves beans is written (and fsynced) before it
is sent, its answer after; a crash that tears the last line loses nothing else."""

from __future__ import annotations

import json
import logging

import pytest

from merchant_pos.journal import Entry, Journal, default_path

BODY = '{"code":"483920175532","amount":7}'


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "pos" / "journal.jsonl")


def test_a_request_is_pending_until_its_answer_is_recorded(journal):
    entry = journal.begin("POST", "/api/v1/redemptions", BODY)
    assert journal.pending() == [entry]
    assert entry.state == "pending" and len(entry.key) == 32  # uuid4 hex

    receipt = {"id": "r-1", "amount": 7}
    done = journal.settle(entry, "done", 201, receipt)

    assert journal.pending() == []
    assert journal.entries() == [done]
    assert (done.key, done.body, done.status, done.response) == (entry.key, BODY, 201, receipt)


def test_the_file_holds_one_readable_json_line_per_event(journal):
    entry = journal.begin("POST", "/api/v1/redemptions", BODY, key="k1", caller="c0ffee")
    journal.settle(entry, "failed", 409, {"code": "code_used"})

    lines = journal.path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [event["state"] for event in events] == ["pending", "failed"]
    assert events[0] == {
        "key": "k1",
        "at": events[0]["at"],
        "method": "POST",
        "path": "/api/v1/redemptions",
        "body": BODY,  # the exact bytes sent, so a resend is byte-for-byte the same
        "state": "pending",
        "caller": "c0ffee",
    }
    assert events[1]["status"] == 409 and events[1]["response"] == {"code": "code_used"}


def test_entries_keep_the_order_requests_were_begun_in(journal):
    first = journal.begin("POST", "/api/v1/redemptions", BODY)
    second = journal.begin("POST", "/api/v1/redemptions/r-1/refunds", '{"amount":2}')
    journal.settle(first, "done", 201, {"id": "r-1"})

    assert [entry.key for entry in journal.entries()] == [first.key, second.key]
    assert [entry.state for entry in journal.entries()] == ["done", "pending"]
    assert journal.pending() == [second]


def test_a_torn_last_line_is_skipped_with_a_warning(journal, caplog):
    kept = journal.begin("POST", "/api/v1/redemptions", BODY)
    with journal.path.open("ab") as file:  # the till died halfway through a write
        file.write(b'{"key": "half", "at": "2026-03-10T02:00:01+00:00", "meth')

    with caplog.at_level(logging.WARNING, logger="merchant_pos.journal"):
        assert journal.pending() == [kept]
    assert "unreadable line 2" in caplog.text


def test_writing_after_a_torn_line_starts_a_fresh_line(journal, caplog):
    kept = journal.begin("POST", "/api/v1/redemptions", BODY)
    with journal.path.open("ab") as file:
        file.write('{"key": "half", "body": "半'.encode()[:-1])  # torn inside a character

    later = journal.begin("POST", "/api/v1/redemptions", BODY)
    journal.settle(kept, "done", 201, {"id": "r-1"})

    with caplog.at_level(logging.WARNING):
        assert journal.pending() == [later]
        assert [entry.state for entry in journal.entries()] == ["done", "pending"]
    assert caplog.text.count("unreadable line") == 2  # the torn line only, read twice


def test_a_journal_that_does_not_exist_yet_is_empty(journal):
    assert journal.entries() == [] and journal.pending() == []
    assert not journal.path.exists()


def test_lines_that_are_not_entries_are_skipped(journal, caplog):
    journal.path.parent.mkdir(parents=True)
    journal.path.write_text('[1, 2]\n{"key": "k", "state": "lost"}\n\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert journal.entries() == []
    assert caplog.text.count("unreadable line") == 2


def test_an_entry_round_trips_through_its_line():
    entry = Entry("k", "2026-03-10T02:00:00+00:00", "POST", "/p", BODY, "done", 201, {"id": "李"})
    line = entry.to_line()
    assert line.endswith("\n") and line.count("\n") == 1
    assert Entry.from_line(line) == entry


def test_the_default_location_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_path() == tmp_path / "state" / "goldbean-pos" / "journal.jsonl"

    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the spec says absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "state" / "goldbean-pos" / "journal.jsonl"
    assert default_path() == expected
    assert Journal().path == expected
