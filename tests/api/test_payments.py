"""Spending beans over HTTP: a terminal redeems payment codes and cards, refunds its own
redemptions, and volunteers pay by scanning a merchant's counter code."""

from __future__ import annotations

import pytest

from ledger.views import Actor
from tests.api.helpers import status_and_code
from tests.scenario import START, Community

AT = START.isoformat()  # the fake clock stands still at 2026-03-10 02:00 UTC


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


@pytest.fixture
def terminal(sign_in, shop):
    return sign_in("merchant", merchant_id=shop)


@pytest.fixture
def li(community):
    """A volunteer who earned 30 beans."""
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    return li


def redeem(terminal, code, amount, **extra):
    headers = extra.pop("headers", None)
    return terminal.post(
        "/api/v1/redemptions", json={"code": code, "amount": amount, **extra}, headers=headers
    )


def terminal_sees(community, sign_in, shop, redemption_id):
    """The merchant's screen confirms the payment from the server."""
    screen = sign_in("merchant", merchant_id=shop)
    return screen.get(f"/api/v1/redemptions/{redemption_id}").get_json()["amount"]


# --- POST /redemptions -------------------------------------------------------------------


def test_a_terminal_redeems_a_volunteers_payment_code(community, terminal, shop, li):
    answer = redeem(terminal, community.payment_code(li), 12, note="two bowls of noodles")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "payer_id": li, "merchant_id": shop, "amount": 12, "at": AT}
    assert community.balance(li) == 18 and community.balance(shop) == 12


def test_only_a_merchant_redeems(community, anonymous, sign_in, li):
    code = community.payment_code(li)
    assert status_and_code(
        anonymous.post("/api/v1/redemptions", json={"code": code, "amount": 1})
    ) == (
        401,
        "unauthenticated",
    )
    for someone in (sign_in("volunteer", account_id=li), sign_in("coordinator")):
        assert status_and_code(redeem(someone, code, 1)) == (403, "forbidden")
    assert community.balance(li) == 30


def test_payment_codes_that_are_malformed_expired_or_used_are_refused(
    community, terminal, clock, li
):
    assert status_and_code(redeem(terminal, "1234", 5)) == (422, "invalid_code")
    genuine = community.payment_code(li)
    forged = genuine[:-1] + str((int(genuine[-1]) + 1) % 10)  # the signature no longer fits
    assert status_and_code(redeem(terminal, forged, 5)) == (422, "invalid_code")

    stale = community.payment_code(li)
    clock.advance(seconds=61)
    assert status_and_code(redeem(terminal, stale, 5)) == (422, "code_expired")

    fresh = community.payment_code(li)
    assert redeem(terminal, fresh, 5).status_code == 201
    assert status_and_code(redeem(terminal, fresh, 5)) == (409, "code_used")
    assert community.balance(li) == 25


def test_a_till_refused_for_want_of_beans_learns_no_balance(community, terminal, li):
    """The refusal used to say "the account holds 30 beans, 31 are needed": a till could
    learn any customer's balance by asking for too much."""
    refused = redeem(terminal, community.payment_code(li), 31)
    assert status_and_code(refused) == (409, "insufficient_balance")
    detail = refused.get_json()["detail"]
    assert not any(ch.isdigit() for ch in detail), detail


def test_the_ledger_limits_answer_for_large_or_unaffordable_amounts(community, terminal, shop, li):
    assert status_and_code(redeem(terminal, community.payment_code(li), 501)) == (
        422,
        "limit_exceeded",
    )
    assert status_and_code(redeem(terminal, community.payment_code(li), 31)) == (
        409,
        "insufficient_balance",
    )
    community.ledger.suspend_merchant(shop, Actor("admin"))
    assert status_and_code(redeem(terminal, community.payment_code(li), 5)) == (
        403,
        "merchant_suspended",
    )
    assert community.balance(li) == 30 and community.balance(shop) == 0


def test_beneficiary_cards_with_their_rules(community, terminal, sign_in, shop):
    wang = community.beneficiary("Grandma Wang")
    community.ledger.grant_allotments("2026-03", Actor("c"), account_ids=[wang])
    card = community.card(wang, pin="2468")

    answer = redeem(terminal, card, 20, pin="2468")
    assert answer.status_code == 201
    assert answer.get_json()["payer_id"] == wang and answer.get_json()["merchant_id"] == shop
    assert status_and_code(redeem(terminal, card, 31, pin="2468")) == (
        422,
        "limit_exceeded",
    )  # 50 a day
    assert status_and_code(redeem(terminal, card, 5)) == (422, "pin_required")
    assert status_and_code(redeem(terminal, card, 5, pin="")) == (422, "pin_required")
    assert status_and_code(redeem(terminal, card, 5, pin="9999")) == (422, "wrong_pin")

    restaurant = community.merchant("Hot Pot Palace", category="restaurant")
    elsewhere = sign_in("merchant", merchant_id=restaurant)
    assert status_and_code(redeem(elsewhere, card, 5, pin="2468")) == (403, "merchant_not_allowed")

    new_card = community.card(wang, pin="1357")
    assert status_and_code(redeem(terminal, card, 5, pin="2468")) == (422, "card_revoked")
    for _ in range(6):  # a missing PIN uses up no try
        assert status_and_code(redeem(terminal, new_card, 5)) == (422, "pin_required")
    for _ in range(4):
        assert status_and_code(redeem(terminal, new_card, 5, pin="0000")) == (422, "wrong_pin")
    assert status_and_code(redeem(terminal, new_card, 5, pin="0000")) == (422, "card_locked")
    assert status_and_code(redeem(terminal, new_card, 5, pin="1357")) == (422, "card_locked")
    assert community.balance(wang) == 80


def test_a_redemption_body_is_checked_at_the_edge(community, terminal, li):
    code = community.payment_code(li)
    for body in (
        {"code": code, "amount": "5"},
        {"code": code, "amount": 0},
        {"code": code, "amount": 2.5},
        {"code": code},
        {"code": code, "amount": 5, "tip": 1},
    ):
        answer = terminal.post("/api/v1/redemptions", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body
    assert community.balance(li) == 30


def test_a_retried_redemption_moves_beans_once(community, terminal, shop, li):
    code, key = community.payment_code(li), {"Idempotency-Key": "pos-7-0001"}
    first = redeem(terminal, code, 7, headers=key)
    again = redeem(terminal, code, 7, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert community.balance(li) == 23 and community.balance(shop) == 7

    other = redeem(terminal, code, 8, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert community.balance(li) == 23 and community.balance(shop) == 7


# --- GET /redemptions/{id} ---------------------------------------------------------------


def test_a_redemption_is_shown_to_its_merchant_its_payer_and_staff(
    community, terminal, sign_in, anonymous, shop, li
):
    made = community.spend(li, shop, 9)
    path = f"/api/v1/redemptions/{made.id}"
    expected = {
        "id": made.id,
        "payer_id": li,
        "merchant_id": shop,
        "amount": 9,
        "refunded": 0,
        "at": AT,
    }
    readers = [terminal, sign_in("volunteer", account_id=li)]
    readers += [sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")]
    for reader in readers:
        answer = reader.get(path)
        assert answer.status_code == 200 and answer.get_json() == expected

    other_shop = sign_in("merchant", merchant_id=community.merchant("Other Shop"))
    other_volunteer = sign_in("volunteer", account_id=community.volunteer("Zhao"))
    for stranger in (other_shop, other_volunteer):
        assert status_and_code(stranger.get(path)) == (403, "forbidden")
    assert status_and_code(anonymous.get(path)) == (401, "unauthenticated")
    assert status_and_code(terminal.get("/api/v1/redemptions/no-such-id")) == (404, "not_found")


# --- POST /redemptions/{id}/refunds ------------------------------------------------------


def test_the_merchant_refunds_part_of_a_redemption(community, terminal, shop, li):
    made = community.spend(li, shop, 10)
    answer = terminal.post(f"/api/v1/redemptions/{made.id}/refunds", json={"amount": 4})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "redemption_id": made.id, "amount": 4}
    assert community.balance(li) == 24 and community.balance(shop) == 6
    assert terminal.get(f"/api/v1/redemptions/{made.id}").get_json()["refunded"] == 4

    more = terminal.post(f"/api/v1/redemptions/{made.id}/refunds", json={"amount": 7})
    assert status_and_code(more) == (422, "refund_exceeds_redemption")


def test_only_the_merchant_itself_refunds(community, terminal, sign_in, anonymous, shop, li):
    made = community.spend(li, shop, 10)
    path = f"/api/v1/redemptions/{made.id}/refunds"
    other_shop = sign_in("merchant", merchant_id=community.merchant("Other Shop"))
    assert status_and_code(other_shop.post(path, json={"amount": 1})) == (404, "not_found")
    for someone in (sign_in("volunteer", account_id=li), sign_in("coordinator")):
        assert status_and_code(someone.post(path, json={"amount": 1})) == (403, "forbidden")
    assert status_and_code(anonymous.post(path, json={"amount": 1})) == (401, "unauthenticated")
    assert status_and_code(
        terminal.post("/api/v1/redemptions/nope/refunds", json={"amount": 1})
    ) == (
        404,
        "not_found",
    )
    assert community.balance(li) == 20 and community.balance(shop) == 10


def test_refunds_after_the_window_are_refused_and_of_settled_beans_owed(
    community, sign_in, clock, shop, li
):
    early = community.spend(li, shop, 10)
    clock.advance(days=31)
    community.earn(li, 10)
    terminal = sign_in("merchant", merchant_id=shop)  # a session of today
    late = terminal.post(f"/api/v1/redemptions/{early.id}/refunds", json={"amount": 1})
    assert status_and_code(late) == (422, "refund_window_closed")

    # a sale already in a settlement is refunded within the window: the shop owes it
    recent = community.spend(li, shop, 5)
    community.ledger.prepare_settlement(Community.officer, cutoff=community.today.replace(day=11))
    reserved = terminal.post(f"/api/v1/redemptions/{recent.id}/refunds", json={"amount": 5})
    assert reserved.status_code == 201
    assert community.balance(shop) == 10 and community.unsettled(shop) == -5


def test_a_retried_refund_gives_back_once(community, terminal, shop, li):
    made = community.spend(li, shop, 10)
    path, key = f"/api/v1/redemptions/{made.id}/refunds", {"Idempotency-Key": "refund-1"}
    first = terminal.post(path, json={"amount": 3}, headers=key)
    again = terminal.post(path, json={"amount": 3}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert community.balance(li) == 23 and community.balance(shop) == 7
    assert status_and_code(terminal.post(path, json={"amount": 2}, headers=key)) == (
        422,
        "idempotency_key_reused",
    )
    assert community.balance(li) == 23 and community.balance(shop) == 7


# --- POST /payments ----------------------------------------------------------------------


def test_a_volunteer_pays_by_scanning_the_counter_code(community, sign_in, shop, li):
    volunteer = sign_in("volunteer", account_id=li)
    counter = community.ledger.get_merchant(shop).merchant_code
    answer = volunteer.post("/api/v1/payments", json={"merchant_code": counter, "amount": 11})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "payer_id": li, "merchant_id": shop, "amount": 11, "at": AT}
    assert community.balance(li) == 19 and community.balance(shop) == 11
    assert terminal_sees(community, sign_in, shop, body["id"]) == 11


def test_payments_are_refused_for_other_roles_and_bad_codes_or_amounts(
    community, sign_in, anonymous, terminal, shop, li
):
    counter = community.ledger.get_merchant(shop).merchant_code
    body = {"merchant_code": counter, "amount": 5}
    assert status_and_code(anonymous.post("/api/v1/payments", json=body)) == (
        401,
        "unauthenticated",
    )
    for someone in (terminal, sign_in("coordinator")):
        assert status_and_code(someone.post("/api/v1/payments", json=body)) == (403, "forbidden")

    volunteer = sign_in("volunteer", account_id=li)
    pay = volunteer.post
    wrong_digit = counter[:-1] + str((int(counter[-1]) + 1) % 10)
    assert status_and_code(
        pay("/api/v1/payments", json={**body, "merchant_code": wrong_digit})
    ) == (
        422,
        "invalid_code",
    )
    assert status_and_code(pay("/api/v1/payments", json={**body, "amount": 501})) == (
        422,
        "limit_exceeded",
    )
    assert status_and_code(pay("/api/v1/payments", json={**body, "amount": 31})) == (
        409,
        "insufficient_balance",
    )
    assert status_and_code(pay("/api/v1/payments", json={**body, "extra": True})) == (
        422,
        "validation_error",
    )
    community.ledger.suspend_merchant(shop, Actor("admin"))
    assert status_and_code(pay("/api/v1/payments", json=body)) == (403, "merchant_suspended")
    assert community.balance(li) == 30 and community.balance(shop) == 0


def test_a_retried_payment_pays_once(community, sign_in, shop, li):
    volunteer = sign_in("volunteer", account_id=li)
    counter = community.ledger.get_merchant(shop).merchant_code
    key = {"Idempotency-Key": "scan-42"}
    body = {"merchant_code": counter, "amount": 6}
    first = volunteer.post("/api/v1/payments", json=body, headers=key)
    again = volunteer.post("/api/v1/payments", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert community.balance(li) == 24 and community.balance(shop) == 6
    other = volunteer.post("/api/v1/payments", json={**body, "amount": 9}, headers=key)
    assert status_and_code(other) == (422, "idempotency_key_reused")
    assert community.balance(li) == 24 and community.balance(shop) == 6


def test_a_till_that_keeps_presenting_bad_codes_or_pins_is_made_to_wait(
    app, community, terminal, sign_in, shop, li
):
    """Guessing cards or PINs from one till: after 20 invalid codes or wrong PINs in 15
    minutes it gets 429 with Retry-After, even for a good code; other tills are not held
    up, expired or used codes are not guesses, and the wait ends."""
    wang = community.beneficiary("Wang Fang")
    community.give(li, wang, 20)
    card = community.card(wang, pin="2468")
    limit = app.extensions["goldbean.auth"].max_code_failures
    for number in range(limit):
        guess = "G" + str(number).zfill(5) if number % 2 else card
        status, code = status_and_code(redeem(terminal, guess, 1, pin="9999"))
        assert code in ("invalid_code", "wrong_pin", "card_locked"), (status, code)
    community.ledger.unlock_card(wang, community.coordinator)
    stopped = redeem(terminal, card, 1, pin="2468", headers={"Idempotency-Key": "after-wait"})
    assert status_and_code(stopped) == (429, "too_many_requests")
    assert int(stopped.headers["Retry-After"]) > 0
    assert community.ledger.get_balance(wang) == 20  # nothing moved

    other_till = sign_in("merchant", merchant_id=shop)
    assert redeem(other_till, card, 1, pin="2468").status_code == 201

    community.advance(minutes=16)
    retried = redeem(terminal, card, 1, pin="2468", headers={"Idempotency-Key": "after-wait"})
    assert retried.status_code == 201, retried.get_json()  # the 429 was not kept for the key
