"""The auditor finds tampering: ``goldbean audit export`` and ``goldbean audit verify``
on SQLite and on PostgreSQL, and ``goldbean projections check`` for the read tables.

A small community (tests/projection_helpers.tell_story: about ninety events over three
months that ended before this month, so most of its reports are final) is exported and
verified: all is well. Then someone changes the event table with SQL, behind the
ledger's back. The export takes its chain values from the ``audit`` projection's table,
which was computed before the tampering; the verifier recomputes the chain from the
events and names the first position where the two part:

* one event's state changed by one byte (a refund of 5 beans made 6): that position;
* one event deleted: the position just after the gap;
* the states of two events swapped: the first of them;
* the last event deleted: the chain alone cannot tell, the published reports do.

A figure changed in a published report (the reports the API serves, saved as
``YYYY-MM.json``) is named by its period and field, and a hand-edited row of a read table
(a balance, a chain value) is named by ``projections check`` until ``projections
rebuild``. Last, an export taken while another worker records events still verifies: it
holds the log up to where it started.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from api.app import create_app
from ledger.persistence import open_ledger
from projections import tables as t
from tests import pg
from tests.projection_helpers import cli, open_store, published_reports, runner_for, tell_story
from tests.scenario import Community

ZONE = ZoneInfo("Asia/Shanghai")


def first_of_months_ago(months: int) -> date:
    """The 1st of the local month ``months`` before this one (by the real clock: the
    export's ``exported_at`` is the real time, and so is the served reports' month)."""
    day = datetime.now(ZONE).date().replace(day=1)
    for _ in range(months):
        day = (day - timedelta(days=1)).replace(day=1)
    return day


class EventTable:
    """The ledger's event table, changed with SQL behind the ledger's back."""

    def __init__(self, url: str) -> None:
        self.url = url
        ledger = open_ledger(url, create_tables=False)
        try:
            self.name = ledger.recorder.events_table_name
        finally:
            ledger.close()

    def events(self) -> list[tuple[int, str, bytes]]:
        """(position, topic, state) of every event, in position order."""
        ledger = open_ledger(self.url, create_tables=False)
        try:
            found = ledger.recorder.select_notifications(start=1, limit=100_000)
            return [(n.id, n.topic, n.state) for n in found]
        finally:
            ledger.close()

    def _run(self, statement: str, *params: object) -> None:
        """``statement`` names the table ``{table}`` and the position ``{position}``."""
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(self.url[len("sqlite:///") :])
            try:
                with conn:
                    sql = statement.format(table=f'"{self.name}"', position="rowid")
                    assert conn.execute(sql.replace("%s", "?"), params).rowcount == 1
            finally:
                conn.close()
        else:
            import psycopg
            from psycopg import sql

            conninfo, schema = pg.split_schema(self.url)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                table = sql.Identifier(schema or "public", self.name).as_string(conn)
                text = statement.format(table=table, position="notification_id")
                assert conn.execute(text, params).rowcount == 1

    def set_state(self, position: int, state: bytes) -> None:
        self._run("UPDATE {table} SET state = %s WHERE {position} = %s", state, position)

    def delete(self, position: int) -> None:
        self._run("DELETE FROM {table} WHERE {position} = %s", position)


@dataclass
class Programme:
    url: str
    story: dict
    folder: Path

    def export(self, name: str = "export.jsonl") -> Path:
        path = self.folder / name
        code, out = cli("audit", "export", str(path), "--database-url", self.url)
        assert code == 0, out
        return path

    def verify(self, export: Path, reports: Path | None = None) -> tuple[int, str]:
        argv = ["audit", "verify", str(export), "--database-url", self.url]
        return cli(*argv, *(["--reports", str(reports)] if reports else []))

    def publish_reports(self, name: str = "reports", *, served: bool = False) -> Path:
        """Every monthly report, saved as ``YYYY-MM.json`` in a new folder: as the API
        serves them (GET /api/v1/public/fund-reports/...) if ``served``, else straight
        from the read tables (``queries.fund_report``, what the API serves)."""
        folder = self.folder / name
        folder.mkdir()
        reports = self._served_reports() if served else self._reports()
        for period, report in reports.items():
            (folder / f"{period}.json").write_text(
                json.dumps(report, ensure_ascii=False), encoding="utf-8"
            )
        return folder

    def _reports(self) -> dict[str, dict]:
        ledger, store = open_ledger(self.url, create_tables=False), open_store(self.url)
        try:
            runner_for(store, ledger).catch_up()
            return published_reports(store, ledger, ledger.now())
        finally:
            store.close()
            ledger.close()

    def _served_reports(self) -> dict[str, dict]:
        ledger = open_ledger(self.url, create_tables=False)
        with pytest.MonkeyPatch.context() as mp:
            for variable in [v for v in os.environ if v.startswith("GOLDBEAN_")]:
                mp.delenv(variable)
            app = create_app({"database_url": self.url, "demo": True}, ledger=ledger)
        try:
            client = app.test_client()
            listing = client.get("/api/v1/public/fund-reports")
            assert listing.status_code == 200, listing.get_data(as_text=True)
            reports = {}
            for item in listing.get_json()["items"]:
                answer = client.get(f"/api/v1/public/fund-reports/{item['period']}")
                assert answer.status_code == 200, answer.get_data(as_text=True)
                reports[item["period"]] = answer.get_json()
            return reports
        finally:
            app.extensions["goldbean.store"].close()
            ledger.close()


@pytest.fixture(params=["sqlite", "postgres"])
def programme(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Programme]:
    """The story, told from three months ago to last month, with its read tables."""
    url = request.getfixturevalue(f"{request.param}_url")
    first = first_of_months_ago(3)
    start = datetime(first.year, first.month, 1, tzinfo=ZONE).astimezone(UTC)
    community = Community.on(url, start=start)
    try:
        story = tell_story(community, first)
    finally:
        community.close()
    open_store(url).close()  # the read tables, as `goldbean db init` makes them
    yield Programme(url, story, tmp_path)


def chain_breaks_at(out: str) -> int:
    found = re.search(r"chain: MISMATCH: the chain breaks at position (\d+):", out)
    assert found, out
    return int(found.group(1))


# --- nothing changed ---------------------------------------------------------------------


def test_an_untouched_log_and_its_published_reports_verify(programme: Programme) -> None:
    """The reports as the API serves them (JSON over HTTP) agree with the verifier."""
    export = programme.export()
    reports = programme.publish_reports(served=True)
    assert sorted(p.stem for p in reports.iterdir()) == [*programme.story["months"], _this_month()]
    code, out = programme.verify(export, reports)
    assert code == 0, out
    assert "chain: ok" in out
    assert "reports: ok, 4 months match the published reports" in out
    final = json.loads((reports / f"{programme.story['months'][0]}.json").read_text("utf-8"))
    assert final["final"] is True and final["beans"]["refunded"] == 5


def _this_month() -> str:
    return datetime.now(ZONE).strftime("%Y-%m")


# --- the published reports ----------------------------------------------------------------


def test_a_changed_figure_in_a_published_report_is_named(programme: Programme) -> None:
    export = programme.export()
    reports = programme.publish_reports()
    period = programme.story["months"][0]
    file = reports / f"{period}.json"
    report = json.loads(file.read_text("utf-8"))
    redeemed = report["beans"]["redeemed"]
    report["beans"]["redeemed"] = redeemed + 1
    file.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")

    code, out = programme.verify(export, reports)
    assert code == 1, out
    assert "chain: ok" in out
    assert (
        f"reports: MISMATCH: {period} beans.redeemed: published {redeemed + 1}, "
        f"recomputed {redeemed}"
    ) in out
    assert "reports: 1 difference(s) in all" in out


# --- the event table changed behind the ledger's back --------------------------------------


def test_a_changed_byte_in_an_event_is_named_by_its_position(programme: Programme) -> None:
    programme.export("before.jsonl")  # the audit projection has chained every event
    reports = programme.publish_reports()
    table = EventTable(programme.url)
    refunds = [
        (position, state)
        for position, topic, state in table.events()
        if topic.endswith(":Volunteer.BeansCredited") and b'"flow":"refund"' in state
    ]
    assert len(refunds) == 1
    position, state = refunds[0]
    assert state.count(b'"amount":5,') == 1
    table.set_state(position, state.replace(b'"amount":5,', b'"amount":6,'))

    code, out = programme.verify(programme.export())
    assert code == 1, out
    assert chain_breaks_at(out) == position
    # The changed event also changes a figure: the verifier recomputes 6 refunded beans.
    code, out = programme.verify(programme.export(), reports)
    assert code == 1, out
    assert chain_breaks_at(out) == position
    period = programme.story["months"][0]
    assert f"reports: MISMATCH: {period} beans.refunded: published 5, recomputed 6" in out

    table.set_state(position, state)  # put back, the log verifies again
    code, out = programme.verify(programme.export(), reports)
    assert code == 0, out


def test_a_deleted_event_is_named_by_the_position_after_the_gap(programme: Programme) -> None:
    programme.export("before.jsonl")
    table = EventTable(programme.url)
    events = table.events()
    awards = [
        number
        for number, (_, topic, state) in enumerate(events)
        if topic.endswith(":Volunteer.BeansCredited") and b'"flow":"award"' in state
    ]
    number = awards[len(awards) // 2]
    removed, following = events[number][0], events[number + 1][0]
    table.delete(removed)

    code, out = programme.verify(programme.export())
    assert code == 1, out
    assert chain_breaks_at(out) == following
    assert f"events: {len(events) - 1}" in out


def test_swapped_events_are_named_by_the_first_of_them(programme: Programme) -> None:
    programme.export("before.jsonl")
    table = EventTable(programme.url)
    donations = [
        (position, state)
        for position, topic, state in table.events()
        if topic.endswith(":Donation.Received")
    ]
    (first, first_state), (second, second_state) = donations[:2]
    assert first < second and first_state != second_state
    table.set_state(first, second_state)
    table.set_state(second, first_state)

    code, out = programme.verify(programme.export())
    assert code == 1, out
    assert chain_breaks_at(out) == first


# --- the read tables ----------------------------------------------------------------------


def test_projections_check_names_a_hand_edited_row_until_rebuilt(programme: Programme) -> None:
    url = programme.url
    programme.export()  # catches the projections up
    code, out = cli("projections", "check", "--database-url", url)
    assert code == 0, out
    assert "Every read table agrees with a replay of the log" in out

    volunteer = programme.story["volunteers"][0]
    store = open_store(url)
    try:
        with store.write() as conn:
            conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == volunteer)
                .values(balance=t.accounts.c.balance + 1)
            )
    finally:
        store.close()
    code, out = cli("projections", "check", "--database-url", url)
    assert code == 1, out
    assert f"first: books: gb_proj_accounts [{volunteer}]: balance is" in out

    code, out = cli("projections", "rebuild", "--database-url", url)
    assert code == 0, out
    code, out = cli("projections", "check", "--database-url", url)
    assert code == 0, out


def test_a_hand_edited_chain_value_is_named_by_check_and_by_verify(programme: Programme) -> None:
    """The chain table is a read table too: changed there, it is named both ways."""
    url = programme.url
    export = programme.export()
    position = json.loads(export.read_text("utf-8").splitlines()[10])["position"]
    store = open_store(url)
    try:
        with store.write() as conn:
            conn.execute(
                update(t.chain).where(t.chain.c.position == position).values(chain="0" * 64)
            )
    finally:
        store.close()
    code, out = cli("projections", "check", "--database-url", url)
    assert code == 1, out
    assert f"first: audit: gb_proj_chain [{position}]: chain is '{'0' * 64}'" in out
    code, out = programme.verify(programme.export())
    assert code == 1, out
    assert chain_breaks_at(out) == position


# --- an export of a log that is being written to ---------------------------------------------


def test_an_export_taken_while_events_are_recorded_verifies(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker records a donation just after the export has caught the chain up
    (a live programme goes on while the auditor exports). Every line the export writes
    must carry its chain value, and the file must verify."""
    from projections.runner import Runner

    writer = Community.on(programme.url, start=datetime.now(UTC))
    caught_up = Runner.catch_up

    def catch_up_while_a_donation_comes_in(self: Runner, *args: object, **kwargs: object) -> int:
        count = caught_up(self, *args, **kwargs)
        writer.donate(10_000, receipt_no="R-LIVE")
        return count

    monkeypatch.setattr(Runner, "catch_up", catch_up_while_a_donation_comes_in)
    try:
        export = programme.export()
    finally:
        writer.close()
    lines = [json.loads(line) for line in export.read_text("utf-8").splitlines()[1:]]
    assert [line["position"] for line in lines if line["chain"] is None] == []
    code, out = programme.verify(export)
    assert code == 0, out


def test_a_deleted_last_event_is_named_by_the_published_reports(programme: Programme) -> None:
    """With nothing after it, a removed last event leaves every remaining line's chain
    intact: the chain alone cannot tell. The published reports can: their month's
    figures and ``chain_head`` were computed with it."""
    programme.export("before.jsonl")
    reports = programme.publish_reports()
    table = EventTable(programme.url)
    events = table.events()
    table.delete(events[-1][0])

    export = programme.export()
    code, out = programme.verify(export)
    assert code == 0 and "chain: ok" in out, out  # the limit of a bare chain
    code, out = programme.verify(export, reports)
    assert code == 1, out
    assert f"reports: MISMATCH: {programme.story['months'][-1]} " in out
