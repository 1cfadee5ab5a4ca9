"""Accounts over HTTP: opening them (with a user), reading them and their entries, the
leaderboard choice, payment codes and beneficiary cards (SPEC §6)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ledger.errors import CardRevoked, PinLocked, WrongPin
from ledger.ids import POOL_ID
from tests.api.helpers import problem_code
from tests.scenario import START

ACCOUNTS = "/api/v1/accounts"


# --- opening accounts ----------------------------------------------------------------------


def test_a_coordinator_opens_a_volunteer_account_whose_user_signs_in(sign_in, anonymous):
    coordinator = sign_in("coordinator")
    made = coordinator.post(
        ACCOUNTS,
        json={
            "kind": "volunteer",
            "display_name": "Li Wei",
            "username": "li.wei",
            "password": "bean-counter",
        },
    )
    assert made.status_code == 201
    body = made.get_json()
    assert body == {"id": body["id"], "kind": "volunteer", "display_name": "Li Wei", "balance": 0}

    token = anonymous.post(
        "/api/v1/auth/token", json={"username": "li.wei", "password": "bean-counter"}
    ).get_json()["token"]
    me = anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me == {
        "username": "li.wei",
        "role": "volunteer",
        "account_id": body["id"],
        "merchant_id": None,
    }
    own = anonymous.get(f"{ACCOUNTS}/{body['id']}", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200 and own.get_json() == body


def test_an_admin_opens_a_beneficiary_account_without_a_user(admin, app):
    made = admin.post(ACCOUNTS, json={"kind": "beneficiary", "display_name": "Grandma Zhao"})
    assert made.status_code == 201
    body = made.get_json()
    assert (body["kind"], body["display_name"], body["balance"]) == (
        "beneficiary",
        "Grandma Zhao",
        0,
    )
    assert app.extensions["goldbean.ledger"].index.ids_of("beneficiary") == [body["id"]]


def test_only_coordinators_and_admins_open_accounts(sign_in, anonymous, community):
    account = {"kind": "volunteer", "display_name": "Nobody"}
    assert problem_code(anonymous.post(ACCOUNTS, json=account)) == "unauthenticated"
    for role in ("fund_officer", "auditor"):
        answer = sign_in(role).post(ACCOUNTS, json=account)
        assert answer.status_code == 403 and problem_code(answer) == "forbidden"
    volunteer = sign_in("volunteer", account_id=community.volunteer("V"))
    assert volunteer.post(ACCOUNTS, json=account).status_code == 403


def test_a_taken_username_is_a_conflict_and_no_account_is_opened(admin, app):
    ledger = app.extensions["goldbean.ledger"]
    first = {
        "kind": "volunteer",
        "display_name": "A",
        "username": "same.name",
        "password": "kx7#Qm2v",
    }
    assert admin.post(ACCOUNTS, json=first).status_code == 201
    again = admin.post(ACCOUNTS, json={**first, "kind": "beneficiary", "display_name": "B"})
    assert again.status_code == 409 and problem_code(again) == "conflict"
    assert len(ledger.index.ids_of("volunteer")) == 1
    assert ledger.index.ids_of("beneficiary") == []


def test_a_username_taken_while_the_account_opens_names_the_account(admin, app, monkeypatch):
    """The username was free when checked, but another request took it before the user
    was created: the answer is a conflict that says which account was opened."""
    auth = app.extensions["goldbean.auth"]
    auth.create_user("racer", "kx7#Qm2v", "auditor")
    monkeypatch.setattr(auth, "get_user", lambda username: None)
    body = {
        "kind": "volunteer",
        "display_name": "Late",
        "username": "racer",
        "password": "Tz9-ribbon-7",
    }
    answer = admin.post(ACCOUNTS, json=body)
    assert answer.status_code == 409 and problem_code(answer) == "conflict"
    opened = answer.get_json()["account_id"]
    assert app.extensions["goldbean.ledger"].index.ids_of("volunteer") == [opened]
    assert opened in answer.get_json()["detail"]


BAD_ACCOUNTS = [
    {"kind": "merchant", "display_name": "Shop"},
    {"kind": "volunteer", "display_name": ""},
    {"kind": "volunteer"},
    {"kind": "volunteer", "display_name": "A", "username": "only.name"},
    {"kind": "volunteer", "display_name": "A", "password": "only-a-password"},
    {"kind": "volunteer", "display_name": "A", "username": "a b!", "password": "long-enough"},
    {"kind": "volunteer", "display_name": "A", "username": "short.pw", "password": "short"},
    {"kind": "volunteer", "display_name": "A", "balance": 100},
    {"kind": "volunteer", "display_name": "A\x00"},
    {"kind": "volunteer", "display_name": "A", "username": "new.line\n", "password": "x" * 8},
    {"kind": "volunteer", "display_name": "\ud800"},
    {"kind": "volunteer", "display_name": "A", "username": "sur.ro", "password": "\ud800" * 8},
    # issue 15: invisible characters in names, and passwords that are easy to guess
    {"kind": "volunteer", "display_name": "李伟\u200b"},
    {"kind": "volunteer", "display_name": "\u202e伟李"},
    {"kind": "volunteer", "display_name": "   "},
    {"kind": "volunteer", "display_name": "A", "username": "weak.pw", "password": "password1"},
    {"kind": "volunteer", "display_name": "Li Wei", "username": "lw.1", "password": "liwei2026"},
]


def test_bad_account_fields_are_validation_errors(admin, app):
    for body in BAD_ACCOUNTS:
        # Sent as a client sends them: JSON escapes for NUL and lone surrogates.
        answer = admin.post(ACCOUNTS, data=json.dumps(body), content_type="application/json")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", body
    assert app.extensions["goldbean.ledger"].index.ids_of("volunteer") == []


def test_opening_an_account_twice_with_one_key_opens_it_once(admin, app):
    account = {"kind": "volunteer", "display_name": "Retry"}
    key = {"Idempotency-Key": "open-retry"}
    first = admin.post(ACCOUNTS, json=account, headers=key)
    again = admin.post(ACCOUNTS, json=account, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert app.extensions["goldbean.ledger"].index.ids_of("volunteer") == [first.get_json()["id"]]
    other = admin.post(ACCOUNTS, json={**account, "display_name": "Other"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


# --- reading an account ----------------------------------------------------------------------


def test_the_owner_and_staff_read_an_account_and_others_are_refused(sign_in, anonymous, community):
    li = community.volunteer("Li Wei")
    community.earn(li, 12)
    expected = {"id": li, "kind": "volunteer", "display_name": "Li Wei", "balance": 12}
    readers = [sign_in("volunteer", account_id=li)] + [
        sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")
    ]
    for reader in readers:
        answer = reader.get(f"{ACCOUNTS}/{li}")
        assert answer.status_code == 200 and answer.get_json() == expected

    stranger = sign_in("volunteer", account_id=community.volunteer("Wang"))
    grandma = sign_in("beneficiary", account_id=community.beneficiary("Zhao"))
    shop = sign_in("merchant", merchant_id=community.merchant("Corner Grocery"))
    for intruder in (stranger, grandma, shop):
        answer = intruder.get(f"{ACCOUNTS}/{li}")
        assert answer.status_code == 403 and problem_code(answer) == "forbidden"
    assert problem_code(anonymous.get(f"{ACCOUNTS}/{li}")) == "unauthenticated"


def test_an_unknown_account_is_not_found(sign_in, community):
    coordinator = sign_in("coordinator")
    for unknown in ("6b1f6a52-0000-4000-8000-000000000000", "not-a-uuid"):
        answer = coordinator.get(f"{ACCOUNTS}/{unknown}")
        assert answer.status_code == 404 and problem_code(answer) == "not_found"
    incident = community.ledger.submit_incident(community.volunteer("R"), "other", "a lamp")
    assert coordinator.get(f"{ACCOUNTS}/{incident.id}").status_code == 404


# --- the leaderboard choice ------------------------------------------------------------------


def test_a_volunteer_opts_in_to_the_leaderboard_and_out_again(sign_in, community):
    li = community.volunteer("Li Wei")
    volunteer = sign_in("volunteer", account_id=li)
    answer = volunteer.patch(f"{ACCOUNTS}/{li}", json={"leaderboard_opt_in": True})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": li, "leaderboard_opt_in": True}
    assert community.ledger.get_account(li).leaderboard_opt_in is True
    answer = volunteer.patch(f"{ACCOUNTS}/{li}", json={"leaderboard_opt_in": False})
    assert answer.get_json() == {"id": li, "leaderboard_opt_in": False}


def test_only_the_owner_makes_the_leaderboard_choice(sign_in, anonymous, community):
    li = community.volunteer("Li Wei")
    choice = {"leaderboard_opt_in": True}
    stranger = sign_in("volunteer", account_id=community.volunteer("Wang"))
    assert problem_code(stranger.patch(f"{ACCOUNTS}/{li}", json=choice)) == "forbidden"
    for role in ("coordinator", "admin"):
        assert sign_in(role).patch(f"{ACCOUNTS}/{li}", json=choice).status_code == 403
    grandma_id = community.beneficiary("Zhao")
    grandma = sign_in("beneficiary", account_id=grandma_id)
    assert grandma.patch(f"{ACCOUNTS}/{grandma_id}", json=choice).status_code == 403
    assert problem_code(anonymous.patch(f"{ACCOUNTS}/{li}", json=choice)) == "unauthenticated"
    assert community.ledger.get_account(li).leaderboard_opt_in is False


def test_a_bad_leaderboard_choice_is_a_validation_error(sign_in, community):
    li = community.volunteer("Li Wei")
    volunteer = sign_in("volunteer", account_id=li)
    for body in ({}, {"leaderboard_opt_in": "yes"}, {"leaderboard_opt_in": True, "public": 1}):
        answer = volunteer.patch(f"{ACCOUNTS}/{li}", json=body)
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", body


# --- entries --------------------------------------------------------------------------------


def test_entries_tell_the_story_newest_first_with_running_balances(sign_in, community):
    """Li earns 10, spends 7 at the grocery, is refunded 2 and gives 1 to the pool."""
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    (incident,) = community.earn(li, 10)
    spent = community.spend(li, shop, 7)
    community.advance(minutes=5)
    refund = community.refund(spent, 2)
    gift = community.give(li, "pool", 1)

    answer = sign_in("volunteer", account_id=li).get(f"{ACCOUNTS}/{li}/entries")
    assert answer.status_code == 200
    body = answer.get_json()
    later = (START + timedelta(minutes=5)).isoformat()
    assert body["next_cursor"] is None
    items = body["items"]
    assert [(i["flow"], i["amount"], i["balance_after"]) for i in items] == [
        ("gift", -1, 4),
        ("refund", 2, 5),
        ("redemption", -7, 3),
        ("award", 10, 10),
    ]
    assert items[1] == {
        "at": later,
        "flow": "refund",
        "amount": 2,
        "balance_after": 5,
        "counterparty": shop,
        "ref": refund.redemption_id,
    }
    assert items[2]["ref"] == spent.id and items[2]["at"] == START.isoformat()
    assert (items[3]["counterparty"], items[3]["ref"]) == ("issuance", incident)
    assert (items[0]["counterparty"], items[0]["ref"]) == (str(POOL_ID), gift.id)


def test_entries_come_in_pages_that_follow_the_cursor(sign_in, community):
    li = community.volunteer("Li Wei")
    for beans in (1, 2, 3, 4, 5):
        community.earn(li, beans)
    reader = sign_in("auditor")
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        body = reader.get(f"{ACCOUNTS}/{li}/entries{query}").get_json()
        pages += 1
        seen += [(i["amount"], i["balance_after"]) for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and len(body["items"]) == 2
    assert pages == 3
    assert seen == [(5, 15), (4, 10), (3, 6), (2, 3), (1, 1)]


def test_a_cursor_beyond_every_entry_reads_from_the_newest(sign_in, community):
    """18 digits is a cursor the API accepts; past any version the database's column can
    hold, it means "older than everything recorded": the newest entries, never a 500
    (PostgreSQL refused the number as out of range for the column)."""
    li = community.volunteer("Li Wei")
    for beans in (1, 2):
        community.earn(li, beans)
    body = sign_in("volunteer", account_id=li).get(
        f"{ACCOUNTS}/{li}/entries?limit=1&cursor=999999999999999999"
    )
    assert body.status_code == 200, body.get_json()
    assert [i["amount"] for i in body.get_json()["items"]] == [2]


def test_entries_skip_other_events_and_stay_right_past_a_snapshot(sign_in, community):
    """Leaderboard choices between two awards are not entries, and the balances after
    each entry stay right past the account's 50-event snapshot."""
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    for turn in range(52):  # 52 leaderboard choices: the account passes a snapshot
        community.ledger.set_leaderboard_opt_in(li, turn % 2 == 0)
    community.earn(li, 5)
    body = sign_in("coordinator").get(f"{ACCOUNTS}/{li}/entries?limit=1").get_json()
    assert [(i["amount"], i["balance_after"]) for i in body["items"]] == [(5, 15)]
    older = (
        sign_in("coordinator")
        .get(f"{ACCOUNTS}/{li}/entries?limit=1&cursor={body['next_cursor']}")
        .get_json()
    )
    assert [(i["amount"], i["balance_after"]) for i in older["items"]] == [(10, 10)]
    assert older["next_cursor"] is None


def test_a_beneficiary_reads_their_own_entries(sign_in, community):
    zhao = community.beneficiary("Zhao")
    community.ledger.grant_allotments("2026-03", community.coordinator, account_ids=[zhao])
    body = sign_in("beneficiary", account_id=zhao).get(f"{ACCOUNTS}/{zhao}/entries").get_json()
    assert [(i["flow"], i["amount"], i["balance_after"]) for i in body["items"]] == [
        ("allotment", 100, 100)
    ]


def test_entries_are_refused_to_others_and_checked(sign_in, anonymous, community):
    li = community.volunteer("Li Wei")
    path = f"{ACCOUNTS}/{li}/entries"
    stranger = sign_in("volunteer", account_id=community.volunteer("Wang"))
    assert problem_code(stranger.get(path)) == "forbidden"
    shop = sign_in("merchant", merchant_id=community.merchant("Corner Grocery"))
    assert shop.get(path).status_code == 403
    assert problem_code(anonymous.get(path)) == "unauthenticated"
    coordinator = sign_in("coordinator")
    unknown = coordinator.get(f"{ACCOUNTS}/6b1f6a52-0000-4000-8000-000000000000/entries")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
    for query in (
        "?limit=0",
        "?limit=201",
        "?limit=ten",
        "?cursor=abc",
        "?cursor=0",
        "?cursor=7%0A",
    ):
        answer = coordinator.get(path + query)
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", query


# --- payment codes ------------------------------------------------------------------------------


def test_a_volunteer_gets_a_payment_code_that_a_shop_can_redeem_once(sign_in, community):
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    shop = community.merchant("Corner Grocery")
    answer = sign_in("volunteer", account_id=li).post(f"{ACCOUNTS}/{li}/payment-code")
    assert answer.status_code == 201
    body = answer.get_json()
    assert set(body) == {"code", "expires_at", "qr_svg", "short_code"}
    assert body["expires_at"] == (START + timedelta(seconds=60)).isoformat()
    community.ledger.redeem(shop, body["code"], 4)
    assert community.balance(li) == 6


def test_only_the_owner_gets_a_payment_code(sign_in, anonymous, community):
    li = community.volunteer("Li Wei")
    path = f"{ACCOUNTS}/{li}/payment-code"
    stranger = sign_in("volunteer", account_id=community.volunteer("Wang"))
    assert problem_code(stranger.post(path)) == "forbidden"
    assert sign_in("coordinator").post(path).status_code == 403
    zhao = community.beneficiary("Zhao")
    own_beneficiary = sign_in("beneficiary", account_id=zhao)
    assert own_beneficiary.post(f"{ACCOUNTS}/{zhao}/payment-code").status_code == 403
    assert problem_code(anonymous.post(path)) == "unauthenticated"
    owner = sign_in("volunteer", account_id=li)
    assert problem_code(owner.post(path, json={"amount": 5})) == "validation_error"


def test_a_payment_code_request_repeated_with_its_key_gives_the_same_code(sign_in, community):
    li = community.volunteer("Li Wei")
    volunteer = sign_in("volunteer", account_id=li)
    path, key = f"{ACCOUNTS}/{li}/payment-code", {"Idempotency-Key": "code-1"}
    first = volunteer.post(path, headers=key)
    again = volunteer.post(path, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = volunteer.post(path, json={"something": "else"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


# --- cards ------------------------------------------------------------------------------------


def test_a_coordinator_prints_a_card_and_a_reissue_revokes_the_old_one(sign_in, community):
    zhao = community.beneficiary("Zhao")
    coordinator = sign_in("coordinator")
    first = coordinator.post(f"{ACCOUNTS}/{zhao}/card", json={"pin": "2468"})
    assert first.status_code == 201
    old_code = first.get_json()["card_code"]
    assert list(first.get_json()) == ["card_code"]
    assert str(community.ledger.beneficiary_for_card(old_code).id) == zhao

    second = coordinator.post(f"{ACCOUNTS}/{zhao}/card")
    assert second.status_code == 201
    new_code = second.get_json()["card_code"]
    assert str(community.ledger.beneficiary_for_card(new_code).id) == zhao
    with pytest.raises(CardRevoked):
        community.ledger.beneficiary_for_card(old_code)


def test_cards_are_for_coordinators_and_beneficiaries_only(sign_in, anonymous, community):
    zhao = community.beneficiary("Zhao")
    path = f"{ACCOUNTS}/{zhao}/card"
    for role in ("admin", "fund_officer", "auditor"):
        assert problem_code(sign_in(role).post(path, json={})) == "forbidden"
    assert sign_in("beneficiary", account_id=zhao).post(path, json={}).status_code == 403
    assert problem_code(anonymous.post(path, json={})) == "unauthenticated"
    coordinator = sign_in("coordinator")
    volunteer_card = coordinator.post(f"{ACCOUNTS}/{community.volunteer('Li')}/card", json={})
    assert volunteer_card.status_code == 404 and problem_code(volunteer_card) == "not_found"
    for bad in ({"pin": "12a4"}, {"pin": "1234\n"}, {"pin": 1234}, {"colour": "red"}):
        answer = coordinator.post(path, json=bad)
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad


def test_a_card_request_repeated_with_its_key_prints_one_card(sign_in, community):
    zhao = community.beneficiary("Zhao")
    coordinator = sign_in("coordinator")
    path, key = f"{ACCOUNTS}/{zhao}/card", {"Idempotency-Key": "card-zhao"}
    first = coordinator.post(path, json={"pin": "1357"}, headers=key)
    again = coordinator.post(path, json={"pin": "1357"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    # The first card is still the current one: no second card was printed.
    assert str(community.ledger.beneficiary_for_card(first.get_json()["card_code"]).id) == zhao
    other = coordinator.post(path, json={"pin": "9999"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "idempotency_key_reused"


def test_a_coordinator_unlocks_a_card_locked_by_wrong_pins(sign_in, anonymous, community):
    zhao = community.beneficiary("Zhao")
    community.ledger.grant_allotments("2026-03", community.coordinator, account_ids=[zhao])
    shop = community.merchant("Corner Grocery")
    card = community.card(zhao, pin="2468")
    for _ in range(5):
        with pytest.raises(WrongPin):
            community.ledger.redeem(shop, card, 5, pin="0000")
    with pytest.raises(PinLocked):
        community.ledger.redeem(shop, card, 5, pin="2468")

    path = f"{ACCOUNTS}/{zhao}/card/unlock"
    assert problem_code(sign_in("admin").post(path)) == "forbidden"
    assert problem_code(anonymous.post(path)) == "unauthenticated"
    coordinator = sign_in("coordinator")
    key = {"Idempotency-Key": "unlock-zhao"}
    answer = coordinator.post(path, headers=key)
    assert answer.status_code == 200 and answer.get_json() == {"id": zhao}
    replay = coordinator.post(path, headers=key)
    assert replay.get_json() == {"id": zhao} and replay.headers["Idempotent-Replayed"] == "true"
    assert problem_code(coordinator.post(path, json={"x": 1}, headers=key)) == (
        "idempotency_key_reused"
    )
    community.ledger.redeem(shop, card, 5, pin="2468")
    assert community.balance(zhao) == 95

    unknown = coordinator.post(f"{ACCOUNTS}/6b1f6a52-0000-4000-8000-000000000000/card/unlock")
    assert unknown.status_code == 404 and problem_code(unknown) == "not_found"
