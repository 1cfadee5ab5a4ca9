"""Merchants over HTTP: registering, reading, suspending and reactivating them, their POS
terminals, their day's redemptions and their monthly statements (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.store import idempotency
from ledger.errors import MerchantSuspended
from tests.api.helpers import problem_code

MERCHANTS = "/api/v1/merchants"
UNKNOWN = "6b1f6a52-0000-4000-8000-000000000000"


# --- registering and reading ---------------------------------------------------------------


def test_an_admin_registers_merchants_at_the_default_or_a_given_rebate(admin):
    made = admin.post(MERCHANTS, json={"name": "Corner Grocery", "category": "grocery"})
    assert made.status_code == 201
    body = made.get_json()
    assert body == {
        "id": body["id"],
        "name": "Corner Grocery",
        "category": "grocery",
        "rebate_bps": 1000,
        "status": "active",
    }
    other = admin.post(MERCHANTS, json={"name": "Noodles", "category": "canteen", "rebate_bps": 0})
    assert other.status_code == 201 and other.get_json()["rebate_bps"] == 0


def test_only_an_admin_registers_merchants(sign_in, anonymous, community):
    shop = {"name": "Corner Grocery", "category": "grocery"}
    assert problem_code(anonymous.post(MERCHANTS, json=shop)) == "unauthenticated"
    for role in ("coordinator", "fund_officer", "auditor"):
        answer = sign_in(role).post(MERCHANTS, json=shop)
        assert answer.status_code == 403 and problem_code(answer) == "forbidden"
    merchant = sign_in("merchant", merchant_id=community.merchant("Existing"))
    assert merchant.post(MERCHANTS, json=shop).status_code == 403


BAD_MERCHANTS = [
    {"name": "Shop", "category": "casino"},
    {"name": "", "category": "grocery"},
    {"category": "grocery"},
    {"name": "Shop", "category": "grocery", "rebate_bps": 10_001},
    {"name": "Shop", "category": "grocery", "rebate_bps": -1},
    {"name": "Shop", "category": "grocery", "rebate_bps": "500"},
    {"name": "Shop", "category": "grocery", "rebate_bps": 12.5},
    {"name": "Shop", "category": "grocery", "status": "suspended"},
]


def test_bad_merchant_fields_are_validation_errors(admin, app):
    for body in BAD_MERCHANTS:
        answer = admin.post(MERCHANTS, json=body)
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", body
    assert app.extensions["goldbean.ledger"].index.ids_of("merchant") == []


def test_registering_twice_with_one_key_registers_once(admin, app):
    shop, key = {"name": "Corner Grocery", "category": "grocery"}, {"Idempotency-Key": "reg-1"}
    first = admin.post(MERCHANTS, json=shop, headers=key)
    again = admin.post(MERCHANTS, json=shop, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert app.extensions["goldbean.ledger"].index.ids_of("merchant") == [first.get_json()["id"]]
    other = admin.post(MERCHANTS, json={**shop, "category": "produce"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


def test_the_merchant_itself_and_staff_read_a_merchant(sign_in, anonymous, community):
    shop = community.merchant("Corner Grocery", rebate_bps=1200)
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    community.spend(li, shop, 7)
    expected = {
        "id": shop,
        "name": "Corner Grocery",
        "category": "grocery",
        "rebate_bps": 1200,
        "status": "active",
        "unsettled_beans": 7,
    }
    readers = [sign_in("merchant", merchant_id=shop)] + [
        sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")
    ]
    for reader in readers:
        answer = reader.get(f"{MERCHANTS}/{shop}")
        assert answer.status_code == 200 and answer.get_json() == expected

    other_shop = sign_in("merchant", merchant_id=community.merchant("Other"))
    volunteer = sign_in("volunteer", account_id=li)
    for intruder in (other_shop, volunteer):
        answer = intruder.get(f"{MERCHANTS}/{shop}")
        assert answer.status_code == 403 and problem_code(answer) == "forbidden"
    assert problem_code(anonymous.get(f"{MERCHANTS}/{shop}")) == "unauthenticated"
    for unknown in (UNKNOWN, li, "not-a-uuid"):
        answer = sign_in("auditor").get(f"{MERCHANTS}/{unknown}")
        assert answer.status_code == 404 and problem_code(answer) == "not_found"


# --- suspending and reactivating --------------------------------------------------------------


def test_an_admin_suspends_a_merchant_that_then_cannot_redeem_and_reactivates_it(admin, community):
    shop = community.merchant("Corner Grocery")
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    suspended = admin.post(f"{MERCHANTS}/{shop}/suspend")
    assert suspended.status_code == 200
    assert suspended.get_json() == {"id": shop, "status": "suspended"}
    with pytest.raises(MerchantSuspended):
        community.spend(li, shop, 3)
    again = admin.post(f"{MERCHANTS}/{shop}/suspend")
    assert again.get_json() == {"id": shop, "status": "suspended"}

    reactivated = admin.post(f"{MERCHANTS}/{shop}/reactivate")
    assert reactivated.status_code == 200
    assert reactivated.get_json() == {"id": shop, "status": "active"}
    community.spend(li, shop, 3)
    assert community.balance(shop) == 3


def test_only_an_admin_suspends_or_reactivates(sign_in, anonymous, admin, community):
    shop = community.merchant("Corner Grocery")
    for action in ("suspend", "reactivate"):
        path = f"{MERCHANTS}/{shop}/{action}"
        assert problem_code(anonymous.post(path)) == "unauthenticated"
        assert problem_code(sign_in("coordinator").post(path)) == "forbidden"
        assert sign_in("merchant", merchant_id=shop).post(path).status_code == 403
        unknown = admin.post(f"{MERCHANTS}/{UNKNOWN}/{action}")
        assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
        extra = admin.post(path, json={"reason": "late"})
        assert extra.status_code == 422 and problem_code(extra) == "validation_error"
    assert community.ledger.get_merchant(shop).status == "active"


def test_a_suspension_repeated_with_its_key_is_replayed(admin, community):
    shop = community.merchant("Corner Grocery")
    key = {"Idempotency-Key": "suspend-1"}
    first = admin.post(f"{MERCHANTS}/{shop}/suspend", headers=key)
    community.ledger.reactivate_merchant(shop, community.coordinator)
    again = admin.post(f"{MERCHANTS}/{shop}/suspend", headers=key)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert community.ledger.get_merchant(shop).status == "active"  # nothing done again
    other = admin.post(f"{MERCHANTS}/{shop}/suspend", json={"why": "x"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


# --- terminals ----------------------------------------------------------------------------


def test_a_terminal_token_authenticates_as_its_merchant(admin, anonymous, community):
    shop = community.merchant("Corner Grocery")
    other = community.merchant("Other")
    made = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": "till 1"})
    assert made.status_code == 201
    body = made.get_json()
    assert set(body) == {
        "terminal_id",
        "token",
        "expires_at",
        "pairing_code",
        "pairing_expires_at",
    }
    assert body["terminal_id"] and body["token"]

    terminal = {"Authorization": f"Bearer {body['token']}"}
    me = anonymous.get("/api/v1/me", headers=terminal)
    assert me.get_json() == {
        "username": None,
        "role": "merchant",
        "account_id": None,
        "merchant_id": shop,
    }
    itself = anonymous.get(f"{MERCHANTS}/{shop}", headers=terminal)
    assert itself.status_code == 200 and itself.get_json()["id"] == shop
    assert anonymous.get(f"{MERCHANTS}/{other}", headers=terminal).status_code == 403


def test_a_terminal_token_expires_after_180_days(admin, anonymous, community, clock):
    """Reproduction (issue 15, 6): terminal tokens never expired."""
    shop = community.merchant("Corner Grocery")
    made = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": "till 1"}).get_json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert expires == clock.now() + timedelta(days=180)
    terminal = {"Authorization": f"Bearer {made['token']}"}
    clock.advance(days=179)
    assert anonymous.get("/api/v1/me", headers=terminal).status_code == 200
    clock.advance(days=1)
    assert problem_code(anonymous.get("/api/v1/me", headers=terminal)) == "unauthenticated"


def test_rotating_a_terminal_token_ends_the_old_one_at_once(admin, anonymous, community, clock):
    shop = community.merchant("Corner Grocery")
    made = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": "till 1"}).get_json()
    clock.advance(hours=6)  # (the admin's own session lasts 12 hours)
    path = f"{MERCHANTS}/{shop}/terminals/{made['terminal_id']}/token"
    rotated = admin.post(path)
    assert rotated.status_code == 201 and rotated.headers["Cache-Control"] == "no-store"
    new = rotated.get_json()
    assert new["terminal_id"] == made["terminal_id"] and new["token"] != made["token"]
    assert datetime.fromisoformat(new["expires_at"]) == clock.now() + timedelta(days=180)
    old = {"Authorization": f"Bearer {made['token']}"}
    assert problem_code(anonymous.get("/api/v1/me", headers=old)) == "unauthenticated"
    me = anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {new['token']}"})
    assert me.get_json()["merchant_id"] == shop


def test_only_an_admin_rotates_a_live_terminal_of_that_merchant(app, admin, sign_in, community):
    shop, other = community.merchant("Corner Grocery"), community.merchant("Other")
    made = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": "till 1"}).get_json()
    path = f"{MERCHANTS}/{shop}/terminals/{made['terminal_id']}/token"
    terminal = sign_in("merchant", merchant_id=shop)
    assert problem_code(terminal.post(path)) == "forbidden"
    elsewhere = admin.post(f"{MERCHANTS}/{other}/terminals/{made['terminal_id']}/token")
    assert elsewhere.status_code == 404
    app.extensions["goldbean.auth"].revoke_terminal(made["terminal_id"])
    assert problem_code(admin.post(path)) == "not_found"


@pytest.mark.parametrize(
    "name",
    [
        "Shop A\u200b",  # zero-width space: a look-alike of "Shop A"
        "Shop \u202eA pohS",  # right-to-left override
        "Shop\u2066A\u2069",  # bidi isolates
        "\ufeffShop A",  # byte-order mark
        "Shop\u2028A",  # line separator
        "Shop\tA",
    ],
)
def test_names_with_invisible_or_control_characters_are_refused(admin, community, name):
    """Reproduction (issue 15, 6): a look-alike "Shop A\u200b" merchant was accepted."""
    made = admin.post(MERCHANTS, json={"name": name, "category": "grocery"})
    assert made.status_code == 422 and problem_code(made) == "validation_error"
    assert "invisible" in str(made.get_json()["errors"]["json"]["name"])
    shop = community.merchant("Corner Grocery")
    label = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": name})
    assert label.status_code == 422 and problem_code(label) == "validation_error"


def test_names_are_stored_composed_with_plain_single_spaces(admin):
    made = admin.post(
        MERCHANTS, json={"name": "  Cafe\u0301\u00a0 de\u3000Paris ", "category": "restaurant"}
    )
    assert made.status_code == 201
    assert made.get_json()["name"] == "Caf\u00e9 de Paris"


def test_terminals_are_registered_by_an_admin_for_a_known_merchant(
    sign_in, anonymous, admin, community
):
    shop = community.merchant("Corner Grocery")
    path = f"{MERCHANTS}/{shop}/terminals"
    assert problem_code(anonymous.post(path, json={"label": "t"})) == "unauthenticated"
    for role in ("coordinator", "auditor"):
        assert problem_code(sign_in(role).post(path, json={"label": "t"})) == "forbidden"
    assert sign_in("merchant", merchant_id=shop).post(path, json={"label": "t"}).status_code == 403
    unknown = admin.post(f"{MERCHANTS}/{UNKNOWN}/terminals", json={"label": "t"})
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    bad_labels = [{}, {"label": ""}, {"label": "x" * 201}, {"label": "a\x00b"}, {"label": "\ud800"}]
    for bad in [*bad_labels, {"label": "t", "merchant_id": shop}]:
        answer = admin.post(path, json=bad)
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad


def test_a_terminal_request_repeated_with_its_key_registers_one_terminal(app, admin, community):
    shop = community.merchant("Corner Grocery")
    path, key = f"{MERCHANTS}/{shop}/terminals", {"Idempotency-Key": "till-1"}
    first = admin.post(path, json={"label": "till 1"}, headers=key)
    again = admin.post(path, json={"label": "till 1"}, headers=key)
    assert first.status_code == 201
    # The token is shown once: the repeat registers nothing and says so, and the token is
    # not kept in the idempotency store in clear.
    assert again.status_code == 409 and problem_code(again) == "conflict"
    store = app.extensions["goldbean.store"]
    with store.read() as conn:
        kept = [row.response_body or "" for row in conn.execute(select(idempotency))]
    assert all(first.get_json()["token"] not in body for body in kept)
    other = admin.post(path, json={"label": "till 2"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


# --- the day's redemptions --------------------------------------------------------------------


def at_local(community, day, hour, minute=0) -> datetime:
    return community.local(2026, 3, day, hour, minute)


def test_the_days_redemptions_are_counted_in_the_programmes_time_zone(sign_in, community):
    """Li spends 5 at 23:30 on 9 March, 7 at 00:30 and 3 at 10:00 on 10 March (Kunming
    time); 2 of the 7 are refunded. Another shop's sale does not show."""
    community.move_to_local(2026, 3, 9, 23, 0)
    shop = community.merchant("Corner Grocery")
    other = community.merchant("Other")
    li = community.volunteer("Li Wei")
    community.earn(li, 20)
    community.move_to_local(2026, 3, 9, 23, 30)
    late = community.spend(li, shop, 5)
    community.move_to_local(2026, 3, 10, 0, 30)
    early = community.spend(li, shop, 7)
    community.move_to_local(2026, 3, 10, 10, 0)
    community.spend(li, other, 1)
    morning = community.spend(li, shop, 3)
    community.refund(early, 2)

    terminal = sign_in("merchant", merchant_id=shop)
    today = terminal.get(f"{MERCHANTS}/{shop}/redemptions")
    assert today.status_code == 200
    assert today.get_json() == {
        "items": [
            {
                "id": morning.id,
                "payer_id": li,
                "amount": 3,
                "refunded": 0,
                "at": at_local(community, 10, 10).isoformat(),
            },
            {
                "id": early.id,
                "payer_id": li,
                "amount": 7,
                "refunded": 2,
                "at": at_local(community, 10, 0, 30).isoformat(),
            },
        ],
        "total": 10,
        "count": 2,
        "refunded": 2,
        "next_cursor": None,
    }
    assert at_local(community, 10, 0, 30).astimezone(UTC).day == 9  # still 9 March in UTC
    yesterday = terminal.get(f"{MERCHANTS}/{shop}/redemptions?date=2026-03-09").get_json()
    assert [(i["id"], i["amount"]) for i in yesterday["items"]] == [(late.id, 5)]
    assert yesterday["total"] == 5
    quiet = terminal.get(f"{MERCHANTS}/{shop}/redemptions?date=2026-03-08").get_json()
    assert quiet == {"items": [], "total": 0, "count": 0, "refunded": 0, "next_cursor": None}


def test_a_busy_day_comes_page_by_page_with_the_whole_days_figures(sign_in, community):
    """Nine sales, three of them in the same microsecond: pages of four list each sale
    once, newest first, and every page carries the day's count and totals."""
    community.move_to_local(2026, 3, 10, 9, 0)
    shop = community.merchant("Corner Grocery")
    li = community.volunteer("Li Wei")
    community.earn(li, 100)
    sales = []
    for n in range(9):
        if n not in (4, 5):  # sales 3, 4 and 5 share their time
            community.move_to_local(2026, 3, 10, 9, 10 + n)
        sales.append(community.spend(li, shop, n + 1))
    community.refund(sales[2], 1)
    terminal = sign_in("merchant", merchant_id=shop)
    path = f"{MERCHANTS}/{shop}/redemptions?date=2026-03-10"
    whole = terminal.get(path).get_json()
    assert {i["id"] for i in whole["items"]} == {sale.id for sale in sales}

    seen, cursor = [], None
    while True:
        page = terminal.get(f"{path}&limit=4" + (f"&cursor={cursor}" if cursor else ""))
        body = page.get_json()
        assert (body["total"], body["count"], body["refunded"]) == (45, 9, 1)
        assert len(body["items"]) <= 4
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in whole["items"]]  # the same order, each sale once

    for bad in ("limit=0", "limit=201", "cursor=123", "cursor=1.not-an-id",
                "cursor=" + "9" * 18 + "." + sales[0].id):  # fmt: skip
        answer = terminal.get(f"{path}&{bad}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad


def test_the_days_redemptions_are_for_the_merchant_and_staff(sign_in, anonymous, community):
    shop = community.merchant("Corner Grocery")
    path = f"{MERCHANTS}/{shop}/redemptions"
    for role in ("coordinator", "fund_officer", "auditor", "admin"):
        assert sign_in(role).get(path).status_code == 200
    other_shop = sign_in("merchant", merchant_id=community.merchant("Other"))
    assert problem_code(other_shop.get(path)) == "forbidden"
    volunteer = sign_in("volunteer", account_id=community.volunteer("Li"))
    assert volunteer.get(path).status_code == 403
    assert problem_code(anonymous.get(path)) == "unauthenticated"
    auditor = sign_in("auditor")
    unknown = auditor.get(f"{MERCHANTS}/{UNKNOWN}/redemptions")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    for bad in ("2026-02-30", "yesterday", "0001-01-01", "9999-12-31"):
        answer = auditor.get(f"{path}?date={bad}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad


# --- statements ---------------------------------------------------------------------------------


def test_a_statement_shows_a_months_net_cash_rebate_and_settlement(sign_in, community):
    """February: Li spends 40 at a shop with a 12.55 % rebate, 10 are refunded. On 1 March
    5 more are refunded; on 2 March a settlement (cutoff 1 March, period February) takes
    the 25 beans the shop still holds and is paid; later Li spends 25 in March."""
    ledger, officer = community.ledger, community.officer
    community.move_to_local(2026, 2, 20)
    shop = community.merchant("Corner Grocery", rebate_bps=1255)
    li = community.volunteer("Li Wei")
    community.earn(li, 100)
    february = community.spend(li, shop, 40)
    community.refund(february, 10)
    community.move_to_local(2026, 3, 1)
    community.refund(february, 5)
    community.move_to_local(2026, 3, 2)
    community.donate(1_000_000)
    settlement = ledger.prepare_settlement(officer)
    assert (settlement.period, settlement.lines[0].beans) == ("2026-02", 25)

    terminal = sign_in("merchant", merchant_id=shop)
    path = f"{MERCHANTS}/{shop}/statements"
    answer = terminal.get(f"{path}/2026-02")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "period": "2026-02",
        "redeemed": 40,
        "refunded": 10,
        "net": 30,
        "cash_fen": 3000,
        "rebate_fen": 377,  # 376.5 rounded half-up
        "settled": 25,
        "paid": False,
    }
    march = terminal.get(f"{path}/2026-03").get_json()
    assert march == {
        "period": "2026-03",
        "redeemed": 0,
        "refunded": 5,
        "net": -5,
        "cash_fen": -500,
        "rebate_fen": -63,  # 62.75, rounded away from zero
        "settled": 0,
        "paid": False,
    }

    ledger.approve_settlement(settlement.id, community.second_officer)
    ledger.pay_settlement_line(settlement.id, shop, "BANK-1", officer)
    assert terminal.get(f"{path}/2026-02").get_json()["paid"] is True
    community.advance(hours=1)
    community.spend(li, shop, 25)
    march = terminal.get(f"{path}/2026-03").get_json()
    assert (march["redeemed"], march["refunded"], march["net"]) == (25, 5, 20)
    assert (march["cash_fen"], march["rebate_fen"]) == (2000, 251)

    # April's settlement (period March) takes March's beans and the 5 carried over.
    community.move_to_local(2026, 4, 2)
    ledger.prepare_settlement(officer)
    auditor = sign_in("auditor")
    march = auditor.get(f"{path}/2026-03").get_json()
    assert (march["settled"], march["paid"]) == (25, False)
    february = auditor.get(f"{path}/2026-02").get_json()
    assert (february["settled"], february["paid"]) == (25, True)


def test_statements_are_for_the_merchant_and_staff(sign_in, anonymous, community):
    shop = community.merchant("Corner Grocery")
    path = f"{MERCHANTS}/{shop}/statements/2026-03"
    empty = {
        "period": "2026-03",
        "redeemed": 0,
        "refunded": 0,
        "net": 0,
        "cash_fen": 0,
        "rebate_fen": 0,
        "settled": 0,
        "paid": False,
    }
    for role in ("coordinator", "fund_officer", "auditor", "admin"):
        answer = sign_in(role).get(path)
        assert answer.status_code == 200 and answer.get_json() == empty
    other_shop = sign_in("merchant", merchant_id=community.merchant("Other"))
    assert problem_code(other_shop.get(path)) == "forbidden"
    volunteer = sign_in("volunteer", account_id=community.volunteer("Li"))
    assert volunteer.get(path).status_code == 403
    assert problem_code(anonymous.get(path)) == "unauthenticated"
    auditor = sign_in("auditor")
    unknown = auditor.get(f"{MERCHANTS}/{UNKNOWN}/statements/2026-03")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    for bad in ("2026-13", "2026-3", "March", "0000-01", "9999-12"):
        answer = auditor.get(f"{MERCHANTS}/{shop}/statements/{bad}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad
