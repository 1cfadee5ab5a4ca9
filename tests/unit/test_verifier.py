"""The auditor's independent verifier (projections/verifier.py, docs/REPORTS.md).

A worked community tells a small story: in March 2026 two donations, an incident and an
activity awarded, an allotment, two redemptions and a refund, two gifts, a pool
allocation and a correction; in April a settlement prepared, approved and paid; nothing
in May; a donation in June, when the log is exported. Its figures below are worked out by
hand. The export is written here in the format of REPORTS.md, its chain computed with the
verifier's own chain_step (checked separately against the formula).
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from projections.verifier import (
    GENESIS,
    NAMED_DONOR,
    VerifyError,
    chain_step,
    compare_reports,
    compute_reports,
    load_published,
    read_export,
    verify,
    verify_chain,
)
from tests.scenario import Community

# Local midnight of the 1st of the month, in UTC (Shanghai is UTC+8).
END_OF_MARCH = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
END_OF_APRIL = datetime(2026, 4, 30, 16, 0, tzinfo=UTC)
END_OF_MAY = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
PERSON_NAMES = ("李伟", "张敏", "王奶奶")


# --- writing an export -----------------------------------------------------------------


def export_lines(community: Community) -> list[dict]:
    """Every stored event of the ledger as an export line, with its chain."""
    previous, lines = GENESIS, []
    for n in community.ledger.recorder.select_notifications(start=1, limit=100_000):
        previous = chain_step(
            previous, n.id, str(n.originator_id), n.originator_version, n.topic, n.state
        )
        lines.append(
            {
                "position": n.id,
                "originator_id": str(n.originator_id),
                "version": n.originator_version,
                "topic": n.topic,
                "state": n.state.decode("utf-8"),
                "chain": previous.hex(),
            }
        )
    return lines


def header_for(lines: list[dict], exported_at: datetime) -> dict:
    return {
        "format": "goldbean-audit-export",
        "version": 1,
        "time_zone": "Asia/Shanghai",
        "bean_value_fen": 100,
        "exported_at": exported_at.isoformat(),
        "events": len(lines),
    }


def write_export(path: Path, header: dict, lines: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for value in [header, *lines]:
            file.write(json.dumps(value, ensure_ascii=False) + "\n")
    return path


def timestamp_of(line: dict) -> datetime:
    return datetime.fromisoformat(json.loads(line["state"])["timestamp"]["_data_"])


# --- the worked community --------------------------------------------------------------


@dataclass
class Worked:
    community: Community
    header: dict
    lines: list[dict]
    reports: dict[str, dict]
    path: Path


def tell_the_story() -> Community:
    community = Community.in_memory()  # Tuesday 2026-03-10 10:00 in Shanghai time
    ledger, coordinator = community.ledger, community.coordinator
    shop = community.merchant("社区便利店")  # rebate 1000 bps
    li, zhang = community.volunteer("李伟"), community.volunteer("张敏")
    wang = community.beneficiary("王奶奶")

    # Donations: 100 000 fen received in February but recorded now, 50 000 anonymous.
    ledger.record_donation(
        donor="金沙社区居民", anonymous=False, amount_fen=100_000,
        received_on=date(2026, 2, 27), receipt_no="R-001", by=community.officer,
    )  # fmt: skip
    ledger.record_donation(
        donor=None, anonymous=True, amount_fen=50_000,
        received_on=date(2026, 3, 10), receipt_no="R-002", by=community.officer,
    )  # fmt: skip
    # Awards: an incident worth 30 to Li, an activity worth 8 to Li and Zhang.
    incident = ledger.submit_incident(li, "fire", "smoke in the stairwell")
    ledger.verify_incident(incident.id, coordinator, award=30)
    activity = ledger.create_activity(
        "河边清洁", community.now - timedelta(hours=1), community.now + timedelta(hours=1), 8,
        coordinator,
    )  # fmt: skip
    for volunteer in (li, zhang):
        ledger.check_in(activity.id, volunteer, activity.checkin_code)
    ledger.confirm_attendance(activity.id, coordinator)
    # An allotment of 50 to Wang.
    ledger.grant_allotments("2026-03", coordinator, amount=50)
    # Redemptions: Li pays 20 by code, Wang 10 by card; 5 of Li's are refunded.
    by_code = community.spend(li, shop, 20)
    community.spend_card(wang, shop, 10)
    community.refund(by_code, 5)
    # Gifts: Zhang gives 3 to Wang, Li 2 to the pool, which goes on to Wang.
    community.give(zhang, wang, 3)
    community.give(li, "pool", 2)
    ledger.allocate_pool(wang, 2, coordinator)
    # A correction: 4 of Wang's beans go back to issuance.
    (allotment,) = community.credits(wang, "allotment")
    ledger.correct(wang, 4, "allotment entered twice", coordinator, corrects=allotment)
    ledger.set_leaderboard_opt_in(li, True)

    # April: the settlement of March's 25 beans, prepared on the 2nd and paid on the 3rd.
    community.move_to_local(2026, 4, 2)
    settlement = ledger.prepare_settlement(community.officer)
    ledger.approve_settlement(settlement.id, community.second_officer)
    community.move_to_local(2026, 4, 3)
    ledger.pay_settlement_line(settlement.id, shop, "BANK-1", community.officer)

    # May: nothing. June: one more donation, then the export on the 10th.
    community.move_to_local(2026, 6, 5)
    community.donate(20_000, receipt_no="R-003", donor="云南慈善基金会")
    community.move_to_local(2026, 6, 10)
    return community


@pytest.fixture(scope="module")
def worked(tmp_path_factory) -> Worked:
    community = tell_the_story()
    lines = export_lines(community)
    header = header_for(lines, community.now)
    path = write_export(tmp_path_factory.mktemp("export") / "export.jsonl", header, lines)
    reports = compute_reports(header, iter(lines))
    yield Worked(community, header, lines, reports, path)
    community.close()


def chain_at_end_of(lines: list[dict], end: datetime) -> str:
    """The recorded chain of the last line whose event happened before ``end``."""
    return [line for line in lines if timestamp_of(line) < end][-1]["chain"]


# --- the chain step --------------------------------------------------------------------


def test_chain_step_hashes_the_fields_as_reports_md_says():
    originator = "9e9697da-c640-4026-af45-de824c46099c"
    state = '{"timestamp":1,"name":"李"}'.encode()
    expected = hashlib.sha256(
        bytes(32)
        + (17).to_bytes(8, "big")
        + uuid.UUID(originator).bytes
        + (3).to_bytes(8, "big")
        + b"ledger.accounts:Volunteer.Opened"
        + state
    ).digest()

    assert GENESIS == bytes(32)
    assert chain_step(GENESIS, 17, originator, 3, "ledger.accounts:Volunteer.Opened", state) == (
        expected
    )


def test_every_part_of_an_event_changes_the_chain():
    originator = str(uuid.uuid4())
    base = (GENESIS, 1, originator, 1, "m:A.B", b"{}")
    variants = [
        (b"\x01" * 32, 1, originator, 1, "m:A.B", b"{}"),
        (GENESIS, 2, originator, 1, "m:A.B", b"{}"),
        (GENESIS, 1, str(uuid.uuid4()), 1, "m:A.B", b"{}"),
        (GENESIS, 1, originator, 2, "m:A.B", b"{}"),
        (GENESIS, 1, originator, 1, "m:A.C", b"{}"),
        (GENESIS, 1, originator, 1, "m:A.B", b"{ }"),
    ]

    assert len({chain_step(*base)} | {chain_step(*v) for v in variants}) == 7


# --- the worked reports, by hand -------------------------------------------------------


def test_the_months_run_from_the_first_event_through_the_export(worked):
    assert list(worked.reports) == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert [r["final"] for r in worked.reports.values()] == [True, True, True, False]


def test_march_adds_up_by_hand(worked):
    march = dict(worked.reports["2026-03"])

    assert march.pop("chain_head") == chain_at_end_of(worked.lines, END_OF_MARCH)
    assert march == {
        "period": "2026-03",
        "final": True,
        "donations": {
            "count": 2,
            "total_fen": 150_000,
            "items": [
                # counted in March, when it was recorded, though received in February
                {"received_on": "2026-02-27", "donor": NAMED_DONOR, "amount_fen": 100_000,
                 "receipt_no": "R-001"},
                {"received_on": "2026-03-10", "donor": "匿名 / anonymous", "amount_fen": 50_000,
                 "receipt_no": "R-002"},
            ],
        },
        "payouts": {"cash_fen": 0, "rebate_fen": 0, "items": []},
        "beans": {
            # incident 30; activity 8 each to Li and Zhang; allotment 50 to Wang
            "issued": {"incident_awards": 30, "activity_awards": 16, "allotments": 50,
                       "total": 96},
            "redeemed": 30,  # 20 by code + 10 by card
            "refunded": 5,
            "gifted": 5,  # 3 to Wang + 2 to the pool (the pool allocation is not counted)
            "retired": 0,
            "corrected": 4,
            "outstanding_end": 92,  # 96 issued - 4 corrected
        },
        "fund": {
            "balance_start_fen": 0,
            "balance_end_fen": 150_000,
            # every bean with its rebate at the only merchant's 10 %: 92 × 110
            "liability_end_fen": 10_120,
            "coverage_end": "14.8221",  # 150000 / 10120 = 14.82213…
        },
        "activity": {"active_volunteers": 2, "incidents_verified": 1, "redemptions": 2,
                     "merchants_paid": 0},
        "rule_changes": [],  # the programme's rules did not change
    }  # fmt: skip


def test_april_pays_the_settlement_of_march(worked):
    april = dict(worked.reports["2026-04"])

    assert april.pop("chain_head") == chain_at_end_of(worked.lines, END_OF_APRIL)
    assert april == {
        "period": "2026-04",
        "final": True,
        "donations": {"count": 0, "total_fen": 0, "items": []},
        "payouts": {
            "cash_fen": 2_500,
            "rebate_fen": 250,
            # 20 + 10 - 5 = 25 beans held at the cutoff; 2500 fen, 10 % rebate
            "items": [{"merchant": "社区便利店", "beans": 25, "cash_fen": 2_500,
                       "rebate_fen": 250, "paid_on": "2026-04-03", "payment_ref": "BANK-1"}],
        },
        "beans": {
            "issued": {"incident_awards": 0, "activity_awards": 0, "allotments": 0, "total": 0},
            "redeemed": 0, "refunded": 0, "gifted": 0, "retired": 25, "corrected": 0,
            "outstanding_end": 67,  # 92 - 25 retired
        },
        "fund": {
            "balance_start_fen": 150_000,
            "balance_end_fen": 147_250,  # 150000 - (2500 + 250)
            "liability_end_fen": 7_370,  # 67 × 110
            "coverage_end": "19.9796",  # 147250 / 7370 = 19.97964…
        },
        "activity": {"active_volunteers": 0, "incidents_verified": 0, "redemptions": 0,
                     "merchants_paid": 1},
        "rule_changes": [],
    }  # fmt: skip


def test_a_month_without_events_carries_the_balances(worked):
    may = worked.reports["2026-05"]

    assert may["donations"] == {"count": 0, "total_fen": 0, "items": []}
    assert may["payouts"] == {"cash_fen": 0, "rebate_fen": 0, "items": []}
    assert may["beans"] == {
        "issued": {"incident_awards": 0, "activity_awards": 0, "allotments": 0, "total": 0},
        "redeemed": 0, "refunded": 0, "gifted": 0, "retired": 0, "corrected": 0,
        "outstanding_end": 67,
    }  # fmt: skip
    assert may["fund"] == {
        "balance_start_fen": 147_250,
        "balance_end_fen": 147_250,
        "liability_end_fen": 7_370,
        "coverage_end": "19.9796",
    }
    assert set(may["activity"].values()) == {0}
    assert may["chain_head"] == worked.reports["2026-04"]["chain_head"]


def test_the_current_month_is_not_final(worked):
    june = worked.reports["2026-06"]

    assert june["final"] is False
    assert june["donations"]["items"] == [
        {"received_on": "2026-06-05", "donor": NAMED_DONOR, "amount_fen": 20_000,
         "receipt_no": "R-003"}
    ]  # fmt: skip
    assert june["fund"] == {
        "balance_start_fen": 147_250,
        "balance_end_fen": 167_250,
        "liability_end_fen": 7_370,
        "coverage_end": "22.6934",  # 167250 / 7370 = 22.69335…
    }
    assert june["chain_head"] == worked.lines[-1]["chain"]


def test_the_last_month_agrees_with_the_ledger_itself(worked):
    fund = worked.community.ledger.get_fund()
    june = worked.reports["2026-06"]

    assert june["beans"]["outstanding_end"] == fund.outstanding_beans
    assert june["fund"]["balance_end_fen"] == fund.balance_fen
    assert june["fund"]["liability_end_fen"] == fund.liability_fen
    assert june["fund"]["coverage_end"] == str(fund.coverage)


def test_no_volunteer_or_beneficiary_is_named(worked):
    """Neither the published log (names live beside it) nor the reports name a person."""
    log = "".join(line["state"] for line in worked.lines)
    text = json.dumps(worked.reports, ensure_ascii=False)

    assert not [name for name in PERSON_NAMES if name in log]
    assert not [name for name in PERSON_NAMES if name in text]


def test_an_anonymous_donor_is_never_named(tmp_path):
    community = Community.in_memory()
    community.ledger.record_donation(
        donor="Secret Benefactor", anonymous=True, amount_fen=1_000,
        received_on=community.today, receipt_no="A-1", by=community.officer,
    )  # fmt: skip
    lines = export_lines(community)

    reports = compute_reports(header_for(lines, community.now), lines)

    assert reports["2026-03"]["donations"]["items"][0]["donor"] == "匿名 / anonymous"
    assert "Secret" not in json.dumps(reports, ensure_ascii=False)
    assert not [line for line in lines if "Secret" in line["state"]]


def test_final_turns_true_at_local_midnight_of_the_next_month(worked):
    before = compute_reports(worked.header, worked.lines, END_OF_MAY - timedelta(microseconds=1))
    at = compute_reports(worked.header, worked.lines, END_OF_MAY)

    assert (list(before), before["2026-05"]["final"]) == (["2026-03", "2026-04", "2026-05"], False)
    assert (list(at), at["2026-05"]["final"], at["2026-06"]["final"]) == (
        ["2026-03", "2026-04", "2026-05", "2026-06"], True, False,
    )  # fmt: skip


def test_an_event_belongs_to_its_local_month():
    community = Community.in_memory()
    community.move_to_local(2026, 4, 1, 0, 30)  # still 31 March in UTC
    community.donate(5_000)
    lines = export_lines(community)

    reports = compute_reports(header_for(lines, community.now), lines)

    assert list(reports) == ["2026-04"]
    assert reports["2026-04"]["donations"]["total_fen"] == 5_000


# --- synthetic events ------------------------------------------------------------------


def synthetic(*events: tuple[str, str, dict]) -> list[dict]:
    """Export lines for (timestamp, topic, fields) triples, one aggregate each (or the
    one a ``_originator_id`` field names)."""
    previous, lines = GENESIS, []
    for position, (at, topic, given) in enumerate(events, start=1):
        fields = dict(given)
        originator_id = fields.pop("_originator_id", None) or str(uuid.uuid4())
        state = json.dumps({"timestamp": {"_type_": "datetime_iso", "_data_": at}} | fields)
        previous = chain_step(previous, position, originator_id, 1, topic, state.encode())
        lines.append(
            {
                "position": position,
                "originator_id": originator_id,
                "version": 1,
                "topic": topic,
                "state": state,
                "chain": previous.hex(),
            }
        )
    return lines


def allotment(at: str, amount: int) -> tuple[str, str, dict]:
    """An allotment credited at ``at`` (ISO, UTC)."""
    fields = {"flow": "allotment", "amount": amount, "counterparty": "issuance", "ref": "r"}
    return at, "ledger.accounts:Beneficiary.BeansCredited", fields | {"day": at[:10]}


def test_coverage_is_rounded_half_up():
    lines = synthetic(
        ("2026-03-10T02:00:00+00:00", "ledger.fund:Fund.DonationReceived",
         {"donation_id": "d", "amount_fen": 12_345}),
        allotment("2026-03-10T02:00:00+00:00", 200),
    )  # fmt: skip
    header = header_for(lines, datetime(2026, 3, 20, tzinfo=UTC))

    # 12345 / 20000 = 0.61725: half-up gives 0.6173 (half-even would give 0.6172)
    assert compute_reports(header, lines)["2026-03"]["fund"]["coverage_end"] == "0.6173"


def merchant_event(at: str, merchant: str, suffix: str, fields: dict) -> tuple:
    return at, f"ledger.merchants:Merchant.{suffix}", fields | {"_originator_id": merchant}


def test_liability_prices_each_merchants_beans_at_its_rate_and_the_rest_at_the_highest():
    """March: 200 beans allotted, a shop at 10 % holds 50 and a shop at 20 % holds none;
    a shop at 30 % registers in April. March owes 50 × 110 + 150 × 120 = 23,500 fen; in
    April the 150 not yet spent cost 130 each (23,000), the 10 % shop's 50 still 5,500."""
    shop_a, shop_b, shop_c = (str(uuid.uuid4()) for _ in range(3))

    def registered(at: str, shop: str, bps: int) -> tuple:
        return merchant_event(at, shop, "Registered", {"display_name": shop, "rebate_bps": bps})

    lines = synthetic(
        registered("2026-03-01T02:00:00+00:00", shop_a, 1000),
        registered("2026-03-01T02:00:00+00:00", shop_b, 2000),
        allotment("2026-03-10T02:00:00+00:00", 200),
        merchant_event("2026-03-11T02:00:00+00:00", shop_a, "BeansCredited",
                       {"flow": "redemption", "amount": 50, "counterparty": "x", "ref": "r",
                        "day": "2026-03-11"}),
        registered("2026-04-02T02:00:00+00:00", shop_c, 3000),
    )  # fmt: skip
    reports = compute_reports(header_for(lines, datetime(2026, 4, 20, tzinfo=UTC)), lines)

    assert reports["2026-03"]["fund"]["liability_end_fen"] == 5_500 + 18_000
    assert reports["2026-04"]["fund"]["liability_end_fen"] == 5_500 + 19_500


def test_no_liability_means_no_coverage():
    lines = synthetic(
        ("2026-03-10T02:00:00+00:00", "ledger.fund:Fund.DonationReceived",
         {"donation_id": "d", "amount_fen": 500}),
    )  # fmt: skip
    fund = compute_reports(header_for(lines, datetime(2026, 3, 20, tzinfo=UTC)), lines)["2026-03"]

    assert fund["fund"] == {"balance_start_fen": 0, "balance_end_fen": 500,
                            "liability_end_fen": 0, "coverage_end": None}  # fmt: skip


def test_the_bean_value_comes_from_the_header_and_no_events_give_no_reports():
    lines = synthetic(allotment("2026-03-10T02:00:00+00:00", 3))
    header = header_for(lines, datetime(2026, 3, 20, tzinfo=UTC)) | {"bean_value_fen": 50}

    assert compute_reports(header, lines)["2026-03"]["fund"]["liability_end_fen"] == 150
    assert compute_reports(header, []) == {}


def test_the_months_start_at_the_earliest_event_and_the_zone_comes_from_the_header():
    lines = synthetic(
        allotment("2026-03-01T02:00:00+00:00", 1),
        allotment("2026-02-28T23:30:00+00:00", 1),  # 1 March in Shanghai, 28 Feb in UTC
    )
    now = datetime(2026, 3, 5, tzinfo=UTC)
    utc_header = header_for(lines, now) | {"time_zone": "UTC"}

    assert list(compute_reports(header_for(lines, now), lines)) == ["2026-03"]
    assert list(compute_reports(utc_header, lines)) == ["2026-02", "2026-03"]


def test_a_malformed_state_names_its_position():
    lines = synthetic(allotment("2026-03-10T02:00:00+00:00", 3))
    lines[0]["state"] = lines[0]["state"].replace('"amount": 3', '"amount": "3"')

    with pytest.raises(VerifyError, match=r"position 1 \(ledger.accounts:Beneficiary"):
        compute_reports(header_for(lines, datetime(2026, 3, 20, tzinfo=UTC)), lines)


# --- the chain -------------------------------------------------------------------------


def tampered(worked: Worked, index: int, **changes) -> list[dict]:
    lines = [dict(line) for line in worked.lines]
    lines[index].update(changes)
    return lines


def test_an_intact_chain_is_ok(worked):
    result = verify_chain(worked.lines)

    assert (result.ok, result.count, result.first_mismatch) == (True, len(worked.lines), None)
    assert result.head == worked.lines[-1]["chain"]
    assert result.heads == {line["position"]: line["chain"] for line in worked.lines}


def test_a_changed_state_byte_breaks_the_chain_at_that_position(worked):
    index = next(i for i, line in enumerate(worked.lines) if '"amount":20,' in line["state"])
    state = worked.lines[index]["state"].replace('"amount":20,', '"amount":21,')

    result = verify_chain(tampered(worked, index, state=state))

    position = worked.lines[index]["position"]
    assert (result.ok, result.first_mismatch) == (False, position)
    assert result.reason.startswith(f"the chain breaks at position {position}: recorded ")


def test_a_dropped_line_breaks_the_chain_at_the_next_line(worked):
    lines = worked.lines[:10] + worked.lines[11:]

    result = verify_chain(lines)

    assert (result.ok, result.first_mismatch, result.count) == (
        False, worked.lines[11]["position"], len(worked.lines) - 1,
    )  # fmt: skip


def test_two_swapped_lines_break_the_chain_at_the_first_of_them(worked):
    lines = list(worked.lines)
    lines[20], lines[21] = lines[21], lines[20]

    result = verify_chain(lines)

    assert (result.ok, result.first_mismatch) == (False, worked.lines[21]["position"])


def test_two_swapped_events_under_their_positions_break_the_chain_at_the_first(worked):
    lines = [dict(line) for line in worked.lines]
    for key in ("originator_id", "version", "topic", "state"):
        lines[20][key], lines[21][key] = lines[21][key], lines[20][key]

    result = verify_chain(lines)

    assert (result.ok, result.first_mismatch) == (False, worked.lines[20]["position"])


def test_a_changed_recorded_chain_value_is_found(worked):
    result = verify_chain(tampered(worked, 5, chain="0" * 64))

    assert result.first_mismatch == worked.lines[5]["position"]


def test_positions_may_have_gaps(worked):
    lines = synthetic(allotment("2026-03-10T02:00:00+00:00", 1))
    line = lines[0] | {"position": 7}
    line["chain"] = chain_step(GENESIS, 7, line["originator_id"], 1, line["topic"],
                               line["state"].encode()).hex()  # fmt: skip

    assert verify_chain([line]).ok


# --- reading the export ----------------------------------------------------------------


def test_read_export_gives_the_header_and_the_lines(worked):
    header, events = read_export(worked.path)

    assert header == worked.header
    assert list(events) == worked.lines


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ('{"format": "something-else", "version": 1}', "line 1 is not the header"),
        ('{"format": "goldbean-audit-export", "version": 2}', "line 1 is not the header"),
        ("not json", "line 1 is not JSON"),
        ('{"format": "goldbean-audit-export", "version": 1, "time_zone": "Mars/Olympus"}',
         "unknown time zone"),
    ],
)  # fmt: skip
def test_a_wrong_header_is_refused(tmp_path, first_line, message):
    path = tmp_path / "export.jsonl"
    path.write_text(first_line + "\n", encoding="utf-8")

    with pytest.raises(VerifyError, match=message):
        read_export(path)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 3 is not JSON"),
        ("[1, 2]", "line 3 is not a JSON object"),
        ('{"position": 2}', "line 3: originator_id is missing"),
    ],
)
def test_a_malformed_line_is_named(worked, tmp_path, bad_line, message):
    path = write_export(tmp_path / "export.jsonl", worked.header, worked.lines[:1])
    with path.open("a", encoding="utf-8") as file:
        file.write(bad_line + "\n")

    header, events = read_export(path)
    with pytest.raises(VerifyError, match=message):
        list(events)


def test_a_position_must_fit_in_eight_bytes(worked, tmp_path):
    path = write_export(
        tmp_path / "e.jsonl", worked.header, [worked.lines[0] | {"position": 2**64}]
    )

    with pytest.raises(VerifyError, match="line 2: position and version must fit in 8"):
        list(read_export(path)[1])


def test_a_line_that_is_not_utf8_is_named(worked, tmp_path):
    path = write_export(tmp_path / "export.jsonl", worked.header, worked.lines[:2])
    path.write_bytes(path.read_bytes() + b'{"x": "\xff"}\n')

    with pytest.raises(VerifyError, match="line 4 is not UTF-8"):
        list(read_export(path)[1])


def test_a_missing_file_is_a_verify_error(tmp_path):
    with pytest.raises(VerifyError, match="cannot read"):
        read_export(tmp_path / "nothing.jsonl")


# --- comparing -------------------------------------------------------------------------


def published_copy(worked: Worked) -> dict[str, dict]:
    return json.loads(json.dumps(worked.reports))


def test_identical_reports_have_no_differences_and_final_is_not_compared(worked):
    published = published_copy(worked)
    published["2026-06"]["final"] = True

    assert compare_reports(worked.reports, published) == []


def test_a_different_figure_is_named_by_its_path(worked):
    published = published_copy(worked)
    published["2026-03"]["beans"]["issued"]["total"] = 97
    published["2026-04"]["payouts"]["items"][0]["merchant"] = "别的店"

    assert compare_reports(worked.reports, published) == [
        "2026-03 beans.issued.total: published 97, recomputed 96",
        '2026-04 payouts.items[0].merchant: published "别的店", recomputed "社区便利店"',
    ]


def test_missing_and_extra_periods_items_and_fields_are_differences(worked):
    published = published_copy(worked)
    del published["2026-05"]
    published["2026-07"] = published["2026-06"]
    published["2026-03"]["donations"]["items"].pop()
    published["2026-03"]["fund"]["currency"] = "CNY"
    del published["2026-04"]["chain_head"]
    published["2026-06"]["fund"]["coverage_end"] = 22.6934
    april_head = worked.reports["2026-04"]["chain_head"]

    assert compare_reports(worked.reports, published) == [
        "2026-03 donations.items: published 1 items, recomputed 2",
        '2026-03 fund.currency: published "CNY", not recomputed',
        f'2026-04 chain_head: not published, recomputed "{april_head}"',
        "2026-05: recomputed but not published",
        '2026-06 fund.coverage_end: published 22.6934, recomputed "22.6934"',
        "2026-07: published but not recomputed",
    ]


def test_a_boolean_is_not_a_number(worked):
    computed = {"2026-03": {"count": 1}}

    assert compare_reports(computed, {"2026-03": {"count": True}}) == [
        "2026-03 count: published true, recomputed 1"
    ]


# --- the published reports -------------------------------------------------------------


def test_load_published_reads_a_directory_of_months(worked, tmp_path):
    for period, report in worked.reports.items():
        (tmp_path / f"{period}.json").write_text(json.dumps(report, ensure_ascii=False), "utf-8")
    (tmp_path / "index.json").write_text("{}", "utf-8")
    (tmp_path / "notes.txt").write_text("not a report", "utf-8")

    assert load_published(str(tmp_path)) == published_copy(worked)


def test_load_published_refuses_a_missing_directory(tmp_path):
    with pytest.raises(VerifyError, match="neither a directory"):
        load_published(str(tmp_path / "nowhere"))


@pytest.fixture
def site(worked):
    """A tiny web site publishing the worked reports at the public API's paths."""
    pages = {"/api/v1/public/fund-reports": {"items": [
        {"period": p, "final": r["final"]} for p, r in worked.reports.items()]}}  # fmt: skip
    pages |= {f"/api/v1/public/fund-reports/{p}": r for p, r in worked.reports.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(pages[self.path]).encode() if self.path in pages else b"{}"
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_load_published_reads_the_public_api(worked, site):
    assert load_published(site) == published_copy(worked)


def test_an_unreachable_site_is_a_verify_error(site):
    with pytest.raises(VerifyError, match="HTTP 404"):
        load_published(site + "elsewhere")


# --- goldbean audit verify -------------------------------------------------------------


def run_verify(path, source=None) -> tuple[int, list[str]]:
    printed: list[str] = []
    status = verify(path, source, out=printed.append)
    return status, printed


def test_verify_passes_a_sound_export_against_its_reports(worked, site):
    status, printed = run_verify(worked.path, site)

    assert status == 0
    assert printed[1:] == [
        f"events: {len(worked.lines)}",
        f"chain: ok, intact over {len(worked.lines)} events, head {worked.lines[-1]['chain']}",
        "reports: ok, 4 months match the published reports",
    ]


def test_verify_without_reports_checks_the_chain_and_recomputes(worked):
    status, printed = run_verify(worked.path)

    assert status == 0
    assert printed[-1] == "reports: recomputed 4 months (2026-03 to 2026-06); not compared"


def test_verify_names_the_first_report_difference_and_counts_them(worked, tmp_path):
    for period, report in published_copy(worked).items():
        report["activity"]["redemptions"] += 1
        (tmp_path / f"{period}.json").write_text(json.dumps(report), "utf-8")

    status, printed = run_verify(worked.path, str(tmp_path))

    assert status == 1
    assert printed[-2:] == [
        "reports: MISMATCH: 2026-03 activity.redemptions: published 3, recomputed 2",
        "reports: 4 difference(s) in all",
    ]


def test_verify_reports_a_broken_chain(worked, tmp_path):
    lines = tampered(worked, 3, chain="f" * 64)
    path = write_export(tmp_path / "export.jsonl", worked.header, lines)

    status, printed = run_verify(path)

    assert status == 1
    assert printed[2].startswith(
        f"chain: MISMATCH: the chain breaks at position {lines[3]['position']}"
    )


def test_verify_sees_a_dropped_last_line_from_the_header_count(worked, tmp_path):
    path = write_export(tmp_path / "export.jsonl", worked.header, worked.lines[:-1])

    status, printed = run_verify(path)

    assert status == 1
    assert f"events: MISMATCH: the header announces {len(worked.lines)} events" in printed
    assert printed[-2].startswith("chain: ok")


def test_verify_returns_2_for_an_unreadable_file(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text('{"format": "goldbean-audit-export", "version": 1}\n{oops\n', "utf-8")

    status, printed = run_verify(path)

    assert (status, printed[-1][:32]) == (2, "error: line 2 is not JSON (Expec")
    assert run_verify(tmp_path / "missing.jsonl")[0] == 2


# --- independence ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["verifier.py", "verifier_reports.py"])
def test_the_verifier_uses_only_the_standard_library(name):
    source = (Path(__file__).resolve().parents[2] / "projections" / name).read_text("utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)

    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside <= {"projections.verifier_reports"}


def test_a_named_donor_is_any_name_but_never_anonymous():
    """The log holds no donor's name (personal data lives beside it): the verifier
    recomputes that a donation was named, and the published report must show a name."""
    computed = {"2026-03": {"donations": {"items": [{"donor": NAMED_DONOR}]}}}

    def published(donor: object) -> dict:
        return {"2026-03": {"donations": {"items": [{"donor": donor}]}}}

    assert compare_reports(computed, published("云南慈善基金会")) == []
    for wrong in ("匿名 / anonymous", "", None):
        assert compare_reports(computed, published(wrong)), wrong
