"""Spending beans over HTTP: a terminal redeems payment codes and cards, refunds its own
redemptions, and volunteers pay by scanning a merchant's counter code."""

from __future__ import annotations

import pytest

from ledger.views import Actor
from tests.scenario import START, Community

AT = START.isoformat()  # the fake clock stands still at 2026-03-10 02:00 UTC


@pytest.fixture
def town(app, clock):
    return Community(app.extensions["goldbean.ledger"], clock)


@pytest.fixture
def shop(town):
    return town.merchant("Corner Grocery")


@pytest.fixture
def terminal(sign_in, shop):
    return sign_in("merchant", merchant_id=shop)


@pytest.fixture
def li(town):
    """A volunteer who earned 30 beans."""
    li = town.volunteer("Li Wei")
    town.earn(li, 30)
    return li


def redeem(terminal, code, amount, **extra):
    headers = extra.pop("headers", None)
    return terminal.post(
        "/api/v1/redemptions", json={"code": code, "amount": amount, **extra}, headers=headers
    )


def code_of(answer):
    assert answer.mimetype == "application/problem+json", answer.get_data(as_text=True)
    return answer.status_code, answer.get_json()["code"]


def terminal_sees(town, sign_in, shop, redemption_id):
    """The merchant's screen confirms the payment from the server."""
    screen = sign_in("merchant", merchant_id=shop)
    return screen.get(f"/api/v1/redemptions/{redemption_id}").get_json()["amount"]


# --- POST /redemptions -------------------------------------------------------------------


def test_a_terminal_redeems_a_volunteers_payment_code(town, terminal, shop, li):
    answer = redeem(terminal, town.payment_code(li), 12, note="two bowls of noodles")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "payer_id": li, "merchant_id": shop, "amount": 12, "at": AT}
    assert town.balance(li) == 18 and town.balance(shop) == 12


def test_only_a_merchant_redeems(town, anonymous, sign_in, li):
    code = town.payment_code(li)
    assert code_of(anonymous.post("/api/v1/redemptions", json={"code": code, "amount": 1})) == (
        401,
        "unauthenticated",
    )
    for someone in (sign_in("volunteer", account_id=li), sign_in("coordinator")):
        assert code_of(redeem(someone, code, 1)) == (403, "forbidden")
    assert town.balance(li) == 30


def test_payment_codes_that_are_malformed_expired_or_used_are_refused(town, terminal, clock, li):
    assert code_of(redeem(terminal, "1234", 5)) == (422, "invalid_code")
    genuine = town.payment_code(li)
    forged = genuine[:-1] + str((int(genuine[-1]) + 1) % 10)  # the signature no longer fits
    assert code_of(redeem(terminal, forged, 5)) == (422, "invalid_code")

    stale = town.payment_code(li)
    clock.advance(seconds=61)
    assert code_of(redeem(terminal, stale, 5)) == (422, "code_expired")

    fresh = town.payment_code(li)
    assert redeem(terminal, fresh, 5).status_code == 201
    assert code_of(redeem(terminal, fresh, 5)) == (409, "code_used")
    assert town.balance(li) == 25


def test_the_ledger_limits_answer_for_large_or_unaffordable_amounts(town, terminal, shop, li):
    assert code_of(redeem(terminal, town.payment_code(li), 501)) == (422, "limit_exceeded")
    assert code_of(redeem(terminal, town.payment_code(li), 31)) == (409, "insufficient_balance")
    town.ledger.suspend_merchant(shop, Actor("admin"))
    assert code_of(redeem(terminal, town.payment_code(li), 5)) == (403, "merchant_suspended")
    assert town.balance(li) == 30 and town.balance(shop) == 0


def test_beneficiary_cards_with_their_rules(town, terminal, sign_in, shop):
    wang = town.beneficiary("Grandma Wang")
    town.ledger.grant_allotments("2026-03", Actor("c"), account_ids=[wang])
    card = town.card(wang, pin="2468")

    answer = redeem(terminal, card, 20, pin="2468")
    assert answer.status_code == 201
    assert answer.get_json()["payer_id"] == wang and answer.get_json()["merchant_id"] == shop
    assert code_of(redeem(terminal, card, 31, pin="2468")) == (422, "limit_exceeded")  # 50 a day
    assert code_of(redeem(terminal, card, 5)) == (422, "wrong_pin")

    restaurant = town.merchant("Hot Pot Palace", category="restaurant")
    elsewhere = sign_in("merchant", merchant_id=restaurant)
    assert code_of(redeem(elsewhere, card, 5, pin="2468")) == (403, "merchant_not_allowed")

    new_card = town.card(wang, pin="1357")
    assert code_of(redeem(terminal, card, 5, pin="2468")) == (422, "card_revoked")
    for _ in range(4):
        assert code_of(redeem(terminal, new_card, 5, pin="0000")) == (422, "wrong_pin")
    assert code_of(redeem(terminal, new_card, 5, pin="0000")) == (422, "card_locked")
    assert code_of(redeem(terminal, new_card, 5, pin="1357")) == (422, "card_locked")
    assert town.balance(wang) == 80


def test_a_redemption_body_is_checked_at_the_edge(town, terminal, li):
    code = town.payment_code(li)
    for body in (
        {"code": code, "amount": "5"},
        {"code": code, "amount": 0},
        {"code": code, "amount": 2.5},
        {"code": code},
        {"code": code, "amount": 5, "tip": 1},
    ):
        answer = terminal.post("/api/v1/redemptions", json=body)
        assert code_of(answer) == (422, "validation_error"), body
    assert town.balance(li) == 30


def test_a_retried_redemption_moves_beans_once(town, terminal, shop, li):
    code, key = town.payment_code(li), {"Idempotency-Key": "pos-7-0001"}
    first = redeem(terminal, code, 7, headers=key)
    again = redeem(terminal, code, 7, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert town.balance(li) == 23 and town.balance(shop) == 7

    other = redeem(terminal, code, 8, headers=key)
    assert code_of(other) == (422, "idempotency_key_reused")
    assert town.balance(li) == 23 and town.balance(shop) == 7


# --- GET /redemptions/{id} ---------------------------------------------------------------


def test_a_redemption_is_shown_to_its_merchant_its_payer_and_staff(
    town, terminal, sign_in, anonymous, shop, li
):
    made = town.spend(li, shop, 9)
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

    other_shop = sign_in("merchant", merchant_id=town.merchant("Other Shop"))
    other_volunteer = sign_in("volunteer", account_id=town.volunteer("Zhao"))
    for stranger in (other_shop, other_volunteer):
        assert code_of(stranger.get(path)) == (403, "forbidden")
    assert code_of(anonymous.get(path)) == (401, "unauthenticated")
    assert code_of(terminal.get("/api/v1/redemptions/no-such-id")) == (404, "not_found")


# --- POST /redemptions/{id}/refunds ------------------------------------------------------


def test_the_merchant_refunds_part_of_a_redemption(town, terminal, shop, li):
    made = town.spend(li, shop, 10)
    answer = terminal.post(f"/api/v1/redemptions/{made.id}/refunds", json={"amount": 4})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "redemption_id": made.id, "amount": 4}
    assert town.balance(li) == 24 and town.balance(shop) == 6
    assert terminal.get(f"/api/v1/redemptions/{made.id}").get_json()["refunded"] == 4

    more = terminal.post(f"/api/v1/redemptions/{made.id}/refunds", json={"amount": 7})
    assert code_of(more) == (422, "refund_exceeds_redemption")


def test_only_the_merchant_itself_refunds(town, terminal, sign_in, anonymous, shop, li):
    made = town.spend(li, shop, 10)
    path = f"/api/v1/redemptions/{made.id}/refunds"
    other_shop = sign_in("merchant", merchant_id=town.merchant("Other Shop"))
    assert code_of(other_shop.post(path, json={"amount": 1})) == (404, "not_found")
    for someone in (sign_in("volunteer", account_id=li), sign_in("coordinator")):
        assert code_of(someone.post(path, json={"amount": 1})) == (403, "forbidden")
    assert code_of(anonymous.post(path, json={"amount": 1})) == (401, "unauthenticated")
    assert code_of(terminal.post("/api/v1/redemptions/nope/refunds", json={"amount": 1})) == (
        404,
        "not_found",
    )
    assert town.balance(li) == 20 and town.balance(shop) == 10


def test_refunds_after_the_window_or_of_settled_beans_are_refused(town, sign_in, clock, shop, li):
    early = town.spend(li, shop, 10)
    clock.advance(days=31)
    town.earn(li, 10)
    terminal = sign_in("merchant", merchant_id=shop)  # a session of today
    late = terminal.post(f"/api/v1/redemptions/{early.id}/refunds", json={"amount": 1})
    assert code_of(late) == (422, "refund_window_closed")

    recent = town.spend(li, shop, 5)
    town.ledger.prepare_settlement(Community.officer, cutoff=town.today.replace(day=11))
    reserved = terminal.post(f"/api/v1/redemptions/{recent.id}/refunds", json={"amount": 5})
    assert code_of(reserved) == (409, "insufficient_balance")
    assert town.balance(shop) == 15


def test_a_retried_refund_gives_back_once(town, terminal, shop, li):
    made = town.spend(li, shop, 10)
    path, key = f"/api/v1/redemptions/{made.id}/refunds", {"Idempotency-Key": "refund-1"}
    first = terminal.post(path, json={"amount": 3}, headers=key)
    again = terminal.post(path, json={"amount": 3}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert town.balance(li) == 23 and town.balance(shop) == 7
    assert code_of(terminal.post(path, json={"amount": 2}, headers=key)) == (
        422,
        "idempotency_key_reused",
    )
    assert town.balance(li) == 23 and town.balance(shop) == 7


# --- POST /payments ----------------------------------------------------------------------


def test_a_volunteer_pays_by_scanning_the_counter_code(town, sign_in, shop, li):
    volunteer = sign_in("volunteer", account_id=li)
    counter = town.ledger.get_merchant(shop).merchant_code
    answer = volunteer.post("/api/v1/payments", json={"merchant_code": counter, "amount": 11})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "payer_id": li, "merchant_id": shop, "amount": 11, "at": AT}
    assert town.balance(li) == 19 and town.balance(shop) == 11
    assert terminal_sees(town, sign_in, shop, body["id"]) == 11


def test_payments_are_refused_for_other_roles_and_bad_codes_or_amounts(
    town, sign_in, anonymous, terminal, shop, li
):
    counter = town.ledger.get_merchant(shop).merchant_code
    body = {"merchant_code": counter, "amount": 5}
    assert code_of(anonymous.post("/api/v1/payments", json=body)) == (401, "unauthenticated")
    for someone in (terminal, sign_in("coordinator")):
        assert code_of(someone.post("/api/v1/payments", json=body)) == (403, "forbidden")

    volunteer = sign_in("volunteer", account_id=li)
    pay = volunteer.post
    wrong_digit = counter[:-1] + str((int(counter[-1]) + 1) % 10)
    assert code_of(pay("/api/v1/payments", json={**body, "merchant_code": wrong_digit})) == (
        422,
        "invalid_code",
    )
    assert code_of(pay("/api/v1/payments", json={**body, "amount": 501})) == (
        422,
        "limit_exceeded",
    )
    assert code_of(pay("/api/v1/payments", json={**body, "amount": 31})) == (
        409,
        "insufficient_balance",
    )
    assert code_of(pay("/api/v1/payments", json={**body, "extra": True})) == (
        422,
        "validation_error",
    )
    town.ledger.suspend_merchant(shop, Actor("admin"))
    assert code_of(pay("/api/v1/payments", json=body)) == (403, "merchant_suspended")
    assert town.balance(li) == 30 and town.balance(shop) == 0


def test_a_retried_payment_pays_once(town, sign_in, shop, li):
    volunteer = sign_in("volunteer", account_id=li)
    counter = town.ledger.get_merchant(shop).merchant_code
    key = {"Idempotency-Key": "scan-42"}
    body = {"merchant_code": counter, "amount": 6}
    first = volunteer.post("/api/v1/payments", json=body, headers=key)
    again = volunteer.post("/api/v1/payments", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert town.balance(li) == 24 and town.balance(shop) == 6
    other = volunteer.post("/api/v1/payments", json={**body, "amount": 9}, headers=key)
    assert code_of(other) == (422, "idempotency_key_reused")
    assert town.balance(li) == 24 and town.balance(shop) == 6
