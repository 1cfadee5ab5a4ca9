"""Giving and granting beans over HTTP: a volunteer gives to a grandmother and to the
gift pool, a coordinator allocates the pool, corrects an award and grants the month's
allotments."""

from __future__ import annotations

import pytest

from tests.api.helpers import status_and_code


@pytest.fixture
def li(community):
    """A volunteer who earned 30 beans."""
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    return li


@pytest.fixture
def wang(community):
    return community.beneficiary("Grandma Wang")


@pytest.fixture
def giver(sign_in, li):
    return sign_in("volunteer", account_id=li)


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


def test_a_volunteer_gives_to_a_beneficiary_and_to_the_pool(community, giver, li, wang):
    answer = giver.post("/api/v1/gifts", json={"to": wang, "amount": 8, "message": "祝您健康"})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "from_id": li, "to": wang, "amount": 8}

    pooled = giver.post("/api/v1/gifts", json={"to": "pool", "amount": 5})
    assert pooled.status_code == 201
    body = pooled.get_json()
    assert body == {"id": body["id"], "from_id": li, "to": "pool", "amount": 5}
    assert (community.balance(li), community.balance(wang), community.balance("pool")) == (17, 8, 5)


def test_a_gift_s_message_stays_out_of_the_log_and_reaches_the_receiver(
    community, giver, sign_in, wang
):
    """Free text may name people: the log (which is published) keeps no message; the
    personal-data store keeps it under the gift's id, for the receiver's history."""
    answer = giver.post("/api/v1/gifts", json={"to": wang, "amount": 2, "message": "祝您健康"})
    gift_id = answer.get_json()["id"]
    logged = community.ledger.read_log(0, 10_000)
    assert not any("祝您健康" in str(event) for event in logged)
    assert community.ledger.gift_messages([gift_id]) == {gift_id: "祝您健康"}
    silent = giver.post("/api/v1/gifts", json={"to": wang, "amount": 1}).get_json()["id"]
    assert community.ledger.gift_messages([silent]) == {}


def test_erasing_the_giver_or_the_receiver_erases_the_gift_s_message(community, giver, li, wang):
    from ledger.views import Actor

    to_wang = giver.post("/api/v1/gifts", json={"to": wang, "amount": 2, "message": "王奶奶好"})
    to_pool = giver.post("/api/v1/gifts", json={"to": "pool", "amount": 1, "message": "李伟敬上"})
    first, second = to_wang.get_json()["id"], to_pool.get_json()["id"]
    ledger = community.ledger
    ledger.request_erasure(wang, Actor("one"))
    ledger.approve_erasure(wang, Actor("two"))  # the receiver of the first
    assert ledger.gift_messages([first, second]) == {second: "李伟敬上"}
    ledger.request_erasure(li, Actor("one"))
    ledger.approve_erasure(li, Actor("two"))  # the giver of both
    assert ledger.gift_messages([first, second]) == {}


def test_only_a_volunteer_gives(community, sign_in, anonymous, wang):
    body = {"to": wang, "amount": 1}
    assert status_and_code(anonymous.post("/api/v1/gifts", json=body)) == (401, "unauthenticated")
    for role, ids in (("beneficiary", {"account_id": wang}), ("coordinator", {})):
        assert status_and_code(sign_in(role, **ids).post("/api/v1/gifts", json=body)) == (
            403,
            "forbidden",
        )


def test_a_gift_beyond_the_balance_or_to_no_beneficiary_is_refused(community, giver, li, wang):
    assert status_and_code(giver.post("/api/v1/gifts", json={"to": wang, "amount": 31})) == (
        409,
        "insufficient_balance",
    )
    zhao = community.volunteer("Zhao")  # a volunteer, not a beneficiary
    for to in (zhao, "nobody"):
        assert status_and_code(giver.post("/api/v1/gifts", json={"to": to, "amount": 1})) == (
            404,
            "not_found",
        )
    for body in (
        {"to": wang, "amount": 0},
        {"to": wang, "amount": "3"},
        {"to": wang, "amount": 3, "message": "x" * 201},
        {"to": wang, "amount": 3, "from": li},
    ):
        assert status_and_code(giver.post("/api/v1/gifts", json=body)) == (
            422,
            "validation_error",
        ), body
    assert (community.balance(li), community.balance(wang)) == (30, 0)


def test_a_retried_gift_is_given_once(community, giver, li, wang):
    key = {"Idempotency-Key": "gift-2026-03-10"}
    first = giver.post("/api/v1/gifts", json={"to": wang, "amount": 4}, headers=key)
    again = giver.post("/api/v1/gifts", json={"to": wang, "amount": 4}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = giver.post("/api/v1/gifts", json={"to": wang, "amount": 5}, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert (community.balance(li), community.balance(wang)) == (26, 4)


# --- POST /pool/allocations ----------------------------------------------------------------


def test_a_coordinator_allocates_the_pool_to_a_beneficiary(community, coordinator, li, wang):
    community.give(li, "pool", 12)
    answer = coordinator.post("/api/v1/pool/allocations", json={"to": wang, "amount": 10})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "to": wang, "amount": 10}
    assert (community.balance("pool"), community.balance(wang)) == (2, 10)

    short = coordinator.post("/api/v1/pool/allocations", json={"to": wang, "amount": 3})
    assert status_and_code(short) == (409, "insufficient_balance")
    nobody = coordinator.post("/api/v1/pool/allocations", json={"to": li, "amount": 1})
    assert status_and_code(nobody) == (404, "not_found")
    assert (community.balance("pool"), community.balance(wang)) == (2, 10)


def test_only_a_coordinator_allocates_the_pool(community, sign_in, anonymous, li, wang):
    community.give(li, "pool", 5)
    body = {"to": wang, "amount": 1}
    assert status_and_code(anonymous.post("/api/v1/pool/allocations", json=body)) == (
        401,
        "unauthenticated",
    )
    for someone in (sign_in("volunteer", account_id=li), sign_in("fund_officer")):
        assert status_and_code(someone.post("/api/v1/pool/allocations", json=body)) == (
            403,
            "forbidden",
        )
    assert community.balance("pool") == 5


def test_a_retried_allocation_moves_beans_once(community, coordinator, li, wang):
    community.give(li, "pool", 20)
    key = {"Idempotency-Key": "alloc-1"}
    first = coordinator.post(
        "/api/v1/pool/allocations", json={"to": wang, "amount": 6}, headers=key
    )
    again = coordinator.post(
        "/api/v1/pool/allocations", json={"to": wang, "amount": 6}, headers=key
    )
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = coordinator.post(
        "/api/v1/pool/allocations", json={"to": wang, "amount": 7}, headers=key
    )
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert (community.balance("pool"), community.balance(wang)) == (14, 6)


# --- POST /corrections ---------------------------------------------------------------------


def test_a_coordinator_takes_back_an_erroneous_award(community, coordinator, li):
    wrong = community.earn(li, 5)[0]
    answer = coordinator.post(
        "/api/v1/corrections",
        json={"account_id": li, "amount": 5, "reason": "reported twice", "corrects": wrong},
    )
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "account_id": li, "amount": 5, "corrects": wrong}
    assert community.balance(li) == 30
    assert community.check_books().corrected == 5

    (thirty,) = community.credits(li)[:1]
    too_much = coordinator.post(
        "/api/v1/corrections",
        json={"account_id": li, "amount": 31, "reason": "oops", "corrects": thirty},
    )
    assert status_and_code(too_much) == (422, "correction_exceeds_credit")
    for body in (
        {"account_id": li, "amount": 1, "corrects": thirty},
        {"account_id": li, "amount": 1, "reason": "", "corrects": thirty},
        {"account_id": li, "amount": -1, "reason": "negative", "corrects": thirty},
        {"account_id": li, "amount": 1, "reason": "r", "corrects": thirty, "by": "me"},
        {"account_id": li, "amount": 1, "reason": "names no credit"},
    ):
        answer = coordinator.post("/api/v1/corrections", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body
    merchant = community.merchant("Corner Grocery")
    not_a_member = coordinator.post(
        "/api/v1/corrections",
        json={"account_id": merchant, "amount": 1, "reason": "no", "corrects": thirty},
    )
    assert status_and_code(not_a_member) == (404, "not_found")
    assert community.balance(li) == 30


def test_a_correction_must_name_a_credit_of_that_account_and_what_is_left_of_it(
    community, coordinator, li
):
    wang = community.volunteer("Wang Fang")
    (fifteen,) = community.earn(wang, 15)
    (ninety,) = community.earn(wang, 90)
    (lis,) = community.credits(li)[:1]
    before = community.log_length

    def correct(amount: int, corrects: str):
        body = {"account_id": wang, "amount": amount, "reason": "r", "corrects": corrects}
        answer = coordinator.post("/api/v1/corrections", json=body)
        return (201, None) if answer.status_code == 201 else status_and_code(answer)

    assert correct(1, "not-a-ref") == (422, "unknown_credit")
    assert correct(1, lis) == (422, "unknown_credit")  # another account's award
    assert correct(30, fifteen) == (422, "correction_exceeds_credit")
    assert community.log_length == before
    assert correct(90, ninety)[0] == 201
    assert correct(90, ninety) == (422, "correction_exceeds_credit")  # not twice
    assert correct(15, fifteen.upper())[0] == 201  # exactly what is left, any case
    assert community.balance(wang) == 0


def test_only_a_coordinator_corrects(community, sign_in, anonymous, li):
    (award,) = community.credits(li)[:1]
    body = {"account_id": li, "amount": 1, "reason": "test", "corrects": award}
    assert status_and_code(anonymous.post("/api/v1/corrections", json=body)) == (
        401,
        "unauthenticated",
    )
    for role in ("fund_officer", "auditor", "admin"):
        assert status_and_code(sign_in(role).post("/api/v1/corrections", json=body)) == (
            403,
            "forbidden",
        )
    assert community.balance(li) == 30


def test_a_retried_correction_takes_back_once(community, coordinator, li):
    (award,) = community.credits(li)[:1]
    key = {"Idempotency-Key": "fix-1"}
    body = {"account_id": li, "amount": 3, "reason": "double award", "corrects": award}
    first = coordinator.post("/api/v1/corrections", json=body, headers=key)
    again = coordinator.post("/api/v1/corrections", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = coordinator.post("/api/v1/corrections", json={**body, "amount": 4}, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert community.balance(li) == 27


# --- POST /allotments ----------------------------------------------------------------------


def test_a_coordinator_grants_the_months_allotments_once_per_beneficiary(
    community, coordinator, wang
):
    zhou = community.beneficiary("Grandpa Zhou")
    answer = coordinator.post("/api/v1/allotments", json={"period": "2026-03"})
    assert answer.status_code == 201
    assert answer.get_json() == {"period": "2026-03", "granted": 2, "skipped": 0, "total": 200}
    assert (community.balance(wang), community.balance(zhou)) == (100, 100)

    again = coordinator.post("/api/v1/allotments", json={"period": "2026-03"})
    assert again.status_code == 201
    assert again.get_json() == {"period": "2026-03", "granted": 0, "skipped": 2, "total": 0}

    assert (community.balance(wang), community.balance(zhou)) == (100, 100)


def test_allotments_are_bounded_and_a_refusal_grants_nobody(community, coordinator, wang):
    for body, refusal in (
        ({"period": "2020-01", "amount": 1_000_000}, (422, "period_not_open")),
        ({"period": "2026-02", "account_ids": [wang]}, (422, "period_not_open")),  # last month
        ({"period": "2026-04"}, (422, "period_not_open")),  # next month
        ({"period": "2026-03", "amount": 101}, (422, "limit_exceeded")),
        ({"period": "2026-03", "account_ids": [wang, "not-an-account"]}, (404, "not_found")),
    ):
        answer = coordinator.post("/api/v1/allotments", json=body)
        assert status_and_code(answer) == refusal, body
    assert community.balance(wang) == 0
    exactly = coordinator.post("/api/v1/allotments", json={"period": "2026-03", "amount": 100})
    assert exactly.get_json()["total"] == 100


def test_allotments_for_a_future_or_malformed_period_are_refused(community, coordinator, wang):
    for body in (
        {"period": "2026-3"},
        {"period": "2026-13"},
        {"period": "2026-03", "amount": 0},
        {"period": "2026-03", "account_ids": wang},
        {"period": "2026-03", "beans": 100},
    ):
        answer = coordinator.post("/api/v1/allotments", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body
    assert community.balance(wang) == 0


def test_only_a_coordinator_grants_allotments(community, sign_in, anonymous, li, wang):
    body = {"period": "2026-03"}
    assert status_and_code(anonymous.post("/api/v1/allotments", json=body)) == (
        401,
        "unauthenticated",
    )
    for someone in (sign_in("volunteer", account_id=li), sign_in("admin")):
        assert status_and_code(someone.post("/api/v1/allotments", json=body)) == (403, "forbidden")
    assert community.balance(wang) == 0


def test_a_retried_allotment_run_answers_the_same(community, coordinator, wang):
    key = {"Idempotency-Key": "allot-2026-03"}
    first = coordinator.post("/api/v1/allotments", json={"period": "2026-03"}, headers=key)
    again = coordinator.post("/api/v1/allotments", json={"period": "2026-03"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert (
        again.get_json()
        == first.get_json()
        == {
            "period": "2026-03",
            "granted": 1,
            "skipped": 0,
            "total": 100,
        }
    )
    other = coordinator.post("/api/v1/allotments", json={"period": "2026-02"}, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert community.balance(wang) == 100
