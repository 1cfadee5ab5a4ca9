"""A merchant's payee bank details through the API (issue 16): the admin or the shop's
own user enters them, fund officers and the admin read them in full, the shop reads its
account number masked, and nobody else reads them; they never reach the published log."""

from __future__ import annotations

import pytest

from api.auth import list_users
from tests.api.conftest import Client
from tests.api.helpers import problem_code

A = "/api/v1"
DETAILS = {
    "payee_name": "林美 Lin Mei",
    "bank": "中国工商银行",
    "branch": "金沙支行",
    "account_number": "6222 0212 3456 7890 123",
}


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


def payee_path(merchant_id: str) -> str:
    return f"{A}/merchants/{merchant_id}/payee"


@pytest.mark.parametrize("database_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_the_admin_enters_them_and_each_role_reads_what_it_may(
    app, community, sign_in, admin, shop
):
    """Round trip on every store: the account number comes back as digits for the admin
    and the fund officer, as ****0123 for the shop, and not at all for other staff."""
    saved = admin.put(payee_path(shop), json=DETAILS)
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["Cache-Control"] == "no-store"
    body = saved.get_json()
    assert body["account_number"] == "6222021234567890123"  # separators dropped
    assert body["masked"] is False
    assert body["payee_name"] == "林美 Lin Mei" and body["branch"] == "金沙支行"
    assert body["updated_by"].startswith("admin")

    for role in ("fund_officer", "admin"):
        read = sign_in(role).get(payee_path(shop))
        assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
        assert read.get_json()["account_number"] == "6222021234567890123"

    own = sign_in("merchant", merchant_id=shop).get(payee_path(shop))
    assert own.status_code == 200 and own.headers["Cache-Control"] == "no-store"
    assert own.get_json()["account_number"] == "****0123"
    assert own.get_json()["masked"] is True
    assert own.get_json()["bank"] == "中国工商银行"

    volunteer = sign_in("volunteer", account_id=community.volunteer("Li Wei"))
    for refused in (
        sign_in("coordinator").get(payee_path(shop)),
        sign_in("auditor").get(payee_path(shop)),
        volunteer.get(payee_path(shop)),
    ):
        assert (refused.status_code, problem_code(refused)) == (403, "forbidden")


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_the_shop_replaces_its_own_and_reads_them_back_masked(app, sign_in, shop):
    owner = sign_in("merchant", merchant_id=shop)
    first = owner.put(payee_path(shop), json=DETAILS)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["account_number"] == "****0123"
    changed = owner.put(
        payee_path(shop),
        json={
            "payee_name": "Corner Grocery Ltd",
            "bank": "农业银行",
            "account_number": "１２３４５６７８９",
        },
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["branch"] == ""  # not given
    full = sign_in("fund_officer").get(payee_path(shop)).get_json()
    assert full["account_number"] == "123456789"  # full-width digits typed on a phone
    assert full["payee_name"] == "Corner Grocery Ltd"
    assert full["updated_by"] == owner_name(app, shop)


def owner_name(app, merchant_id: str) -> str:
    users = list_users(app.extensions["goldbean.auth"])
    return next(u.username for u in users if u.merchant_id == merchant_id)


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_nothing_entered_yet_is_not_found(app, sign_in, shop):
    missing = sign_in("fund_officer").get(payee_path(shop))
    assert (missing.status_code, problem_code(missing)) == (404, "not_found")
    assert "no payee details" in missing.get_json()["detail"]
    unknown = sign_in("admin").put(payee_path("00000000-0000-0000-0000-000000000000"), json=DETAILS)
    assert (unknown.status_code, problem_code(unknown)) == (404, "not_found")


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_a_till_neither_reads_nor_changes_them_and_another_shop_is_refused(
    app, community, sign_in, admin, shop
):
    admin.put(payee_path(shop), json=DETAILS)
    _, token = app.extensions["goldbean.auth"].create_terminal(shop, "counter till")
    till = Client(app.test_client(), token)
    for answer in (
        till.get(payee_path(shop)),
        till.put(payee_path(shop), json={**DETAILS, "account_number": "99999999"}),
    ):
        assert (answer.status_code, problem_code(answer)) == (403, "forbidden")
        assert "till" in answer.get_json()["detail"]
    other = sign_in("merchant", merchant_id=community.merchant("Noodle Canteen", "canteen"))
    refused = other.put(payee_path(shop), json={**DETAILS, "account_number": "99999999"})
    assert (refused.status_code, problem_code(refused)) == (403, "forbidden")
    kept = sign_in("fund_officer").get(payee_path(shop)).get_json()
    assert kept["account_number"] == "6222021234567890123"


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"account_number": "1234-567"}, "account_number"),  # 7 digits
        ({"account_number": "6222 0212 ABCD"}, "account_number"),
        ({"account_number": "1" * 33}, "account_number"),
        ({"payee_name": "   "}, "payee_name"),
        ({"bank": "ICBC\u200b"}, "bank"),
        ({"branch": "x" * 121}, "branch"),
    ],
)
def test_bad_details_are_refused_by_field_and_nothing_is_kept(app, admin, shop, change, field):
    refused = admin.put(payee_path(shop), json={**DETAILS, **change})
    assert (refused.status_code, problem_code(refused)) == (422, "validation_error")
    assert field in refused.get_json()["errors"]["json"]
    assert admin.get(payee_path(shop)).status_code == 404


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_they_never_reach_the_published_log(app, anonymous, admin, shop):
    """The account number, the payee and the bank are beside the log: the public export
    holds none of them, and saving them recorded no event."""
    recorder = app.extensions["goldbean.ledger"].recorder
    before = recorder.max_notification_id()
    assert admin.put(payee_path(shop), json=DETAILS).status_code == 200
    assert recorder.max_notification_id() == before
    export = anonymous.get(f"{A}/public/audit/export").get_data(as_text=True)
    for secret in ("6222021234567890123", "7890123", "林美", "金沙支行"):
        assert secret not in export
