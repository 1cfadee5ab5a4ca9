"""At the till (issue 17, item 10): a limit refusal says which limit and, for a card's
daily limit, how much is left today; a card sale's receipt says the beans left on the card;
no refusal ever says a balance."""

from __future__ import annotations

import re

import pytest

from ledger.views import Actor
from tests.api.helpers import status_and_code


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


@pytest.fixture
def terminal(sign_in, shop):
    return sign_in("merchant", merchant_id=shop)


def redeem(terminal, code, amount, **extra):
    return terminal.post("/api/v1/redemptions", json={"code": code, "amount": amount, **extra})


def told(problem: dict) -> set[int]:
    """Every number a problem says, in its fields or its detail (not its request id)."""
    said = {v for k, v in problem.items() if isinstance(v, int) and k != "status"}
    return said | {int(n) for n in re.findall(r"\d+", problem["detail"])}


def test_the_per_transaction_maximum_is_named_and_no_balance_is(community, terminal, shop):
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    refused = redeem(terminal, community.payment_code(li), 501)
    assert status_and_code(refused) == (422, "limit_exceeded")
    problem = refused.get_json()
    assert refused.mimetype == "application/problem+json"
    assert problem["limit"] == "per_transaction"
    assert problem["limit_beans"] == 500
    assert "left_today" not in problem
    assert "500" in problem["detail"] and "30" not in problem["detail"]
    assert community.balance(li) == 30


def test_a_cards_daily_limit_says_what_is_left_today_and_its_receipt_the_balance(
    community, terminal, shop
):
    wang = community.beneficiary("Grandma Wang")
    community.ledger.grant_allotments("2026-03", Actor("c"), account_ids=[wang])
    held = community.balance(wang)
    card = community.card(wang, pin="2468")

    sold = redeem(terminal, card, 20, pin="2468")
    assert sold.status_code == 201
    assert sold.get_json()["card_balance"] == held - 20 == community.balance(wang)

    refused = redeem(terminal, card, 31, pin="2468")
    assert status_and_code(refused) == (422, "limit_exceeded")
    problem = refused.get_json()
    assert (problem["limit"], problem["limit_beans"], problem["left_today"]) == (
        "card_daily",
        50,
        30,
    )
    assert "30 left today" in problem["detail"]
    assert held - 20 not in told(problem)  # the balance is not told

    # the limit is checked after the PIN: a wrong PIN learns nothing about today's spending
    wrong = redeem(terminal, card, 31, pin="1111")
    assert status_and_code(wrong) == (422, "wrong_pin")
    assert "left_today" not in wrong.get_json()

    last = redeem(terminal, card, 30, pin="2468")
    assert last.status_code == 201 and last.get_json()["card_balance"] == held - 50
    spent = redeem(terminal, card, 1, pin="2468")
    assert spent.get_json()["left_today"] == 0


def test_a_payment_codes_receipt_has_no_balance_nor_has_a_refusal_for_want_of_beans(
    community, terminal, shop
):
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    sold = redeem(terminal, community.payment_code(li), 12)
    assert sold.status_code == 201 and "card_balance" not in sold.get_json()

    wang = community.beneficiary("Grandma Wang")
    community.give(li, wang, 7)
    card = community.card(wang)
    short = redeem(terminal, card, 9)
    assert status_and_code(short) == (409, "insufficient_balance")
    assert 7 not in told(short.get_json())
    assert community.balance(wang) == 7


def test_a_limit_refusal_keeps_its_fields_with_an_idempotency_key_and_on_replay(
    community, terminal
):
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    key = {"Idempotency-Key": "pos-limit-1"}
    body = {"code": community.payment_code(li), "amount": 501}
    first = terminal.post("/api/v1/redemptions", json=body, headers=key)
    again = terminal.post("/api/v1/redemptions", json=body, headers=key)
    for answer in (first, again):
        assert status_and_code(answer) == (422, "limit_exceeded")
        assert answer.get_json()["limit"] == "per_transaction"
    assert again.headers["Idempotent-Replayed"] == "true"
