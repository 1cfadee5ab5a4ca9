"""The volunteer's and beneficiary's pages (SPEC §1, §10 ``/me``): the balance and history,
the payment code, scanning a shop's or an activity's code, paying a shop, reporting an
incident, giving beans and the leaderboard choice."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from api.web.member_help import INCIDENT_NAMES
from ledger.codes import format_for_display
from ledger.rules import INCIDENT_CATEGORIES
from ledger.views import Actor
from merchant_pos.qr import qr_png
from projections import queries
from tests.api.test_web_pages import PASSWORD, csrf_token, log_in

HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
PAYMENT_CODE = re.compile(r'id="code-digits">([0-9 ]+)<')

VOLUNTEER_PAGES = ("/me/code", "/me/scan", "/me/report", "/me/give")


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ledger(community):
    return community.ledger


@pytest.fixture
def volunteer(client, auth, community):
    """李伟, a volunteer signed in as ``liwei``: their account id."""
    account_id = community.volunteer("李伟")
    auth.create_user("liwei", PASSWORD, "volunteer", account_id=account_id)
    assert log_in(client, "liwei").status_code == 303
    return account_id


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


def html_of(answer) -> str:
    """The page, with character references resolved (a flashed "shop's" is "shop&#39;s")."""
    return unescape(answer.get_data(as_text=True))


def in_english(client) -> None:
    """Read the pages in English from now on (messages are translated when flashed)."""
    client.get("/login?lang=en")


def form_fields(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of the form ``form_id`` on the page (csrf_token, form_key, ...)."""
    start = html.index(f'id="{form_id}"')
    form = html[start : html.index("</form>", start)]
    return dict(HIDDEN.findall(form))


def post_form(client, page: str, form_id: str, **values):
    """Fill in the form ``form_id`` of ``page`` with ``values`` and send it."""
    html = html_of(client.get(page))
    action = re.search(rf'action="([^"]+)" id="{form_id}"', html).group(1)
    return client.post(action, data=form_fields(html, form_id) | values)


def shown_flash(client, page: str = "/me") -> str:
    return html_of(client.get(page))


def code_of(community, merchant_id: str) -> str:
    return community.ledger.get_merchant(merchant_id).merchant_code


# --- the balance and the history ---------------------------------------------------------------


def test_my_beans_shows_the_balance_and_the_history_in_chinese(client, community, volunteer, shop):
    community.earn(volunteer, 12)
    community.pay(volunteer, shop, 5)
    page = client.get("/me")
    assert page.status_code == 200
    html = html_of(page)
    assert '<html lang="zh-CN">' in html and "liwei" in html
    assert 'id="me-balance">7<' in html
    assert "余额" in html and "历史记录" in html
    assert "上报奖励" in html and "在Corner Grocery消费" in html
    assert "+12" in html and "−5" in html


def test_my_beans_in_english_says_what_each_entry_was(client, community, volunteer, shop):
    community.earn(volunteer, 12)
    redemption = community.pay(volunteer, shop, 5)
    community.refund(redemption, 2)
    community.give(volunteer, "pool", 3)
    html = html_of(client.get("/me?lang=en"))
    assert '<html lang="en">' in html and "<h1>My beans</h1>" in html
    assert 'id="me-balance">6<' in html
    for words in (
        "Award for a verified report",
        "Paid at Corner Grocery",
        "Refund from Corner Grocery",
        "Gift to the gift pool",
    ):
        assert words in html


def test_the_history_shows_the_latest_50_and_links_to_older_ones(client, community, volunteer):
    for _ in range(53):
        community.earn(volunteer, 1)
    html = html_of(client.get("/me?lang=en"))
    assert html.count('<td class="num credit">') == 50
    older = re.search(r'href="(/me\?before=\d+)" id="me-older"', html).group(1)
    rest = html_of(client.get(older))
    assert rest.count('<td class="num credit">') == 3
    assert 'id="me-older"' not in rest and 'href="/me" id="me-newest"' in rest


def test_a_beneficiary_sees_balance_and_history_only(client, auth, community):
    grandma = community.beneficiary("王奶奶")
    community.ledger.grant_allotments(community.now.strftime("%Y-%m"), Actor("coord-1"))
    auth.create_user("wang", PASSWORD, "beneficiary", account_id=grandma)
    log_in(client, "wang")
    html = html_of(client.get("/me?lang=en"))
    assert "wang" in html and 'id="me-balance">100<' in html and "Monthly allotment" in html
    assert "leaderboard-form" not in html and "/me/code" not in html
    for path in VOLUNTEER_PAGES:
        assert client.get(path).status_code == 403


def test_the_leaderboard_choice_toggles(client, ledger, volunteer):
    in_english(client)
    assert not ledger.get_account(volunteer).leaderboard_opt_in
    answer = post_form(client, "/me", "leaderboard-form", opt_in="1")
    assert answer.status_code == 303 and answer.headers["Location"] == "/me"
    assert ledger.get_account(volunteer).leaderboard_opt_in
    html = shown_flash(client, "/me")
    assert "Your name will appear on the public leaderboard." in html
    assert 'name="opt_in" value="1" aria-describedby="opt_in-hint" checked' in html
    post_form(client, "/me", "leaderboard-form")  # the box unticked
    assert not ledger.get_account(volunteer).leaderboard_opt_in


# --- the payment code --------------------------------------------------------------------------


def test_the_payment_code_page_shows_a_qr_code_and_its_digits(client, ledger, volunteer):
    page = client.get("/me/code")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    html = html_of(page)
    assert "我的付款码" in html and "换一个码" in html
    assert "<svg" in html and 'src="/static/web/me-code.js"' in html
    digits = PAYMENT_CODE.search(html).group(1)
    code = digits.replace(" ", "")
    assert len(code) == 37 and code.startswith("8") and digits == format_for_display(code)
    assert f"<title>{code}</title>" in html  # the QR image carries the same code
    english = html_of(client.get("/me/code?lang=en"))
    assert "<h1>My payment code</h1>" in english and "New code" in english


def test_the_page_s_script_gets_a_fresh_code(client, volunteer, clock):
    html = html_of(client.get("/me/code"))
    shown = PAYMENT_CODE.search(html).group(1).replace(" ", "")
    token = re.search(r'data-csrf="([^"]+)"', html).group(1)
    clock.advance(seconds=1)  # codes of one second differ only by a 2-digit random nonce
    answer = client.post("/me/code.json", headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    fresh = answer.get_json()
    assert fresh["code"] != shown and len(fresh["code"]) == 37
    assert (
        fresh["qr_svg"].startswith("<svg") and f"<title>{fresh['code']}</title>" in fresh["qr_svg"]
    )
    assert fresh["expires_in"] == 60 and fresh["expires_at"].endswith("Z")
    assert fresh["display"] == format_for_display(fresh["code"])
    assert client.post("/me/code.json").status_code == 400  # no CSRF token: refused


def test_new_code_without_scripts_shows_the_page_again(client, volunteer):
    answer = post_form(client, "/me/code", "new-code-form")
    assert answer.status_code == 303 and answer.headers["Location"] == "/me/code"


def test_a_shop_redeems_the_code_shown(client, community, volunteer, shop):
    community.earn(volunteer, 10)
    html = html_of(client.get("/me/code"))
    code = PAYMENT_CODE.search(html).group(1)
    community.ledger.redeem(shop, code, 4)
    assert community.balance(volunteer) == 6


# --- scanning ----------------------------------------------------------------------------------


def test_scanning_a_shop_s_counter_code_leads_to_paying_it(client, community, volunteer, shop):
    page = client.get("/me/scan")
    assert page.status_code == 200 and "扫码" in html_of(page)
    assert "media-src 'self' blob: mediastream:" in page.headers["Content-Security-Policy"]
    assert page.headers["Permissions-Policy"] == "camera=(self)"
    code = code_of(community, shop)
    spaced = f"{code[:4]} {code[4:8]} {code[8:]}"
    answer = post_form(client, "/me/scan", "scan-form", code=spaced)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/me/pay?merchant={code}"


@pytest.mark.parametrize("typed", ["12345", "7123456789", "hello", ""])
def test_an_unknown_code_is_refused_in_words(client, volunteer, typed):
    client.get("/me/scan?lang=en")
    answer = post_form(client, "/me/scan", "scan-form", code=typed)
    assert answer.status_code == 422
    html = html_of(answer)
    assert 'class="flash error" role="alert"' in html
    assert "Check the digits" in html or "Scan a code or type its digits." in html


def test_a_payment_code_is_not_something_a_volunteer_scans(client, community, volunteer):
    other = community.volunteer("张三")
    answer = post_form(client, "/me/scan?lang=en", "scan-form", code=community.payment_code(other))
    assert answer.status_code == 422 and "a shop's till scans it" in html_of(answer)


def test_checking_in_with_an_activity_s_code(client, community, ledger, volunteer):
    in_english(client)
    now = community.now
    activity = ledger.create_activity(
        "Clean the riverside",
        now - timedelta(hours=1),
        now + timedelta(hours=2),
        8,
        by=Actor("coord-1"),
    )
    client.get("/me/scan?lang=en")
    confirm = post_form(client, "/me/scan", "scan-form", code=activity.checkin_code)
    assert confirm.status_code == 200
    html = html_of(confirm)
    assert "Clean the riverside" in html and activity.checkin_code not in confirm.request.url
    fields = form_fields(html, "checkin-form")
    assert fields["activity_id"] == activity.id
    done = client.post("/me/checkin", data=fields)
    assert done.status_code == 303 and done.headers["Location"] == "/me"
    assert "awaits the coordinator's confirmation" in shown_flash(client)
    assert ledger.get_activity(activity.id).checked_in == [volunteer]
    assert community.balance(volunteer) == 0  # beans come when the coordinator confirms


def test_a_check_in_code_of_no_activity_or_outside_its_times_is_refused(
    client, community, ledger, volunteer
):
    client.get("/me/scan?lang=en")
    unknown = post_form(client, "/me/scan", "scan-form", code="5000000000004")
    assert unknown.status_code == 422 and "No activity has that check-in code." in html_of(unknown)
    later = community.now + timedelta(days=1)
    activity = ledger.create_activity(
        "Tomorrow's walk", later, later + timedelta(hours=1), 5, by=Actor("coord-1")
    )
    confirm = post_form(client, "/me/scan", "scan-form", code=activity.checkin_code)
    answer = client.post("/me/checkin", data=form_fields(html_of(confirm), "checkin-form"))
    assert answer.status_code == 303
    assert "only while the activity runs" in shown_flash(client, "/me/scan")
    assert ledger.get_activity(activity.id).checked_in == []


def test_the_server_reads_a_frame_for_browsers_without_a_detector(
    client, community, volunteer, shop
):
    html = html_of(client.get("/me/scan"))
    token = re.search(r'data-csrf="([^"]+)"', html).group(1)
    code = code_of(community, shop)
    headers = {"X-CSRFToken": token}
    answer = client.post(
        "/me/scan/decode", data=qr_png(code, 4), content_type="image/png", headers=headers
    )
    assert answer.status_code == 200 and answer.get_json() == {"codes": [code]}
    text = client.post("/me/scan/decode", data=b"hello", content_type="text/plain", headers=headers)
    assert text.status_code == 422
    big = client.post(
        "/me/scan/decode",
        data=b"\x89PNG" + b"0" * 50_000,
        content_type="image/png",
        headers=headers,
    )
    assert big.status_code == 413
    assert (
        client.post("/me/scan/decode", data=qr_png(code, 4), content_type="image/png").status_code
        == 400
    )


# --- paying a shop -----------------------------------------------------------------------------


def test_paying_a_shop_moves_the_beans_once_however_often_the_form_is_sent(
    client, community, volunteer, shop
):
    community.earn(volunteer, 20)
    page = client.get(f"/me/pay?merchant={code_of(community, shop)}")
    assert page.status_code == 200
    html = html_of(page)
    assert "向商户付款" in html and "Corner Grocery" in html and "您的余额：20 金豆" in html
    in_english(client)
    fields = form_fields(html, "pay-form") | {"amount": "7"}
    asked = client.post("/me/pay", data=fields)  # the shop and the amount, to confirm
    assert asked.status_code == 200 and "Confirm and pay 7 beans" in html_of(asked)
    assert community.balance(volunteer) == 20 and community.balance(shop) == 0
    confirmed = form_fields(html_of(asked), "confirm-form")
    assert confirmed["form_key"] == fields["form_key"] and confirmed["confirm"] == "1"
    first = client.post("/me/pay", data=confirmed)
    again = client.post("/me/pay", data=confirmed)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert first.headers["Location"].startswith("/me/paid/")
    assert community.balance(volunteer) == 13 and community.balance(shop) == 7
    receipt = html_of(client.get(first.headers["Location"]))
    assert "Corner Grocery" in receipt and 'id="receipt-balance">13 beans<' in receipt
    assert "You paid 7 beans to Corner Grocery." in receipt


def test_an_overdraft_is_refused_in_words_and_records_nothing(client, community, volunteer, shop):
    community.earn(volunteer, 5)
    client.get("/me?lang=en")
    answer = post_form(
        client, f"/me/pay?merchant={code_of(community, shop)}", "pay-form", amount="6"
    )
    assert answer.status_code == 409
    html = html_of(answer)
    assert "Not enough beans." in html and 'value="6"' in html
    assert community.balance(volunteer) == 5 and community.balance(shop) == 0


def test_a_suspended_shop_or_an_amount_over_the_limit_is_refused(
    client, community, volunteer, shop
):
    community.earn(volunteer, 100)
    client.get("/me?lang=en")
    page = f"/me/pay?merchant={code_of(community, shop)}"
    over = post_form(client, page, "pay-form", amount="501")
    assert over.status_code == 422 and "That is over the limit." in html_of(over)
    not_a_number = post_form(client, page, "pay-form", amount="2.5")
    assert not_a_number.status_code == 422 and "whole number" in html_of(not_a_number)
    community.ledger.suspend_merchant(shop, Actor("admin"))
    assert "This shop is suspended" in html_of(client.get(page))
    suspended = post_form(client, page, "pay-form", amount="3")
    assert suspended.status_code == 403 and "This merchant is suspended." in html_of(suspended)
    assert community.balance(volunteer) == 100 and community.balance(shop) == 0


def test_a_wrong_counter_code_goes_back_to_scanning(client, volunteer):
    answer = client.get("/me/pay?merchant=7000000001")
    assert answer.status_code == 303 and answer.headers["Location"] == "/me/scan"
    assert client.get("/me/pay").headers["Location"] == "/me/scan"


def test_a_receipt_is_only_for_its_payer(client, community, volunteer, shop):
    other = community.volunteer("张三")
    community.earn(other, 5)
    theirs = community.pay(other, shop, 2)
    assert client.get(f"/me/paid/{theirs.id}").status_code == 404


# --- reporting an incident ---------------------------------------------------------------------


def test_every_incident_category_has_a_name():
    assert set(INCIDENT_NAMES) == set(INCIDENT_CATEGORIES)


def test_reporting_an_incident_records_it_once_and_lists_it(app, client, community, volunteer):
    page = html_of(client.get("/me/report"))
    assert "我的上报" in page and '<option value="fire">火灾隐患</option>' in page
    fields = form_fields(page, "report-form") | {
        "category": "fire",
        "description": "Smoke from the bins behind building 3",
        "location": "Building 3",
        "urgent": "1",
    }
    in_english(client)
    first = client.post("/me/report", data=fields)
    again = client.post("/me/report", data=fields)
    assert first.status_code == again.status_code == 303
    with app.app_context():
        from api.context import reading

        with reading() as conn:
            mine = queries.incidents_reported_by(conn, volunteer)
    assert len(mine) == 1
    assert (mine[0]["category"], mine[0]["urgent"], mine[0]["location"]) == (
        "fire",
        True,
        "Building 3",
    )
    html = html_of(client.get("/me/report"))
    assert "Thank you: your report was sent." in html
    assert "Smoke from the bins behind building 3" in html
    assert "Waiting for a coordinator" in html and "(urgent)" in html


def test_a_report_needs_a_category_and_a_description(client, community, ledger, volunteer):
    client.get("/me/report?lang=en")
    no_words = post_form(client, "/me/report", "report-form", category="fire", description=" ")
    assert no_words.status_code == 422 and "Describe what happened." in html_of(no_words)
    no_kind = post_form(client, "/me/report", "report-form", category="ufo", description="x")
    assert no_kind.status_code == 422 and "Choose what kind of incident it is." in html_of(no_kind)


def test_a_verified_report_shows_its_award(client, community, volunteer):
    incident = community.ledger.submit_incident(volunteer, "sanitation", "Rubbish on the path")
    community.ledger.verify_incident(incident.id, Actor("coord-1"))
    html = html_of(client.get("/me/report?lang=en"))
    assert "Sanitation" in html and "Verified" in html and "Award: 2 beans" in html


# --- giving ------------------------------------------------------------------------------------


def test_giving_to_the_gift_pool(client, community, volunteer):
    community.earn(volunteer, 10)
    page = html_of(client.get("/me/give"))
    assert "赠送金豆" in page and "爱心池" in page
    fields = form_fields(page, "give-form") | {"to": "pool", "amount": "4", "message": "加油"}
    in_english(client)
    first = client.post("/me/give", data=fields)
    again = client.post("/me/give", data=fields)
    assert first.status_code == again.status_code == 303
    assert community.balance(volunteer) == 6 and community.balance("pool") == 4
    html = html_of(client.get("/me/give"))
    assert "You gave 4 beans to the gift pool. Your balance is now 6 beans." in html


def test_giving_to_a_beneficiary_by_the_number_on_their_card(client, community, volunteer):
    community.earn(volunteer, 10)
    grandma = community.beneficiary("王奶奶")
    card = community.card(grandma)
    printed = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    in_english(client)
    answer = post_form(
        client, "/me/give", "give-form", to="beneficiary", beneficiary=printed, amount="3"
    )
    assert answer.status_code == 303
    assert community.balance(grandma) == 3 and community.balance(volunteer) == 7
    html = html_of(client.get("/me/give"))
    assert f"You gave 3 beans to the beneficiary whose card number ends in {card[-4:]}." in html
    assert "王奶奶" not in html


def test_a_gift_to_an_unknown_card_or_beyond_the_balance_records_nothing(
    client, community, volunteer
):
    community.earn(volunteer, 10)
    grandma = community.beneficiary("王奶奶")
    card = community.card(grandma)
    client.get("/me?lang=en")
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    unknown = post_form(
        client, "/me/give", "give-form", to="beneficiary", beneficiary=wrong, amount="3"
    )
    assert unknown.status_code == 422 and "No beneficiary has that card number." in html_of(unknown)
    volunteer_number = community.ledger.get_account(volunteer).number
    not_one = post_form(
        client, "/me/give", "give-form", to="beneficiary", beneficiary=volunteer_number, amount="3"
    )
    assert not_one.status_code == 422 and "No beneficiary has that card number." in html_of(not_one)
    too_much = post_form(client, "/me/give", "give-form", to="pool", amount="11")
    assert too_much.status_code == 409 and "Not enough beans." in html_of(too_much)
    community.card(grandma)  # reissued: the old card no longer names her
    old = post_form(client, "/me/give", "give-form", to="beneficiary", beneficiary=card, amount="1")
    assert old.status_code == 422 and "replaced by a newer card" in html_of(old)
    assert community.balance(volunteer) == 10 and community.balance(grandma) == 0
    assert community.balance("pool") == 0


def test_scanning_a_beneficiary_s_card_opens_the_gift_form(client, community, volunteer):
    card = community.card(community.beneficiary("王奶奶"))
    answer = post_form(client, "/me/scan", "scan-form", code=card)
    assert answer.status_code == 200
    html = html_of(answer)
    assert 'id="give-form"' in html and f'value="{card}"' in html
    assert 'name="to" value="beneficiary" checked>' in html


# --- who may open the pages --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["merchant", "coordinator"])
def test_other_roles_are_not_allowed(client, auth, community, role):
    ids = {"merchant_id": community.merchant("Corner Grocery")} if role == "merchant" else {}
    auth.create_user("someone", PASSWORD, role, **ids)
    log_in(client, "someone")
    in_english(client)
    for path in ("/me", *VOLUNTEER_PAGES):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "This page is not for your role." in html_of(answer)
    token = csrf_token(html_of(client.get("/me")))
    for path in ("/me/leaderboard", "/me/code.json", "/me/pay", "/me/give", "/me/report"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


@pytest.mark.parametrize("path", ["/me", *VOLUNTEER_PAGES, "/me/pay?merchant=7123"])
def test_a_visitor_is_sent_to_sign_in_and_back(client, path):
    answer = client.get(path)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    ("path", "chinese", "english"),
    [
        ("/me", "余额", "Balance"),
        ("/me/code", "我的付款码", "My payment code"),
        ("/me/scan", "手动输入号码", "Type the code"),
        ("/me/report", "我的上报", "My reports"),
        ("/me/give", "赠送金豆", "Give beans"),
    ],
)
def test_each_page_speaks_chinese_by_default_and_english_when_asked(
    client, volunteer, path, chinese, english
):
    html = html_of(client.get(path))
    assert '<html lang="zh-CN">' in html and chinese in html
    html = html_of(client.get(f"{path}?lang=en"))
    assert '<html lang="en">' in html and english in html and chinese not in html


def test_a_phone_that_keeps_typing_unknown_codes_is_made_to_wait(
    app, client, community, volunteer, shop
):
    """Guessing check-in or card codes from the scan page is throttled like the API's
    redemptions: after 20 unknown codes in 15 minutes even a good code waits."""
    for number in range(app.extensions["goldbean.auth"].max_code_failures):
        assert post_form(client, "/me/scan", "scan-form", code=f"71{number:08d}").status_code == 422
    stopped = post_form(client, "/me/scan", "scan-form", code=code_of(community, shop))
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 0
    assert "无效码或密码错误次数过多" in html_of(stopped)
    community.advance(minutes=16)
    assert (
        post_form(client, "/me/scan", "scan-form", code=code_of(community, shop)).status_code == 303
    )
