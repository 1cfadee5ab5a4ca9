"""The fund officer's, the auditor's and the admin's pages, and the public pages about the
programme (SPEC §1, §10; issue 6): what each role sees and does, what the ledger records,
and who is turned away."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from flask_babel import gettext
from markupsafe import escape

from api import cli
from api.auth import BadToken

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def person(app, auth):
    """person(role, **ids) -> a test client signed in to the pages as a new user."""
    made = iter(range(1, 1000))

    def make(role: str, name: str | None = None, **ids):
        username = name or f"{role}-{next(made)}"
        auth.create_user(username, PASSWORD, role, **ids)
        client = app.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=form).status_code == 303
        client.username = username
        return client

    return make


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden fields (csrf_token, form_key...) of the form posting to ``action``."""
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert found, f"the page has no form posting to {action}"
    return dict(HIDDEN.findall(found.group(1)))


def post_form(client, page: str, action: str, **fields):
    """Open ``page``, fill in the form that posts to ``action``, and send it."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data={**form_of(html, action), **fields})


def verification(auditor) -> str:
    """Start "verify now", follow it to its page and wait for the result (the work runs
    in the background); the page of the result."""
    started = post_form(auditor, "/staff/audit", "/staff/audit/verify")
    assert started.status_code == 303, text(started)
    where = started.headers["Location"]
    assert where.startswith("/staff/audit/verify/")
    deadline = time.monotonic() + 120
    while True:
        shown = auditor.get(where)
        assert shown.status_code == 200
        html = text(shown)
        if 'id="verify-result"' in html or time.monotonic() > deadline:
            return html
        assert 'id="verify-progress"' in html and 'http-equiv="refresh"' in html
        time.sleep(0.05)


def zh(app, msgid: str, **values) -> str:
    """A message as a Chinese reader sees it in a page (translated, HTML-escaped)."""
    with app.test_request_context("/?lang=zh_CN"):
        return str(escape(gettext(msgid, **values)))


def text(answer) -> str:
    return answer.get_data(as_text=True)


# --- the fund officer -----------------------------------------------------------------------


def donation(**fields) -> dict[str, str]:
    return {
        "amount_yuan": "12.34",
        "donor": "金沙居民",
        "received_on": "2026-03-09",
        "receipt_no": "R-0001",
        **fields,
    }


def test_a_fund_officer_records_a_donation_in_exact_fen(app, person, ledger):
    officer = person("fund_officer")
    page = officer.get("/staff/donations")
    assert page.status_code == 200
    assert 'name="amount_yuan"' in text(page) and '<html lang="zh-CN">' in text(page)

    answer = post_form(officer, "/staff/donations", "/staff/donations", **donation())
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/donations"
    assert ledger.get_fund().balance_fen == 1234
    listed = text(officer.get("/staff/donations"))
    assert "¥12.34" in listed and "R-0001" in listed and "金沙居民" in listed
    assert (
        zh(
            app,
            "Donation of %(amount)s recorded (receipt %(receipt)s).",
            amount="¥12.34",
            receipt="R-0001",
        )
        in listed
    )

    # the same form sent again (a double click) records nothing more
    html = officer.get("/staff/donations").get_data(as_text=True)
    fields = {**form_of(html, "/staff/donations"), **donation(receipt_no="R-0002")}
    assert officer.post("/staff/donations", data=fields).status_code == 303
    assert officer.post("/staff/donations", data=fields).status_code == 303
    assert ledger.get_fund().balance_fen == 2468


@pytest.mark.parametrize("amount", ["5,000", "5，000", "5 000", "５０００", "５，０００.００"])
def test_a_donation_typed_with_thousands_separators_or_full_width_digits_is_read(
    person, ledger, amount
):
    officer = person("fund_officer")
    answer = post_form(
        officer, "/staff/donations", "/staff/donations", **donation(amount_yuan=amount)
    )
    assert answer.status_code == 303
    assert ledger.get_fund().balance_fen == 500_000
    assert "¥5,000.00" in text(officer.get("/staff/donations"))


@pytest.mark.parametrize("amount", ["12.345", "12,34", "-5", "1e3", "abc", "", "0.00"])
def test_an_amount_that_is_not_whole_fen_is_refused_and_nothing_is_recorded(
    app, person, ledger, amount
):
    officer = person("fund_officer")
    answer = post_form(
        officer, "/staff/donations", "/staff/donations", **donation(amount_yuan=amount)
    )
    assert answer.status_code == 422
    html = text(answer)
    assert zh(app, "The donation was not recorded. Check the marked fields.") in html
    assert 'aria-invalid="true" aria-describedby="amount_yuan-error' in html
    assert f'value="{amount}"' in html  # what was typed is kept for correcting
    assert ledger.get_fund().balance_fen == 0


def test_the_refusal_of_a_third_decimal_is_in_english_for_english_readers(person, ledger):
    officer = person("fund_officer")
    officer.get("/staff/donations?lang=en")
    answer = post_form(
        officer, "/staff/donations", "/staff/donations", **donation(amount_yuan="12.345")
    )
    assert answer.status_code == 422
    assert "Enter the amount in yuan with at most two decimal places, for example 12.34." in text(
        answer
    )
    assert ledger.get_fund().balance_fen == 0


def test_a_receipt_number_used_for_another_donation_is_refused(app, person, ledger):
    officer = person("fund_officer")
    post_form(officer, "/staff/donations", "/staff/donations", **donation())
    answer = post_form(
        officer, "/staff/donations", "/staff/donations", **donation(amount_yuan="99")
    )
    assert answer.status_code == 409
    assert zh(app, "That receipt number is already recorded.") in text(answer)
    assert ledger.get_fund().balance_fen == 1234


def test_settlements_take_two_fund_officers_and_each_line_is_paid_once(
    app, person, community, ledger
):
    volunteer = community.volunteer("李伟")
    shop = community.merchant("Corner Grocery")
    community.earn(volunteer, 40)
    community.spend(volunteer, shop, 30)
    community.donate(10_000)
    first, second = person("fund_officer", "officer1"), person("fund_officer", "officer2")
    tomorrow = (community.today + timedelta(days=1)).isoformat()

    prepared = post_form(first, "/staff/settlements", "/staff/settlements", cutoff=tomorrow)
    assert prepared.status_code == 303
    path = prepared.headers["Location"]
    settlement_id = path.rsplit("/", 1)[1]
    assert ledger.get_settlement(settlement_id).status == "prepared"
    listed = text(first.get("/staff/settlements"))
    assert f'href="{path}"' in listed and 'data-status="prepared"' in listed

    # four eyes: the officer who prepared it sees no approve button but why, and a post
    # of theirs is refused, in the reader's language
    mine = text(first.get(path))
    assert 'id="approve-form"' not in mine and 'id="approve-hint"' in mine
    assert zh(app, "You prepared this settlement: another fund officer must approve it.") in mine
    csrf = CSRF.search(mine).group(1)
    refused = first.post(f"{path}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 303
    page = text(first.get(path))
    four_eyes = (
        "Another fund officer must do this: you prepared the settlement or recorded the donation."
    )
    assert zh(app, four_eyes) in page
    assert ledger.get_settlement(settlement_id).status == "prepared"

    approved = post_form(second, path, f"{path}/approve")
    assert approved.status_code == 303
    view = ledger.get_settlement(settlement_id)
    assert (view.status, view.approved_by) == ("approved", "officer2")

    page = text(second.get(path))
    assert "Corner Grocery" in page and "¥30.00" in page and "¥3.00" in page  # cash, rebate
    pay = f"{path}/lines/{shop}/paid"
    fields = {**form_of(page, pay), "payment_ref": "BANK-2026-03-1"}
    asking = second.post(pay, data=fields)  # asked once more: a payment cannot be unrecorded
    assert asking.status_code == 200 and 'id="confirm-yes"' in text(asking)
    assert "BANK-2026-03-1" in text(asking) and "¥33.00" in text(asking)
    assert ledger.get_settlement(settlement_id).status == "approved"
    fields = {**form_of(text(asking), pay)}
    assert fields["confirmed"] == "yes" and fields["payment_ref"] == "BANK-2026-03-1"
    assert second.post(pay, data=fields).status_code == 303
    assert second.post(pay, data=fields).status_code == 303  # a double click: paid once
    view = ledger.get_settlement(settlement_id)
    assert view.status == "paid" and view.lines[0].payment_ref == "BANK-2026-03-1"
    assert ledger.get_fund().balance_fen == 10_000 - 3300
    page = text(second.get(path))
    assert "BANK-2026-03-1" in page and 'data-paid="yes"' in page
    assert zh(app, "That cannot be done in the record's current state.") not in page

    # the fund page shows the new position and the chart of the month ends
    fund = text(first.get("/staff/fund"))
    assert "¥67.00" in fund and '<svg id="fund-history"' in fund


def test_nothing_to_settle_is_said_and_nothing_is_prepared(app, person):
    officer = person("fund_officer")
    answer = post_form(officer, "/staff/settlements", "/staff/settlements", cutoff="")
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/settlements"
    page = text(officer.get("/staff/settlements"))
    assert zh(app, "No merchant has unsettled beans before that date.") in page
    assert 'data-settlement-id="' not in page


# --- the auditor ------------------------------------------------------------------------------


def test_the_auditor_browses_the_log_downloads_the_export_and_verifies_it(
    app, person, community, database_url, tmp_path
):
    volunteer = community.volunteer("李伟")
    community.earn(volunteer, 5)
    community.donate(5_000)
    auditor = person("auditor")

    page = auditor.get("/staff/audit?limit=3")
    assert page.status_code == 200
    html = text(page)
    assert html.count('<tr data-position="') == 3
    assert 'id="events-next"' in html
    following = re.search(r'href="(/staff/audit\?limit=3&amp;before=\d+)" id="events-next"', html)
    second = text(auditor.get(following.group(1).replace("&amp;", "&")))
    first_positions = [int(p) for p in re.findall(r'data-position="(\d+)"', html)]
    next_positions = [int(p) for p in re.findall(r'data-position="(\d+)"', second)]
    assert first_positions == sorted(first_positions, reverse=True)  # the newest first
    assert next_positions and next_positions[0] < first_positions[-1]
    fund_only = text(auditor.get("/staff/audit?kind=Donation"))
    assert 'data-type="Donation.Received"' in fund_only
    assert 'data-type="Incident.Verified"' not in fund_only
    assert zh(app, "Donation received") in fund_only
    assert "_type_" not in fund_only and "Donation.Received<" not in fund_only

    export = auditor.get("/staff/audit/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["Content-Disposition"]
    lines = export.get_data().decode("utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "goldbean-audit-export" and header["events"] == len(lines) - 1
    assert all(json.loads(line)["chain"] for line in lines[1:])
    if not database_url.startswith("memory:"):  # the command line writes the same file
        written = tmp_path / "cli-export.jsonl"
        assert cli.main(["audit", "export", str(written), "--database-url", database_url]) == 0
        cli_lines = written.read_text(encoding="utf-8").splitlines()
        assert cli_lines[1:] == lines[1:]
        cli_header = json.loads(cli_lines[0])
        assert {k: v for k, v in cli_header.items() if k != "exported_at"} == {
            k: v for k, v in header.items() if k != "exported_at"
        }

    html = verification(auditor)
    assert 'id="verify-result" data-ok="yes"' in html
    assert zh(app, "OK") in html


def test_verification_shows_the_first_mismatch_of_a_changed_chain(app, person, community):
    community.earn(community.volunteer("李伟"), 5)
    auditor = person("auditor")
    auditor.get("/staff/audit")  # the chain is projected
    store = app.extensions["goldbean.store"]
    from projections import tables as t

    with store.write() as conn:
        position = conn.execute(t.chain.select().order_by(t.chain.c.position)).first().position
        conn.execute(t.chain.update().where(t.chain.c.position == position).values(chain="0" * 64))
    html = verification(auditor)
    assert 'data-ok="no"' in html
    assert zh(app, "First mismatch at position %(position)s.", position=position) in html


def test_the_latest_verification_is_kept_for_every_auditor(app, person, community):
    community.earn(community.volunteer("李伟"), 5)
    first = person("auditor")
    assert 'id="verify-form"' in text(first.get("/staff/audit/verify"))  # none yet
    verification(first)
    kept = text(person("auditor").get("/staff/audit/verify"))
    assert 'id="verify-result" data-ok="yes"' in kept and 'http-equiv="refresh"' not in kept


def test_a_verification_whose_worker_died_reads_as_interrupted(app, person, clock):
    """Its row stops being renewed; after 30 s it is shown as interrupted and may start
    again, instead of "running" for ever."""
    from api.store import jobs

    store = app.extensions["goldbean.store"]
    with store.write() as conn:
        conn.execute(
            jobs.insert().values(
                job_id="6b1f6a52-0000-4000-8000-00000000000a",
                kind="audit-verify",
                started_by="auditor",
                started_at=clock.now(),
                updated_at=clock.now(),
                stage="export",
                done=10,
                total=100,
            )
        )
    auditor = person("auditor")
    running = text(auditor.get("/staff/audit/verify"))
    assert 'id="verify-progress"' in running and "10 %" in running
    clock.advance(seconds=31)
    assert 'id="verify-interrupted"' in text(auditor.get("/staff/audit/verify"))


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_creates_users_and_switches_them_off_and_on(app, person, auth, community):
    admin = person("admin")
    volunteer = community.volunteer("李伟")
    number = community.ledger.get_account(volunteer).number
    answer = post_form(
        admin,
        "/staff/users",
        "/staff/users",
        username="liwei",
        password=PASSWORD,
        role="volunteer",
        account=number,  # the account number works as well as the id
    )
    assert answer.status_code == 303
    user = auth.get_user("liwei")
    assert (user.role, user.account_id, user.disabled) == ("volunteer", volunteer, False)
    page = text(admin.get("/staff/users"))
    assert 'id="user-liwei"' in page and "李伟" in page

    taken = post_form(
        admin, "/staff/users", "/staff/users", username="liwei", password=PASSWORD, role="auditor"
    )
    assert taken.status_code == 409 and zh(app, "That username is taken.") in text(taken)
    unlinked = post_form(
        admin, "/staff/users", "/staff/users", username="wang", password=PASSWORD, role="volunteer"
    )
    assert unlinked.status_code == 422 and auth.get_user("wang") is None
    grandma = community.beneficiary("王奶奶")
    wrong_kind = post_form(
        admin,
        "/staff/users",
        "/staff/users",
        username="wang",
        password=PASSWORD,
        role="volunteer",
        account=grandma,
    )
    assert wrong_kind.status_code == 422 and auth.get_user("wang") is None
    assert zh(app, "That account is not a volunteer account.") in text(wrong_kind)

    post_form(admin, "/staff/users", "/staff/users/liwei/disable")
    assert auth.get_user("liwei").disabled
    post_form(admin, "/staff/users", "/staff/users/liwei/enable")
    assert not auth.get_user("liwei").disabled
    token = CSRF.search(text(admin.get("/staff/users"))).group(1)
    own = admin.post(f"/staff/users/{admin.username}/disable", data={"csrf_token": token})
    assert own.status_code == 303 and not auth.get_user(admin.username).disabled
    assert zh(app, "You cannot disable your own user.") in text(admin.get("/staff/users"))


def test_the_admin_registers_a_merchant_and_its_terminal_token_is_shown_once(
    app, person, auth, ledger
):
    admin = person("admin")
    answer = post_form(
        admin, "/staff/merchants", "/staff/merchants", name="Sunrise Pharmacy", category="pharmacy"
    )
    assert answer.status_code == 303
    merchant_id = answer.headers["Location"].rsplit("/", 1)[1]
    found = ledger.get_merchant(merchant_id)
    assert (found.name, found.category, found.status) == ("Sunrise Pharmacy", "pharmacy", "active")

    path = f"/staff/merchants/{merchant_id}"
    page = text(admin.get(path))
    assert f'src="{path}/code.svg"' in page and f'href="{path}/sign.pdf"' in page
    assert admin.get(f"{path}/code.svg").mimetype == "image/svg+xml"
    assert admin.get(f"{path}/sign.pdf").mimetype == "application/pdf"

    fields = {**form_of(page, f"{path}/terminals"), "label": "Counter tablet"}
    created = admin.post(f"{path}/terminals", data=fields)
    assert created.status_code == 200
    token = re.search(r'id="terminal-token" value="([^"]+)"', text(created)).group(1)
    assert auth.resolve(token).merchant_id == merchant_id
    assert zh(
        app, "Copy this token now. It is shown only this once and can never be shown again."
    ) in text(created)
    with admin.session_transaction() as session:
        assert token not in json.dumps(dict(session), default=str)

    again = admin.post(f"{path}/terminals", data=fields)  # the form sent twice
    assert again.status_code == 303 and token not in text(again)
    reloaded = text(admin.get(path))
    assert token not in reloaded and "Counter tablet" in reloaded
    assert reloaded.count('data-revoked="no"') == 1  # one terminal, not two

    terminal_id = re.search(r'id="terminal-([0-9a-f-]+)"', reloaded).group(1)
    asking = post_form(admin, path, f"{path}/terminals/{terminal_id}/revoke")
    assert asking.status_code == 200 and 'id="confirm-yes"' in text(asking)
    assert auth.resolve(token)  # still in use until confirmed
    revoked = post_form(admin, path, f"{path}/terminals/{terminal_id}/revoke", confirmed="yes")
    assert revoked.status_code == 303
    with pytest.raises(BadToken):
        auth.resolve(token)
    assert 'data-revoked="yes"' in text(admin.get(path))

    suspend = f"/staff/merchants/{merchant_id}/suspend"
    asking = post_form(admin, "/staff/merchants", suspend)
    assert asking.status_code == 200 and 'id="confirm-no"' in text(asking)
    assert ledger.get_merchant(merchant_id).status == "active"
    post_form(admin, "/staff/merchants", suspend, confirmed="yes")
    assert ledger.get_merchant(merchant_id).status == "suspended"
    post_form(admin, "/staff/merchants", f"/staff/merchants/{merchant_id}/reactivate")
    assert ledger.get_merchant(merchant_id).status == "active"


def test_the_admin_gives_a_terminal_a_new_token_on_its_merchant_s_page(
    app, person, auth, community
):
    admin = person("admin")
    merchant_id = community.merchant("Corner Grocery")
    terminal_id, old = auth.create_terminal(merchant_id, "Counter tablet")
    path = f"/staff/merchants/{merchant_id}"
    assert zh(app, "New token") in text(admin.get(path))
    rotated = post_form(admin, path, f"{path}/terminals/{terminal_id}/rotate")
    assert rotated.status_code == 200
    token = re.search(r'id="terminal-token" value="([^"]+)"', text(rotated)).group(1)
    assert token != old and auth.resolve(token).terminal_id == terminal_id
    with pytest.raises(BadToken):
        auth.resolve(old)
    assert zh(app, "The till's previous token no longer works.") in text(rotated)
    with admin.session_transaction() as session:
        assert token not in json.dumps(dict(session), default=str)
    post_form(admin, path, f"{path}/terminals/{terminal_id}/revoke", confirmed="yes")
    csrf = {"csrf_token": form_of(text(admin.get(path)), f"{path}/terminals")["csrf_token"]}
    refused = admin.post(f"{path}/terminals/{terminal_id}/rotate", data=csrf)
    assert refused.status_code == 303  # revoked: no new token
    elsewhere = community.merchant("Other")
    other = admin.post(f"/staff/merchants/{elsewhere}/terminals/{terminal_id}/rotate", data=csrf)
    assert other.status_code == 404


def test_a_weak_password_is_refused_on_the_admin_s_page_in_chinese(app, person, auth):
    admin = person("admin")
    answer = post_form(
        admin,
        "/staff/users",
        "/staff/users",
        username="li.fo",
        password="password1",
        role="fund_officer",
    )
    assert answer.status_code == 422 and auth.get_user("li.fo") is None
    assert "这个密码太容易被猜到" in text(answer)


def test_a_look_alike_merchant_name_or_terminal_label_is_refused_on_the_pages(
    app, person, ledger, community
):
    admin = person("admin")
    refusal = "名称中不能含有控制字符或不可见字符"
    answer = post_form(
        admin, "/staff/merchants", "/staff/merchants", name="Shop A\u200b", category="grocery"
    )
    assert answer.status_code == 303
    assert refusal in text(admin.get(answer.headers["Location"]))
    assert all(
        ledger.get_merchant(m).name != "Shop A\u200b" for m in ledger.index.ids_of("merchant")
    )
    merchant_id = community.merchant("Corner Grocery")
    path = f"/staff/merchants/{merchant_id}"
    labelled = post_form(admin, path, f"{path}/terminals", label="till\u202e1")
    assert labelled.status_code == 303 and refusal in text(admin.get(path))


def test_the_rules_page_says_the_rules_in_words_and_only_admins_may_propose(app, person):
    coordinator = text(person("coordinator").get("/staff/rules?lang=en"))
    main = coordinator.split("<main", 1)[1].split("</main>")[0]
    assert "<form" not in main and "GOLDBEAN_" not in coordinator
    assert "Fire" in coordinator and ">10<" in coordinator  # the fire award
    assert "Grocery, Fruit and vegetables, Community canteen" in coordinator
    admin = text(person("admin").get("/staff/rules?lang=en"))
    assert 'id="rule-change-form"' in admin and "GOLDBEAN_" not in admin


# --- the public pages -------------------------------------------------------------------------


def test_the_public_pages_need_no_login_and_name_no_volunteer(app, community):
    volunteer = community.volunteer("李伟")
    community.beneficiary("王奶奶")
    shop = community.merchant("Corner Grocery")
    community.merchant("Closed Shop", "restaurant")
    suspended = community.merchant("Gone Pharmacy", "pharmacy")
    community.ledger.suspend_merchant(suspended, community.coordinator)
    community.earn(volunteer, 20)
    community.spend(volunteer, shop, 5)
    community.donate(2_000, donor="A kind neighbour")
    visitor = app.test_client()

    for path in ("/merchants", "/reports", "/how"):
        answer = visitor.get(path)
        assert answer.status_code == 200, path
        html = text(answer)
        assert "李伟" not in html and "王奶奶" not in html, path
    merchants = text(visitor.get("/merchants"))
    assert "Corner Grocery" in merchants and "Closed Shop" in merchants
    assert "Gone Pharmacy" not in merchants
    assert zh(app, "Grocery") in merchants and "合作商户" in merchants
    reports = text(visitor.get("/reports"))
    period = community.now.strftime("%Y-%m")
    assert f'href="/reports/{period}"' in reports and '<svg id="fund-history"' in reports
    assert visitor.get(f"/reports/{period}").status_code == 200

    english = text(visitor.get("/how?lang=en"))
    assert '<html lang="en">' in english and "Your privacy" in english


# --- who may open what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("volunteer", "get", "/staff/fund"),
        ("coordinator", "get", "/staff/donations"),
        ("coordinator", "get", "/staff/settlements"),
        ("auditor", "post", "/staff/donations"),
        ("auditor", "post", "/staff/settlements"),
        ("admin", "get", "/staff/audit"),
        ("fund_officer", "get", "/staff/audit"),
        ("fund_officer", "get", "/staff/audit/export"),
        ("coordinator", "post", "/staff/audit/verify"),
        ("fund_officer", "get", "/staff/users"),
        ("auditor", "post", "/staff/users"),
        ("coordinator", "post", "/staff/merchants"),
        ("fund_officer", "post", "/staff/users/admin/disable"),
    ],
)
def test_other_roles_are_turned_away(app, person, community, role, method, path):
    ids = {"account_id": community.volunteer("李伟")} if role == "volunteer" else {}
    client = person(role, **ids)
    token = CSRF.search(text(client.get("/"))).group(1)  # the sign-out form's
    data = {"csrf_token": token} if method == "post" else None
    answer = getattr(client, method)(path, data=data)
    assert answer.status_code == 403
    assert zh(app, "This page is not for your role.") in text(answer)


@pytest.mark.parametrize("path", ["/staff/fund", "/staff/audit", "/staff/users", "/staff/rules"])
def test_visitors_are_sent_to_sign_in(app, path):
    answer = app.test_client().get(path)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login?next={path}"


def test_staff_pages_speak_chinese_by_default_and_english_when_asked(app, person):
    officer = person("fund_officer")
    chinese = text(officer.get("/staff/fund"))
    assert '<html lang="zh-CN">' in chinese and zh(app, "Cash in the fund") in chinese
    english = text(officer.get("/staff/fund?lang=en"))
    assert '<html lang="en">' in english and "Cash in the fund" in english


def test_the_public_report_the_staff_fund_page_and_the_api_agree_on_coverage_and_liability(
    app, person, sign_in, anonymous, community
):
    """One number each, shown one way: the API's ratio, the report's ratio string and the
    staff page's percentage are the same coverage, and all three price the beans with
    their rebates (a 12 % shop's beans at 12 %, a 5 % shop's at 5 %, beans not yet spent
    at the highest rate, 12 %)."""
    li = community.volunteer("李伟")
    dear, cheap = (
        community.merchant("Dear Shop", rebate_bps=1200),
        community.merchant("Cheap Shop", rebate_bps=500),
    )
    community.earn(li, 100)
    community.spend(li, dear, 30)
    community.spend(li, cheap, 20)
    community.donate(12_345)
    # 30 × 112 + 20 × 105 + 50 × 112 = 3,360 + 2,100 + 5,600
    liability = 11_060

    api = sign_in("auditor").get("/api/v1/fund").get_json()
    period = community.today.strftime("%Y-%m")
    report = anonymous.get(f"/api/v1/public/fund-reports/{period}").get_json()["fund"]
    page = text(person("fund_officer").get("/staff/fund"))

    assert api["liability_fen"] == report["liability_end_fen"] == liability
    assert api["balance_fen"] == report["balance_end_fen"] == 12_345
    assert str(api["coverage"]) == report["coverage_end"] == "1.1162"  # 12345 / 11060
    assert "¥110.60" in page and "111.6%" in page


def test_a_second_officer_reverses_a_mistyped_donation_after_confirming(app, person, ledger):
    first, second = person("fund_officer", "officer1"), person("fund_officer", "officer2")
    post_form(first, "/staff/donations", "/staff/donations", **donation(amount_yuan="10000"))
    assert ledger.get_fund().balance_fen == 1_000_000
    listed = text(second.get("/staff/donations"))
    assert "/staff/donations/reverse?receipt_no=R-0001" in listed

    confirm = "/staff/donations/reverse?receipt_no=R-0001"
    page = text(second.get(confirm))
    assert "¥10,000.00" in page and 'id="confirm-reverse"' in page
    no_reason = post_form(second, confirm, "/staff/donations/reverse", reason=" ")
    assert no_reason.status_code == 422 and ledger.get_fund().balance_fen == 1_000_000
    # the officer who recorded it sees why they cannot, and a post of theirs is refused
    theirs = text(first.get(confirm))
    assert 'id="reverse-hint"' in theirs and 'id="confirm-reverse"' not in theirs
    csrf = CSRF.search(theirs).group(1)
    first.post(
        "/staff/donations/reverse",
        data={"csrf_token": csrf, "receipt_no": "R-0001", "reason": "typed 10000 for 100"},
    )
    assert ledger.get_fund().balance_fen == 1_000_000
    done = post_form(second, confirm, "/staff/donations/reverse", reason="typed 10000 for 100")
    assert done.status_code == 303 and ledger.get_fund().balance_fen == 0
    assert ledger.find_donation("R-0001").reversed


def test_an_officer_cancels_a_settlement_after_confirming(app, person, community, ledger):
    volunteer = community.volunteer("李伟")
    shop = community.merchant("Corner Grocery")
    community.earn(volunteer, 40)
    community.spend(volunteer, shop, 30)
    officer = person("fund_officer", "officer1")
    tomorrow = (community.today + timedelta(days=1)).isoformat()
    prepared = post_form(officer, "/staff/settlements", "/staff/settlements", cutoff=tomorrow)
    path = prepared.headers["Location"]
    settlement_id = path.rsplit("/", 1)[1]
    assert f'href="{path}/cancel"' in text(officer.get(path))

    page = text(officer.get(f"{path}/cancel"))
    assert 'id="confirm-cancel"' in page and "¥33.00" in page
    assert post_form(officer, f"{path}/cancel", f"{path}/cancel", reason="").status_code == 422
    assert ledger.get_settlement(settlement_id).status == "prepared"
    done = post_form(officer, f"{path}/cancel", f"{path}/cancel", reason="wrong cutoff")
    assert done.status_code == 303
    assert ledger.get_settlement(settlement_id).status == "cancelled"
    assert ledger.get_merchant(shop).unsettled_beans == 30
    assert 'id="cancel-settlement"' not in text(officer.get(path))


@pytest.mark.parametrize("given", ["merchant", "upper case", "not-an-account", "beneficiary"])
def test_the_admin_page_links_a_coordinator_as_post_users_does(app, person, auth, community, given):
    """The page's linked-account check is POST /users's: a volunteer's or beneficiary's
    account, kept in canonical form; a merchant's id or no account is refused."""
    admin = person("admin")
    volunteer, grandma = community.volunteer("李伟"), community.beneficiary("王奶奶")
    shop = community.merchant("Corner Grocery")
    account = {
        "merchant": shop,
        "upper case": volunteer.upper(),
        "not-an-account": "not-an-account",
        "beneficiary": grandma,
    }[given]
    answer = post_form(
        admin, "/staff/users", "/staff/users",
        username="coord", password=PASSWORD, role="coordinator", account=account,
    )  # fmt: skip
    if given in ("merchant", "not-an-account"):
        assert answer.status_code == 422 and auth.get_user("coord") is None
    else:
        assert answer.status_code == 303
        assert auth.get_user("coord").account_id == {"upper case": volunteer}.get(given, grandma)
