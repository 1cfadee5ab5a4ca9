"""Pairing a till (issue 17, item 9): the admin is shown an 8-digit pairing code with a
new terminal; the till presents it to ``POST /api/v1/terminals/pair`` and gets a token of
its own, once, within 10 minutes. Wrong codes are throttled per client address, and
neither the code nor the token reaches the event log."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from api.store import terminal_pairings
from tests.api.helpers import problem_code

MERCHANTS = "/api/v1/merchants"
PAIR = "/api/v1/terminals/pair"


def new_terminal(admin, shop) -> dict:
    made = admin.post(f"{MERCHANTS}/{shop}/terminals", json={"label": "till 1"})
    assert made.status_code == 201
    return made.get_json()


def me(anonymous, token):
    return anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_till_pairs_with_the_code_once_and_gets_a_token_of_its_own(
    admin, anonymous, community, clock
):
    shop = community.merchant("Corner Grocery")
    made = new_terminal(admin, shop)
    assert re.fullmatch(r"[0-9]{8}", made["pairing_code"])
    expires = datetime.fromisoformat(made["pairing_expires_at"])
    assert expires == clock.now() + timedelta(minutes=10)

    clock.advance(minutes=9)
    code = made["pairing_code"]
    paired = anonymous.post(PAIR, json={"pairing_code": f"{code[:4]} {code[4:]}"})
    assert paired.status_code == 201
    assert paired.headers["Cache-Control"] == "no-store"
    body = paired.get_json()
    assert set(body) == {"terminal_id", "merchant_id", "token", "expires_at"}
    assert (body["terminal_id"], body["merchant_id"]) == (made["terminal_id"], shop)
    assert me(anonymous, body["token"]).get_json()["merchant_id"] == shop
    # the token shown beside the code is replaced: one terminal, one working token
    assert problem_code(me(anonymous, made["token"])) == "unauthenticated"

    again = anonymous.post(PAIR, json={"pairing_code": code})
    assert again.status_code == 422 and problem_code(again) == "invalid_code"
    assert again.mimetype == "application/problem+json"
    assert me(anonymous, body["token"]).status_code == 200  # the used code changed nothing


def test_an_expired_code_or_a_revoked_terminals_is_refused(app, admin, anonymous, community, clock):
    shop = community.merchant("Corner Grocery")
    late = new_terminal(admin, shop)
    clock.advance(minutes=10)
    assert problem_code(anonymous.post(PAIR, json={"pairing_code": late["pairing_code"]})) == (
        "invalid_code"
    )

    revoked = new_terminal(admin, shop)
    app.extensions["goldbean.auth"].revoke_terminal(revoked["terminal_id"])
    refused = anonymous.post(PAIR, json={"pairing_code": revoked["pairing_code"]})
    assert problem_code(refused) == "invalid_code"

    rotated = admin.post(f"{MERCHANTS}/{shop}/terminals/{late['terminal_id']}/token").get_json()
    assert rotated["pairing_code"] != late["pairing_code"]  # a fresh code with a fresh token
    paired = anonymous.post(PAIR, json={"pairing_code": rotated["pairing_code"]})
    assert paired.status_code == 201 and paired.get_json()["terminal_id"] == late["terminal_id"]


def test_malformed_codes_are_refused_at_the_edge_or_as_invalid(anonymous):
    for body in ({}, {"pairing_code": 12345678}, {"pairing_code": "1" * 33}):
        assert problem_code(anonymous.post(PAIR, json=body)) == "validation_error", body
    for code in ("1234567", "123456789", "abcdefgh", ""):
        answer = anonymous.post(PAIR, json={"pairing_code": code})
        assert answer.status_code == 422, code


def test_wrong_guesses_are_throttled_per_client_address(admin, app, community, clock):
    shop = community.merchant("Corner Grocery")
    made = new_terminal(admin, shop)
    guesser = app.test_client()
    wrong = f"{(int(made['pairing_code']) + 1) % 10**8:08d}"
    for _ in range(20):
        answer = guesser.post(PAIR, json={"pairing_code": wrong})
        assert answer.status_code == 422
    stopped = guesser.post(PAIR, json={"pairing_code": made["pairing_code"]})
    assert stopped.status_code == 429 and stopped.get_json()["code"] == "too_many_requests"
    assert int(stopped.headers["Retry-After"]) > 0

    elsewhere = app.test_client().post(
        PAIR, json={"pairing_code": made["pairing_code"]}, environ_base={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert elsewhere.status_code == 201  # another address is not held up


def test_the_code_and_the_token_stay_out_of_the_event_log(admin, anonymous, app, community):
    shop = community.merchant("Corner Grocery")
    made = new_terminal(admin, shop)
    token = anonymous.post(PAIR, json={"pairing_code": made["pairing_code"]}).get_json()["token"]
    ledger = app.extensions["goldbean.ledger"]
    logged = json.dumps([e.state for e in ledger.read_log(0, 10_000)], ensure_ascii=False)
    for secret in (made["pairing_code"], made["token"], token):
        assert secret not in logged
    store = app.extensions["goldbean.store"]
    with store.read() as conn:
        digests = conn.execute(select(terminal_pairings.c.code_digest)).scalars().all()
    assert digests and made["pairing_code"] not in " ".join(digests)
