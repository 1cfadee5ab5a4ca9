"""Short payment codes (issue 17): 8 digits a cashier types when the camera fails. They
stand for the volunteer's payment code for as long as it lives, so a till redeems them
once, within 60 s, from the volunteer who showed them; wrong ones are throttled like any
invalid code, and the digits never reach the event log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.short_codes import is_short_code
from api.store import short_codes
from tests.api.helpers import status_and_code
from tests.api.test_web_pages import PASSWORD, log_in


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


@pytest.fixture
def terminal(sign_in, shop):
    return sign_in("merchant", merchant_id=shop)


@pytest.fixture
def li(community):
    li = community.volunteer("Li Wei")
    community.earn(li, 30)
    return li


@pytest.fixture
def li_phone(sign_in, li):
    return sign_in("volunteer", account_id=li)


def show_code(phone, account_id) -> dict:
    answer = phone.post(f"/api/v1/accounts/{account_id}/payment-code")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def redeem(terminal, code, amount, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return terminal.post(
        "/api/v1/redemptions", json={"code": code, "amount": amount}, headers=headers
    )


def test_the_short_code_pays_once_from_the_account_that_showed_it(
    community, terminal, li, li_phone, shop
):
    shown = show_code(li_phone, li)
    short = shown["short_code"]
    assert is_short_code(short) and len(short) == 8 and short not in shown["code"]
    answer = redeem(terminal, f"{short[:4]} {short[4:]}", 12)  # typed as the page groups it
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["payer_id"] == li  # bound to the account that showed it
    assert community.balance(li) == 18 and community.balance(shop) == 12
    # single use: the short code and the long one it stands for are both spent
    assert status_and_code(redeem(terminal, short, 1)) == (409, "code_used")
    assert status_and_code(redeem(terminal, shown["code"], 1)) == (409, "code_used")
    assert community.balance(li) == 18


def test_a_replay_with_the_same_idempotency_key_pays_once(community, terminal, li, li_phone):
    short = show_code(li_phone, li)["short_code"]
    first = redeem(terminal, short, 5, key="pos-short-1")
    again = redeem(terminal, short, 5, key="pos-short-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert community.balance(li) == 25


def test_a_short_code_expires_with_its_payment_code(community, terminal, clock, li, li_phone):
    short = show_code(li_phone, li)["short_code"]
    clock.advance(seconds=61)
    assert status_and_code(redeem(terminal, short, 5)) == (422, "code_expired")
    assert community.balance(li) == 30


def test_a_new_code_replaces_the_account_s_short_code(community, terminal, li, li_phone):
    old = show_code(li_phone, li)["short_code"]
    new = show_code(li_phone, li)["short_code"]
    if old != new:  # (one chance in 10^8 that the same digits are drawn again)
        assert status_and_code(redeem(terminal, old, 5)) == (422, "invalid_code")
    assert redeem(terminal, new, 5).status_code == 201
    assert community.balance(li) == 25


def test_wrong_short_codes_are_throttled_like_wrong_long_codes(
    app, community, terminal, sign_in, shop, li, li_phone
):
    short = show_code(li_phone, li)["short_code"]
    wrong = [f"{n:08d}" for n in range(100) if f"{n:08d}" != short]
    limit = app.extensions["goldbean.auth"].max_code_failures
    for guess in wrong[:limit]:
        assert status_and_code(redeem(terminal, guess, 1)) == (422, "invalid_code")
    stopped = redeem(terminal, short, 1)  # even the right one, from this till, waits
    assert status_and_code(stopped) == (429, "too_many_requests")
    assert int(stopped.headers["Retry-After"]) > 0
    other_till = sign_in("merchant", merchant_id=shop)
    assert redeem(other_till, short, 1).status_code == 201
    assert community.balance(li) == 29


def test_another_volunteer_cannot_show_or_follow_someone_else_s_code(
    community, sign_in, li, li_phone
):
    zhao = community.volunteer("Zhao Min")
    zhao_phone = sign_in("volunteer", account_id=zhao)
    answer = zhao_phone.post(f"/api/v1/accounts/{li}/payment-code")
    assert status_and_code(answer) == (403, "forbidden")


def test_the_digits_stay_out_of_the_log_and_only_a_digest_is_kept(app, community, li, li_phone):
    shown = show_code(li_phone, li)
    short = shown["short_code"]
    store = app.extensions["goldbean.store"]
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(short_codes))]
    assert len(rows) == 1 and short not in str(rows)
    assert rows[0]["digest"] == community.ledger.digest("short payment code", short)
    logged = community.ledger.read_log(0, 10_000)
    assert not any(short in str(event) for event in logged)


def test_the_volunteer_s_page_follows_its_code_to_the_receipt(app, community, terminal, li, shop):
    """``POST /me/code/status.json``: live, then used with the receipt in words; another
    volunteer learns nothing of it."""
    auth = app.extensions["goldbean.auth"]
    auth.create_user("liwei", PASSWORD, "volunteer", account_id=li)
    phone = app.test_client()
    log_in(phone, "liwei")
    page = phone.get("/me/code")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    code = html.split('data-code="')[1].split('"')[0]
    short = html.split('id="code-short">')[1].split("<")[0]
    csrf = {"X-CSRFToken": html.split('data-csrf="')[1].split('"')[0]}

    def status(client, headers=csrf):
        return client.post("/me/code/status.json", data={"code": code}, headers=headers)

    assert status(phone).get_json() == {"state": "live"}
    assert redeem(terminal, short, 15).status_code == 201
    used = status(phone).get_json()
    assert used["state"] == "used"
    assert used["receipt"]["text"] == "已在 Corner Grocery 支付 15 金豆"
    assert used["receipt"]["url"].startswith("/me/paid/")

    zhao = community.volunteer("Zhao Min")
    auth.create_user("zhao", PASSWORD, "volunteer", account_id=zhao)
    other = app.test_client()
    log_in(other, "zhao")
    token = other.get("/me/code").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    assert status(other, {"X-CSRFToken": token}).get_json() == {"state": "unknown"}


def test_the_page_learns_that_an_unused_code_expired(app, community, clock, li):
    app.extensions["goldbean.auth"].create_user("liwei", PASSWORD, "volunteer", account_id=li)
    phone = app.test_client()
    log_in(phone, "liwei")
    html = phone.get("/me/code").get_data(as_text=True)
    code = html.split('data-code="')[1].split('"')[0]
    csrf = {"X-CSRFToken": html.split('data-csrf="')[1].split('"')[0]}
    clock.advance(seconds=61)
    answer = phone.post("/me/code/status.json", data={"code": code}, headers=csrf)
    assert answer.get_json() == {"state": "expired"}


def test_a_fresh_worker_on_sqlite_shows_the_code_page_at_once(tmp_path):
    """A server process that has not yet read the digest key (a new gunicorn worker on the
    demo's SQLite file) opens the code page: drawing the short code must not wait on its
    own write lock for the key (it did: 30 s, then 503 "database is locked")."""
    from api.app import create_app
    from api.serve import prepare_database
    from api.settings import Settings

    config = {
        "database_url": f"sqlite:///{tmp_path / 'goldbean.sqlite3'}",
        "secret_key": "short-code-test-secret-0123456789",
    }
    prepare_database(Settings.load({**config, "admin_password": PASSWORD}), say=lambda _: None)
    first = create_app(config)
    volunteer = first.extensions["goldbean.ledger"].open_volunteer("李伟")
    first.extensions["goldbean.auth"].create_user(
        "liwei", PASSWORD, "volunteer", account_id=volunteer.id
    )
    first.extensions["goldbean.store"].close()
    first.extensions["goldbean.ledger"].close()

    worker = create_app(config)  # a new process: nothing cached
    try:
        client = worker.test_client()
        log_in(client, "liwei")
        page = client.get("/me/code")
        assert page.status_code == 200
        assert "short-code" in page.get_data(as_text=True)
    finally:
        worker.extensions["goldbean.store"].close()
        worker.extensions["goldbean.ledger"].close()
