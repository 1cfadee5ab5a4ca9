"""Four eyes above a threshold over HTTP (issue 14): a correction or an allotment batch
above the programme's threshold answers 202 with a pending request; another coordinator
approves it (POST /corrections/{id}/approve, /allotments/{id}/approve) and it runs; the
preparer's approval is 403 four_eyes_required, a second approval 409 invalid_state; a
pending request can be withdrawn; refusals record nothing.

The programme here allows a coordinator alone corrections of up to 20 beans and
allotment batches of up to 200 beans in all."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.store import Store
from ledger.persistence import open_ledger
from ledger.rules import Rules
from tests.api.helpers import status_and_code

A = "/api/v1"
RULES = Rules(correction_approval_above=20, allotment_batch_approval_above=200)


@pytest.fixture
def app(database_url, clock):
    """The API on a ledger whose thresholds are 20 and 200 beans."""
    ledger = open_ledger(database_url, clock=clock, create_tables=True, rules=RULES)
    if not database_url.startswith("memory:"):
        store = Store(database_url)
        store.create_tables()
        store.close()
    app = create_app({"database_url": database_url, "demo": True}, ledger=ledger)
    yield app
    app.extensions["goldbean.store"].close()
    ledger.close()


@pytest.fixture
def li(community):
    li = community.volunteer("Li Wei")
    community.earn(li, 60)
    return li


@pytest.fixture
def preparer(sign_in):
    return sign_in("coordinator")


@pytest.fixture
def second(sign_in):
    return sign_in("coordinator")


def correction(community, li, amount):
    return {
        "account_id": li,
        "amount": amount,
        "reason": "typo",
        "corrects": community.credits(li)[0],
    }


@pytest.mark.parametrize("database_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_a_correction_over_the_threshold_waits_for_another_coordinator(
    community, preparer, second, li
):
    alone = preparer.post(f"{A}/corrections", json=correction(community, li, 20))
    assert alone.status_code == 201  # exactly the threshold
    answer = preparer.post(f"{A}/corrections", json=correction(community, li, 21))

    assert answer.status_code == 202, answer.get_json()
    request = answer.get_json()
    assert (request["kind"], request["status"], request["beans"], request["amount"]) == (
        "correction",
        "pending",
        21,
        21,
    )
    assert community.balance(li) == 40  # nothing taken yet
    listed = second.get(f"{A}/approval-requests").get_json()["items"]
    assert [item["id"] for item in listed] == [request["id"]]

    before = community.log_length
    own = preparer.post(f"{A}/corrections/{request['id']}/approve")
    assert status_and_code(own) == (403, "four_eyes_required")
    assert community.log_length == before

    approved = second.post(f"{A}/corrections/{request['id']}/approve")
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["amount"] == 21
    assert community.balance(li) == 19

    before = community.log_length
    twice = second.post(f"{A}/corrections/{request['id']}/approve")
    assert status_and_code(twice) == (409, "invalid_state")
    assert community.log_length == before
    assert second.get(f"{A}/approval-requests").get_json()["items"] == []


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_a_pending_correction_is_withdrawn_and_then_cannot_be_approved(
    community, preparer, second, li
):
    request = preparer.post(f"{A}/corrections", json=correction(community, li, 30)).get_json()

    as_batch = second.post(f"{A}/allotments/{request['id']}/withdraw", json={})
    assert status_and_code(as_batch) == (404, "not_found")
    withdrawn = second.post(
        f"{A}/corrections/{request['id']}/withdraw", json={"reason": "wrong member"}
    )
    assert withdrawn.status_code == 200
    assert (withdrawn.get_json()["status"], withdrawn.get_json()["decided_by"]) == (
        "withdrawn",
        "coordinator-2",
    )
    before = community.log_length
    assert status_and_code(second.post(f"{A}/corrections/{request['id']}/approve")) == (
        409,
        "invalid_state",
    )
    assert community.log_length == before
    assert community.balance(li) == 60


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_a_correction_that_would_be_refused_is_refused_before_it_is_prepared(
    community, preparer, li
):
    before = community.log_length
    too_much = preparer.post(f"{A}/corrections", json=correction(community, li, 61))
    assert status_and_code(too_much) == (422, "correction_exceeds_credit")
    assert community.log_length == before


@pytest.mark.parametrize("database_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_an_allotment_batch_over_the_threshold_waits_for_another_coordinator(
    community, preparer, second
):
    three = [community.beneficiary(name) for name in ("Granny Zhao", "Grandpa Qian", "Auntie Sun")]
    exactly = preparer.post(f"{A}/allotments", json={"period": "2026-03", "account_ids": three[:2]})
    assert exactly.status_code == 201  # 200 beans: exactly the threshold
    community.beneficiary("Uncle Wu")
    community.beneficiary("Auntie Ma")
    answer = preparer.post(f"{A}/allotments", json={"period": "2026-03"})  # 3 x 100 left

    assert answer.status_code == 202, answer.get_json()
    request = answer.get_json()
    assert (request["kind"], request["beans"], request["period"], len(request["account_ids"])) == (
        "allotments",
        300,
        "2026-03",
        3,
    )
    assert community.balance(three[2]) == 0
    before = community.log_length
    own = preparer.post(f"{A}/allotments/{request['id']}/approve")
    assert status_and_code(own) == (403, "four_eyes_required")
    assert community.log_length == before

    run = second.post(f"{A}/allotments/{request['id']}/approve")
    assert run.status_code == 200, run.get_json()
    assert {k: run.get_json()[k] for k in ("granted", "skipped", "total")} == {
        "granted": 3,
        "skipped": 0,
        "total": 300,
    }
    assert community.balance(three[2]) == 100
    before = community.log_length
    twice = second.post(f"{A}/allotments/{request['id']}/approve")
    assert status_and_code(twice) == (409, "invalid_state")
    assert community.log_length == before


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_a_retried_preparation_prepares_once(community, preparer, li):
    key = {"Idempotency-Key": "big-fix-1"}
    body = correction(community, li, 30)
    first = preparer.post(f"{A}/corrections", json=body, headers=key)
    again = preparer.post(f"{A}/corrections", json=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert len(preparer.get(f"{A}/approval-requests").get_json()["items"]) == 1
