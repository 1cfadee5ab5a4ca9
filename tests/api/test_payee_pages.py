"""The payee bank details on the pages (issue 16): the shop's owner enters them on
/shop/payee and afterwards sees only the last four digits; the admin enters or changes
them on the merchant's bank details page; the merchant's page shows them in full to fund
officers and the admin, masked to coordinators and auditors."""

from __future__ import annotations

import re

import pytest

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FULL, GROUPED = "6222021234567890123", "6222 0212 3456 7890 123"

pytestmark = pytest.mark.parametrize("database_url", ["memory"], indirect=True)


@pytest.fixture
def person(app):
    """person(role, **ids) -> a test client signed in to the pages (in English)."""
    auth = app.extensions["goldbean.auth"]
    made = iter(range(1, 1000))

    def make(role: str, **ids):
        username = f"{role}-{next(made)}"
        auth.create_user(username, PASSWORD, role, **ids)
        client = app.test_client()
        client.set_cookie("lang", "en")
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=form).status_code == 303
        client.username = username
        return client

    return make


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


def send(client, page: str, action: str, **fields):
    """Open ``page`` and post its form to ``action`` with ``fields``."""
    token = CSRF.search(client.get(page).get_data(as_text=True)).group(1)
    return client.post(action, data={"csrf_token": token, **fields})


def text(answer) -> str:
    return answer.get_data(as_text=True)


DETAILS = {
    "payee_name": "Lin Mei",
    "bank": "Industrial and Commercial Bank of China",
    "branch": "Jinsha branch",
    "account_number": "6222-0212 3456 7890 123",
}


def test_the_shop_enters_its_bank_details_and_then_sees_the_last_four_digits(person, shop):
    owner = person("merchant", merchant_id=shop)
    home = text(owner.get("/shop"))
    assert 'id="payee-missing"' in home and 'href="/shop/payee"' in home

    saved = send(owner, "/shop/payee", "/shop/payee", **DETAILS)
    assert (saved.status_code, saved.headers["Location"]) == (303, "/shop/payee")
    page = owner.get("/shop/payee")
    assert page.headers["Cache-Control"] == "private, no-store"
    html = text(page)
    assert "Your bank details are saved." in html
    assert 'data-masked="yes"' in html and "ending in 0123" in html
    assert FULL not in html and GROUPED not in html and "7890" not in html
    assert "Lin Mei" in html and "Jinsha branch" in html
    assert 'id="account_number"' in html and 'value=""' in html  # never pre-filled
    home = text(owner.get("/shop"))
    assert "ending in 0123" in home and FULL not in home

    # the bank's name changes; the account number left empty is kept
    kept = send(
        owner, "/shop/payee", "/shop/payee", **{**DETAILS, "bank": "ICBC", "account_number": ""}
    )
    assert kept.status_code == 303
    assert "ending in 0123" in text(owner.get("/shop/payee"))
    assert "尾号 0123" in text(owner.get("/shop/payee?lang=zh_CN"))


def test_a_wrong_account_number_is_said_beside_its_field_and_nothing_is_saved(person, shop):
    owner = person("merchant", merchant_id=shop)
    refused = send(
        owner, "/shop/payee", "/shop/payee", **{**DETAILS, "account_number": "12 34", "bank": ""}
    )
    assert refused.status_code == 422
    html = text(refused)
    assert 'id="account_number-error"' in html and "8 to 32 digits" in html
    assert 'id="bank-error"' in html and "Enter the bank&#39;s name." in html
    assert 'aria-invalid="true"' in html
    assert 'id="payee-missing"' in text(owner.get("/shop/payee"))


def test_staff_see_them_in_full_or_masked_by_role(person, shop):
    admin = person("admin")
    page = f"/staff/merchants/{shop}/payee"
    assert send(admin, page, page, **DETAILS).status_code == 303
    assert "Bank details of Corner Grocery saved." in text(admin.get(page))

    for role in ("admin", "fund_officer"):
        html = text(person(role).get(f"/staff/merchants/{shop}"))
        assert GROUPED in html and 'data-masked="no"' in html, role
        assert "Lin Mei" in html
    for role in ("coordinator", "auditor"):
        html = text(person(role).get(f"/staff/merchants/{shop}"))
        assert "ending in 0123" in html and FULL not in html and GROUPED not in html, role
        assert 'id="change-payee"' not in html
    assert 'id="change-payee"' in text(admin.get(f"/staff/merchants/{shop}"))


def test_only_the_admin_opens_the_staff_form_and_a_shop_only_its_own(person, community, shop):
    for role in ("fund_officer", "coordinator", "auditor"):
        assert person(role).get(f"/staff/merchants/{shop}/payee").status_code == 403
    owner = person("merchant", merchant_id=shop)
    assert owner.get(f"/staff/merchants/{shop}/payee").status_code == 403
    other = person("merchant", merchant_id=community.merchant("Noodle Canteen", "canteen"))
    send(other, "/shop/payee", "/shop/payee", **DETAILS)
    assert 'id="payee-missing"' in text(owner.get("/shop/payee"))  # saved for the canteen
