"""The fund over HTTP: donations come in, staff read the fund's position, and two fund
officers settle with the merchants: one prepares, the other approves, lines are paid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.scenario import START, Community

AT = START.isoformat()
TODAY = "2026-03-10"  # local day of the fake clock (10:00 in Kunming)
TOMORROW = "2026-03-11"


@pytest.fixture
def town(app, clock):
    return Community(app.extensions["goldbean.ledger"], clock)


@pytest.fixture
def officer(sign_in):
    return sign_in("fund_officer")


@pytest.fixture
def second_officer(sign_in):
    return sign_in("fund_officer")


@pytest.fixture
def spent(town):
    """Li earns 100 beans and spends 40 at a grocery (10 % rebate) and 20 at a canteen
    (5 % rebate); returns (li, grocery, canteen)."""
    li = town.volunteer("Li Wei")
    grocery = town.merchant("Corner Grocery")
    canteen = town.merchant("Community Canteen", category="canteen", rebate_bps=500)
    town.earn(li, 100)
    town.spend(li, grocery, 40)
    town.spend(li, canteen, 20)
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


def code_of(answer):
    assert answer.mimetype == "application/problem+json", answer.get_data(as_text=True)
    return answer.status_code, answer.get_json()["code"]


def fund_balance(town):
    return town.ledger.get_fund().balance_fen


# --- POST /fund/donations ------------------------------------------------------------------


def test_a_fund_officer_records_donations_named_and_anonymous(town, officer):
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
    assert fund_balance(town) == 502_000


def test_only_a_fund_officer_records_donations(town, sign_in, anonymous):
    assert code_of(anonymous.post("/api/v1/fund/donations", json=donation())) == (
        401,
        "unauthenticated",
    )
    for role in ("coordinator", "auditor", "admin"):
        answer = sign_in(role).post("/api/v1/fund/donations", json=donation())
        assert code_of(answer) == (403, "forbidden")
    assert fund_balance(town) == 0


def test_a_receipt_number_is_recorded_once(town, officer):
    first = officer.post("/api/v1/fund/donations", json=donation())
    same = officer.post("/api/v1/fund/donations", json=donation())
    assert first.status_code == same.status_code == 201
    assert same.get_json() == first.get_json()
    other = officer.post("/api/v1/fund/donations", json=donation(amount_fen=600_000))
    assert code_of(other) == (409, "duplicate_receipt")
    assert fund_balance(town) == 500_000


def test_a_donation_body_is_checked(town, officer):
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
        assert code_of(answer) == (422, "validation_error"), body
    assert fund_balance(town) == 0


def test_a_retried_donation_request_is_answered_again(town, officer):
    key = {"Idempotency-Key": "donation-form-1"}
    first = officer.post("/api/v1/fund/donations", json=donation(), headers=key)
    again = officer.post("/api/v1/fund/donations", json=donation(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = officer.post("/api/v1/fund/donations", json=donation("R-0002"), headers=key)
    assert code_of(other) == (422, "idempotency_key_reused")
    assert fund_balance(town) == 500_000


# --- GET /fund -----------------------------------------------------------------------------


def test_staff_read_the_funds_position_and_coverage(town, sign_in, spent):
    readers = [sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")]
    for reader in readers:
        answer = reader.get("/api/v1/fund")
        assert answer.status_code == 200
        assert answer.get_json() == {"balance_fen": 0, "liability_fen": 10_000, "coverage": 0.0}

    town.donate(3_000)
    answer = readers[0].get("/api/v1/fund").get_json()
    assert answer == {"balance_fen": 3_000, "liability_fen": 10_000, "coverage": 0.3}
    town.donate(30_000)
    # 33,000 / 10,000 = 3.3; 4 decimals appear when the ratio needs them
    assert readers[0].get("/api/v1/fund").get_json()["coverage"] == 3.3
    town.donate(1)
    assert readers[0].get("/api/v1/fund").get_json()["coverage"] == 3.3001


def test_coverage_is_null_while_nothing_is_owed(town, sign_in):
    town.donate(10_000)
    answer = sign_in("auditor").get("/api/v1/fund")
    assert answer.get_json() == {"balance_fen": 10_000, "liability_fen": 0, "coverage": None}


def test_the_funds_position_is_for_staff_only(town, sign_in, anonymous):
    li = town.volunteer("Li Wei")
    shop = town.merchant("Corner Grocery")
    assert code_of(anonymous.get("/api/v1/fund")) == (401, "unauthenticated")
    for someone in (sign_in("volunteer", account_id=li), sign_in("merchant", merchant_id=shop)):
        assert code_of(someone.get("/api/v1/fund")) == (403, "forbidden")


# --- settlements ---------------------------------------------------------------------------


def test_two_officers_settle_the_month_with_the_merchants(
    town, officer, second_officer, sign_in, spent
):
    li, grocery, canteen = spent
    town.donate(10_000)

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
    assert fund_balance(town) == 10_000 - 4_400
    assert town.balance(grocery) == 0  # the beans are retired

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
    assert fund_balance(town) == 10_000 - 6_500
    assert town.check_books().retired == 60


def test_nothing_to_settle_before_the_default_cutoff(officer, spent):
    # the default cutoff is the 1st of this month; every redemption is of the 10th
    assert code_of(officer.post("/api/v1/settlements", json={})) == (422, "nothing_to_settle")
    for body in ({"cutoff": "2026-03-20"}, {"cutoff": "March"}, {"until": TOMORROW}):
        answer = officer.post("/api/v1/settlements", json=body)
        assert code_of(answer) == (422, "validation_error"), body


def test_the_officer_who_prepared_cannot_approve(officer, second_officer, spent):
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    own = officer.post(f"/api/v1/settlements/{sid}/approve")
    assert code_of(own) == (403, "four_eyes_required")
    assert second_officer.post(f"/api/v1/settlements/{sid}/approve").status_code == 200
    twice = second_officer.post(f"/api/v1/settlements/{sid}/approve")
    assert code_of(twice) == (409, "invalid_state")
    assert code_of(second_officer.post("/api/v1/settlements/nope/approve")) == (404, "not_found")


def test_a_line_is_paid_only_when_approved_covered_and_not_yet_paid(
    town, officer, second_officer, spent
):
    _, grocery, _ = spent
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    path = f"/api/v1/settlements/{sid}/lines/{grocery}/paid"
    ref = {"payment_ref": "BANK-1"}
    assert code_of(officer.post(path, json=ref)) == (409, "invalid_state")  # not approved
    second_officer.post(f"/api/v1/settlements/{sid}/approve")

    town.donate(4_399)
    assert code_of(officer.post(path, json=ref)) == (409, "insufficient_fund")
    town.donate(1)
    assert officer.post(path, json=ref).status_code == 200
    assert code_of(officer.post(path, json={"payment_ref": "BANK-2"})) == (409, "invalid_state")
    assert fund_balance(town) == 0

    stranger = town.merchant("Not In This Settlement")
    absent = officer.post(f"/api/v1/settlements/{sid}/lines/{stranger}/paid", json=ref)
    assert code_of(absent) == (404, "not_found")
    for body in ({}, {"payment_ref": ""}, {"payment_ref": "B", "amount_fen": 1}):
        answer = officer.post(path, json=body)
        assert code_of(answer) == (422, "validation_error"), body


def test_settlements_are_for_fund_officers(town, sign_in, anonymous, officer, spent):
    _, grocery, _ = spent
    assert code_of(anonymous.post("/api/v1/settlements", json={})) == (401, "unauthenticated")
    coordinator, auditor = sign_in("coordinator"), sign_in("auditor")
    for someone in (coordinator, auditor, sign_in("admin")):
        assert code_of(someone.post("/api/v1/settlements", json={"cutoff": TOMORROW})) == (
            403,
            "forbidden",
        )
    sid = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}).get_json()["id"]
    for someone in (coordinator, auditor):
        assert code_of(someone.post(f"/api/v1/settlements/{sid}/approve")) == (403, "forbidden")
        paid = someone.post(
            f"/api/v1/settlements/{sid}/lines/{grocery}/paid", json={"payment_ref": "X"}
        )
        assert code_of(paid) == (403, "forbidden")
    assert code_of(coordinator.get(f"/api/v1/settlements/{sid}")) == (403, "forbidden")
    assert code_of(anonymous.get(f"/api/v1/settlements/{sid}")) == (401, "unauthenticated")
    assert auditor.get(f"/api/v1/settlements/{sid}").status_code == 200
    assert code_of(auditor.get("/api/v1/settlements/nope")) == (404, "not_found")


def test_retried_settlement_requests_act_once(town, officer, second_officer, spent):
    _, grocery, _ = spent
    town.donate(100_000)
    key = {"Idempotency-Key": "prepare-march"}
    first = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}, headers=key)
    again = officer.post("/api/v1/settlements", json={"cutoff": TOMORROW}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = officer.post("/api/v1/settlements", json={"cutoff": TODAY}, headers=key)
    assert code_of(other) == (422, "idempotency_key_reused")
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
    assert code_of(other_ref) == (422, "idempotency_key_reused")
    assert fund_balance(town) == 100_000 - 4_400
