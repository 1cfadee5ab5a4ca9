"""The fund over HTTP: donations come in, staff read the fund's position, and two fund
officers settle with the merchants: one prepares, the other approves, lines are paid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import status_and_code
from tests.scenario import START

AT = START.isoformat()
TODAY = "2026-03-10"  # local day of the fake clock (10:00 in Kunming)
TOMORROW = "2026-03-11"


@pytest.fixture
def officer(sign_in):
    return sign_in("fund_officer")


@pytest.fixture
def second_officer(sign_in):
    return sign_in("fund_officer")


@pytest.fixture
def spent(community):
    """Li earns 100 beans and spends 40 at a grocery (10 % rebate) and 20 at a canteen
    (5 % rebate); returns (li, grocery, canteen)."""
    li = community.volunteer("Li Wei")
    grocery = community.merchant("Corner Grocery")
    canteen = community.merchant("Community Canteen", category="canteen", rebate_bps=500)
    community.earn(li, 100)
    community.spend(li, grocery, 40)
    community.spend(li, canteen, 20)
    return li, grocery, canteen


def donation(receipt_no="R-0001", **changes):
    return {
        "donor": "Jinsha Residents' Committee",
        "anonymous": False,
        "amount_fen": 500_000,
        "received_on": TODAY,
        "receipt_no": receipt_no,
        **changes,
    }


def fund_balance(community):
    return community.ledger.get_fund().balance_fen


# --- POST /fund/donations ------------------------------------------------------------------


def test_a_fund_officer_records_donations_named_and_anonymous(community, officer):
    answer = officer.post("/api/v1/fund/donations", json=donation())
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "amount_fen": 500_000}

    quiet = officer.post(
        "/api/v1/fund/donations",
        json={
            "anonymous": True,
            "amount_fen": 2_000,
            "received_on": "2026-03-09",
            "receipt_no": "R-2",
        },
    )
    assert quiet.status_code == 201 and quiet.get_json()["amount_fen"] == 2_000
    assert fund_balance(community) == 502_000


def test_only_a_fund_officer_records_donations(community, sign_in, anonymous):
    assert status_and_code(anonymous.post("/api/v1/fund/donations", json=donation())) == (
        401,
        "unauthenticated",
    )
    for role in ("coordinator", "auditor", "admin"):
        answer = sign_in(role).post("/api/v1/fund/donations", json=donation())
        assert status_and_code(answer) == (403, "forbidden")
    assert fund_balance(community) == 0


def test_a_receipt_number_is_recorded_once(community, officer):
    first = officer.post("/api/v1/fund/donations", json=donation())
    same = officer.post("/api/v1/fund/donations", json=donation())
    assert first.status_code == same.status_code == 201
    assert same.get_json() == first.get_json()
    other = officer.post("/api/v1/fund/donations", json=donation(amount_fen=600_000))
    assert status_and_code(other) == (409, "duplicate_receipt")
    assert fund_balance(community) == 500_000


def test_a_donation_body_is_checked(community, officer):
    tomorrow = (START + timedelta(days=1)).date().isoformat()
    for body in (
        donation(received_on=tomorrow),  # the ledger: not in the future
        donation(donor=None),  # a named donation needs the donor
        donation(amount_fen=0),
        donation(amount_fen="500"),
        donation(amount_fen=12.5),
        donation(received_on="10/03/2026"),
        donation(anonymous="yes"),
        donation(receipt_no=""),
        donation(currency="CNY"),
    ):
        answer = officer.post("/api/v1/fund/donations", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body
    assert fund_balance(community) == 0


def test_a_retried_donation_request_is_answered_again(community, officer):
    key = {"Idempotency-Key": "donation-form-1"}
    first = officer.post("/api/v1/fund/donations", json=donation(), headers=key)
    again = officer.post("/api/v1/fund/donations", json=donation(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = officer.post("/api/v1/fund/donations", json=donation("R-0002"), headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert fund_balance(community) == 500_000


# --- GET /fund -----------------------------------------------------------------------------


def test_staff_read_the_funds_position_and_coverage(community, sign_in, spent):
    readers = [sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")]
    for reader in readers:
        answer = reader.get("/api/v1/fund")
        assert answer.status_code == 200
        # paying every bean with its rebate: the grocery's 40 at 10 % (4,400), the
        # canteen's 20 at 5 % (2,100), and Li's 40 not yet spent at the highest rate,
        # 10 % (4,400)
        assert answer.get_json() == {"balance_fen": 0, "liability_fen": 10_900, "coverage": 0.0}

    community.donate(3_270)
    answer = readers[0].get("/api/v1/fund").get_json()
    assert answer == {"balance_fen": 3_270, "liability_fen": 10_900, "coverage": 0.3}
    community.donate(32_700)
    # 35,970 / 10,900 = 3.3; 4 decimals appear when the ratio needs them
    assert readers[0].get("/api/v1/fund").get_json()["coverage"] == 3.3
    community.donate(1)
    assert readers[0].get("/api/v1/fund").get_json()["coverage"] == 3.3001


def test_coverage_is_null_while_nothing_is_owed(community, sign_in):
    community.donate(10_000)
    answer = sign_in("auditor").get("/api/v1/fund")
    assert answer.get_json() == {"balance_fen": 10_000, "liability_fen": 0, "coverage": None}


def test_the_funds_position_is_for_staff_only(community, sign_in, anonymous):
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    assert status_and_code(anonymous.get("/api/v1/fund")) == (401, "unauthenticated")
    for someone in (sign_in("volunteer", account_id=li), sign_in("merchant", merchant_id=shop)):
        assert status_and_code(someone.get("/api/v1/fund")) == (403, "forbidden")


# --- settlements ---------------------------------------------------------------------------


def test_two_officers_settle_the_month_with_the_merchants(
    community, officer, second_officer, sign_in, spent
):
    li, grocery, canteen = spent
    community.donate(10_000)

    prepared = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW})
    assert prepared.status_code == 201
    settlement = prepared.get_json()
    sid = settlement["id"]
    lines = settlement.pop("lines")
    assert settlement == {
        "id": sid,
        "period": "2026-03",
        "cutoff": TOMORROW,
        "status": "prepared",
        "total_fen": 4_000 + 400 + 2_000 + 100,
    }
    assert sorted(lines, key=lambda line: line["beans"]) == [
        {"merchant_id": canteen, "beans": 20, "cash_fen": 2_000, "rebate_fen": 100},
        {"merchant_id": grocery, "beans": 40, "cash_fen": 4_000, "rebate_fen": 400},
    ]

    approved = second_officer.post(f"/api/v1/settlements/{sid}/approve")
    assert approved.status_code == 200
    assert approved.get_json() == {"id": sid, "status": "approved"}

    paid = officer.post(
        f"/api/v1/settlements/{sid}/lines/{grocery}/paid", json={"payment_ref": "BANK-0311-1"}
    )
    assert paid.status_code == 200
    assert paid.get_json() == {"merchant_id": grocery, "paid_at": AT}
    assert fund_balance(community) == 10_000 - 4_400
    assert community.balance(grocery) == 0  # the beans are retired

    reused = second_officer.post(
        f"/api/v1/settlements/{sid}/lines/{canteen}/paid", json={"payment_ref": "bank-0311-1"}
    )
    assert (reused.status_code, reused.get_json()["code"]) == (409, "payment_reference_used")
    assert fund_balance(community) == 10_000 - 4_400
    second_officer.post(
        f"/api/v1/settlements/{sid}/lines/{canteen}/paid", json={"payment_ref": "BANK-0311-2"}
    )
    shown = sign_in("auditor").get(f"/api/v1/settlements/{sid}")
    assert shown.status_code == 200
    body = shown.get_json()
    assert body["status"] == "paid" and body["cutoff"] == TOMORROW and body["total_fen"] == 6_500
    assert {line["merchant_id"]: line["payment_ref"] for line in body["lines"]} == {
        grocery: "BANK-0311-1",
        canteen: "BANK-0311-2",
    }
    assert all(line["paid_at"] == AT for line in body["lines"])
    assert body["approved_by"] and body["prepared_by"] != body["approved_by"]
    assert fund_balance(community) == 10_000 - 6_500
    assert community.check_books().retired == 60


def test_nothing_to_settle_before_the_default_cutoff(officer, spent):
    # the default cutoff is the 1st of this month; every redemption is of the 10th
    assert status_and_code(officer.post("/api/v1/settlements", json={})) == (
        422,
        "nothing_to_settle",
    )
    for body in ({"cutoff": "2026-03-20"}, {"cutoff": "March"}, {"until": TOMORROW}):
        answer = officer.post("/api/v1/settlements", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body


def test_the_officer_who_prepared_cannot_approve(officer, second_officer, spent):
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    own = officer.post(f"/api/v1/settlements/{sid}/approve")
    assert status_and_code(own) == (403, "four_eyes_required")
    assert second_officer.post(f"/api/v1/settlements/{sid}/approve").status_code == 200
    twice = second_officer.post(f"/api/v1/settlements/{sid}/approve")
    assert status_and_code(twice) == (409, "invalid_state")
    assert status_and_code(second_officer.post("/api/v1/settlements/nope/approve")) == (
        404,
        "not_found",
    )


def test_a_line_is_paid_only_when_approved_covered_and_not_yet_paid(
    community, officer, second_officer, spent
):
    _, grocery, _ = spent
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    path = f"/api/v1/settlements/{sid}/lines/{grocery}/paid"
    ref = {"payment_ref": "BANK-1"}
    assert status_and_code(officer.post(path, json=ref)) == (409, "invalid_state")  # not approved
    second_officer.post(f"/api/v1/settlements/{sid}/approve")

    community.donate(4_399)
    assert status_and_code(officer.post(path, json=ref)) == (409, "insufficient_fund")
    community.donate(1)
    assert officer.post(path, json=ref).status_code == 200
    assert status_and_code(officer.post(path, json={"payment_ref": "BANK-2"})) == (
        409,
        "invalid_state",
    )
    assert fund_balance(community) == 0

    stranger = community.merchant("Not In This Settlement")
    absent = officer.post(f"/api/v1/settlements/{sid}/lines/{stranger}/paid", json=ref)
    assert status_and_code(absent) == (404, "not_found")
    for body in ({}, {"payment_ref": ""}, {"payment_ref": "B", "amount_fen": 1}):
        answer = officer.post(path, json=body)
        assert status_and_code(answer) == (422, "validation_error"), body


def test_settlements_are_for_fund_officers(community, sign_in, anonymous, officer, spent):
    _, grocery, _ = spent
    assert status_and_code(anonymous.post("/api/v1/settlements", json={})) == (
        401,
        "unauthenticated",
    )
    coordinator, auditor = sign_in("coordinator"), sign_in("auditor")
    for someone in (coordinator, auditor, sign_in("admin")):
        assert status_and_code(someone.post("/api/v1/settlements", json={"cutoff": TOMORROW})) == (
            403,
            "forbidden",
        )
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    for someone in (coordinator, auditor):
        assert status_and_code(someone.post(f"/api/v1/settlements/{sid}/approve")) == (
            403,
            "forbidden",
        )
        paid = someone.post(
            f"/api/v1/settlements/{sid}/lines/{grocery}/paid", json={"payment_ref": "X"}
        )
        assert status_and_code(paid) == (403, "forbidden")
    assert status_and_code(coordinator.get(f"/api/v1/settlements/{sid}")) == (403, "forbidden")
    assert status_and_code(anonymous.get(f"/api/v1/settlements/{sid}")) == (401, "unauthenticated")
    assert auditor.get(f"/api/v1/settlements/{sid}").status_code == 200
    assert status_and_code(auditor.get("/api/v1/settlements/nope")) == (404, "not_found")


def test_retried_settlement_requests_act_once(community, officer, second_officer, spent):
    _, grocery, _ = spent
    community.donate(100_000)
    key = {"Idempotency-Key": "prepare-march"}
    first = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}, headers=key)
    again = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = officer.post("/api/v1/settlements", json={"cutoff": TODAY}, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    sid = first.get_json()["id"]

    approve_key = {"Idempotency-Key": "approve-march"}
    approved = second_officer.post(f"/api/v1/settlements/{sid}/approve", headers=approve_key)
    replayed = second_officer.post(f"/api/v1/settlements/{sid}/approve", headers=approve_key)
    assert approved.status_code == replayed.status_code == 200
    assert replayed.get_json() == approved.get_json() == {"id": sid, "status": "approved"}

    path, pay_key = f"/api/v1/settlements/{sid}/lines/{grocery}/paid", {"Idempotency-Key": "p1"}
    paid = officer.post(path, json={"payment_ref": "BANK-1"}, headers=pay_key)
    repaid = officer.post(path, json={"payment_ref": "BANK-1"}, headers=pay_key)
    assert paid.status_code == repaid.status_code == 200
    assert repaid.get_json() == paid.get_json()
    other_ref = officer.post(path, json={"payment_ref": "BANK-9"}, headers=pay_key)
    assert status_and_code(other_ref) == (422, "idempotency_key_reused")
    assert fund_balance(community) == 100_000 - 4_400


# --- undo as new entries (issue 14) ------------------------------------------------------


def log_length(community) -> int:
    return community.ledger.recorder.max_notification_id() or 0


def test_a_second_officer_reverses_a_donation_and_the_report_shows_it(
    community, officer, second_officer, anonymous
):
    recorded = officer.post("/api/v1/fund/donations", json=donation("R-7", amount_fen=1_000_000))
    donation_id = recorded.get_json()["id"]
    path = f"/api/v1/fund/donations/{donation_id}/reverse"

    before = log_length(community)
    assert status_and_code(officer.post(path, json={"reason": "typo"})) == (
        403,
        "four_eyes_required",
    )
    assert status_and_code(second_officer.post(path, json={})) == (422, "validation_error")
    assert log_length(community) == before

    answer = second_officer.post(path, json={"reason": "typed 10000 yuan for 100"})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": donation_id, "amount_fen": 1_000_000, "reversed": True}
    assert status_and_code(second_officer.post(path, json={"reason": "again"})) == (
        409,
        "invalid_state",
    )
    assert fund_balance(community) == 0
    again = officer.post("/api/v1/fund/donations", json=donation("R-7", amount_fen=10_000))
    assert again.status_code == 201 and again.get_json()["id"] != donation_id

    report = anonymous.get("/api/v1/public/fund-reports/2026-03").get_json()
    assert [item["amount_fen"] for item in report["donations"]["items"]] == [
        1_000_000,
        -1_000_000,
        10_000,
    ]
    assert report["donations"]["total_fen"] == 10_000
    assert report["fund"]["balance_end_fen"] == 10_000


def test_a_settlement_is_cancelled_before_any_line_is_paid(
    community, officer, second_officer, spent
):
    li, grocery, canteen = spent
    community.donate(100_000)
    prepared = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()
    path = f"/api/v1/settlements/{prepared['id']}"
    assert community.unsettled(grocery) == 0

    assert status_and_code(second_officer.post(f"{path}/cancel", json={})) == (
        422,
        "validation_error",
    )
    answer = second_officer.post(f"{path}/cancel", json={"reason": "wrong cutoff"})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": prepared["id"], "status": "cancelled"}
    assert (community.unsettled(grocery), community.unsettled(canteen)) == (40, 20)
    before = log_length(community)
    assert status_and_code(second_officer.post(f"{path}/approve")) == (409, "invalid_state")
    assert status_and_code(officer.post(f"{path}/cancel", json={"reason": "twice"})) == (
        409,
        "invalid_state",
    )
    assert log_length(community) == before
    assert officer.get(path).get_json()["status"] == "cancelled"

    # prepared again, one line paid: too late to cancel
    again = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()
    second_officer.post(f"/api/v1/settlements/{again['id']}/approve")
    paid = officer.post(
        f"/api/v1/settlements/{again['id']}/lines/{grocery}/paid", json={"payment_ref": "T-1"}
    )
    assert paid.status_code == 200
    late = officer.post(f"/api/v1/settlements/{again['id']}/cancel", json={"reason": "late"})
    assert status_and_code(late) == (409, "invalid_state")
