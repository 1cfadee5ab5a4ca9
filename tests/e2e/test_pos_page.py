"""The POS page (``/pos``) in a real browser against a real server.

Chromium (headless, Debian's ``/usr/bin/chromium`` driven by Playwright) opens the page
as a phone would; the app is served by werkzeug in a thread, on an in-memory ledger with
a fake clock that the test's community shares. The stories: a till signs in with its
terminal token, takes a typed payment code with the keypad and shows the receipt the
server confirmed; reads a QR code from a photo, and from the camera (Chromium's fake
camera showing a code, read by the server as this browser has no BarcodeDetector); asks a
card's PIN; explains a refusal in Chinese and, after a tap, in English (every error code
has its own sentence in both); refunds from today's list; shows a payment made at the
counter by itself; and, when an answer is lost, sends the same request again with the
same Idempotency-Key, so the customer pays once. The volunteer's scan page (``/me/scan``)
reads codes with the same scanner (merchant_pos/static/scan.js), so its camera and photos
are tried here too, each page with its own endpoint and its own words.

Without a browser that starts here the tests skip, saying why; under ``CI=true`` they
fail instead (like PostgreSQL's tests, tests/conftest.py).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from merchant_pos.qr import qr_png
from tests.live_server import LiveServer
from tests.scenario import Community

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # reported by the browser fixture
    sync_playwright = None

CHROMIUM = os.environ.get("GOLDBEAN_CHROMIUM", "/usr/bin/chromium")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
WAIT_MS = 10_000  # the page refreshes today's list every 5 s


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def no_browser(reason: str) -> None:
    """Skip, or under CI fail: the browser tests must run there."""
    if _ci():
        pytest.fail(f"CI=true: the POS page's browser tests must run, but {reason}", pytrace=False)
    pytest.skip(reason)


# --- a live server and a browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def launch() -> Iterator[Callable[..., Browser]]:
    """launch(*args) -> a headless Chromium with these extra command-line args."""
    if sync_playwright is None:
        no_browser("Playwright is not installed")
    if not Path(CHROMIUM).exists():
        no_browser(f"no Chromium at {CHROMIUM} (set GOLDBEAN_CHROMIUM)")
    with sync_playwright() as playwright:
        launched: list[Browser] = []

        def start(*args: str) -> Browser:
            launched.append(
                playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox", *args]
                )
            )
            return launched[-1]

        try:
            start().close()
        except PlaywrightError as error:
            no_browser(f"Chromium cannot start here: {str(error).splitlines()[0]}")
        yield start
        for browser in launched:
            browser.close()


@pytest.fixture(scope="module")
def browser(launch) -> Browser:
    return launch()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer()
    yield live
    live.close()


@pytest.fixture
def community(server) -> Community:
    return server.community


@pytest.fixture
def shop(community, request) -> str:
    """A grocery of its own for each test, so that each test's day starts empty."""
    return community.merchant(f"便民超市 {request.node.name[-20:]}")


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    context = browser.new_context(**PHONE)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page's script failed: {errors}"


@pytest.fixture
def till(page, server, community, shop) -> Page:
    """The POS page, signed in with a new terminal of ``shop``."""
    sign_in(page, server, server.terminal(shop))
    expect(page.locator("#merchant-name")).to_have_text(community.ledger.get_merchant(shop).name)
    return page


@pytest.fixture
def camera_page(launch, tmp_path) -> Iterator[Callable[[str], Page]]:
    """camera_page(code) -> a page in a browser whose camera (Chromium's fake one, allowed
    without asking) shows the QR code of ``code``."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_showing(code: str) -> Page:
        video = tmp_path / f"camera-{len(contexts)}.y4m"
        video.write_bytes(y4m_showing(qr_png(code, box_size=6)))
        camera = launch(
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        )
        context = camera.new_context(**PHONE, permissions=["camera"])
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        opened = context.new_page()
        opened.on("pageerror", lambda error: errors.append(str(error)))
        return opened

    yield open_showing
    for context in contexts:
        context.close()
    assert not errors, f"the page's script failed: {errors}"


# --- what a cashier does -------------------------------------------------------------------


def sign_in(page: Page, server: LiveServer, token: str) -> None:
    page.goto(f"{server.url}/pos")
    page.get_by_label("收银台令牌").fill(token)
    page.get_by_role("button", name="登录", exact=True).click()


def volunteer_with(community: Community, beans: int) -> str:
    volunteer = community.volunteer("李伟")
    community.earn(volunteer, beans)
    return volunteer


def fresh_code(community: Community, volunteer: str) -> str:
    """A payment code a second later than the last one (so never the same code)."""
    community.advance(seconds=1)
    return community.payment_code(volunteer)


def key_in(page: Page, beans: int) -> None:
    page.get_by_role("button", name="清除", exact=True).click()
    for digit in str(beans):
        page.locator(".keypad").get_by_role("button", name=digit, exact=True).click()
    expect(page.locator("#amount")).to_have_text(str(beans))


def press_redeem(page: Page) -> None:
    page.get_by_role("button", name="收款", exact=True).click()


def expect_receipt(page: Page, beans: int) -> str:
    """The receipt shows ``beans``; returns its shortened receipt id."""
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-amount")).to_have_text(str(beans))
    return page.locator("#receipt-id").inner_text()


def expect_totals(page: Page, count: int, redeemed: int, refunded: int) -> None:
    expect(page.locator("#total-count")).to_have_text(str(count))
    expect(page.locator("#total-redeemed")).to_have_text(str(redeemed))
    expect(page.locator("#total-refunded")).to_have_text(str(refunded))
    expect(page.locator("#total-net")).to_have_text(str(redeemed - refunded))


def short(an_id: str) -> str:
    return an_id.replace("-", "")[:8].upper()


# --- the stories -----------------------------------------------------------------------------


def test_a_till_signs_in_once_and_redeems_a_typed_code_with_the_keypad(
    page, server, community, shop
):
    li = volunteer_with(community, 30)
    token = server.terminal(shop)
    sign_in(page, server, token)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#merchant-name")).to_have_text(community.ledger.get_merchant(shop).name)
    assert page.evaluate("localStorage.getItem('goldbean.pos.token')") == token

    code = fresh_code(community, li)
    page.get_by_label("付款码或金豆卡号").fill(code)
    expect(page.locator("#code-kind")).to_contain_text("付款码")
    expect(page.locator("#pin-box")).to_be_hidden()
    for key in ("1", "2"):
        page.locator(".keypad").get_by_role("button", name=key, exact=True).click()
    expect(page.locator("#amount")).to_have_text("12")
    page.get_by_role("button", name="退格").click()
    expect(page.locator("#amount")).to_have_text("1")
    key_in(page, 7)
    with page.expect_request(re.compile(r"/api/v1/redemptions$")) as sent:
        press_redeem(page)
    receipt_id = expect_receipt(page, 7)

    assert community.balance(li) == 23
    assert community.balance(shop) == 7
    request = sent.value
    assert re.fullmatch(r"[0-9a-f-]{36}", request.headers["idempotency-key"])
    assert json.loads(request.post_data) == {"code": code, "amount": 7}
    expect_totals(page, 1, 7, 0)
    expect(page.locator("#today-list li")).to_have_count(1)
    expect(page.locator("#today-list li .id")).to_have_text(receipt_id)
    expect(page.locator("#amount")).to_have_text("0")  # ready for the next sale

    page.reload()  # the token was kept: still signed in
    expect(page.locator("#merchant-name")).to_have_text(community.ledger.get_merchant(shop).name)
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_label("收银台令牌")).to_be_visible()
    assert page.evaluate("localStorage.getItem('goldbean.pos.token')") is None


def test_a_photo_of_a_payment_code_is_read_by_the_server_and_redeemed(till, community, shop):
    li = volunteer_with(community, 20)
    code = fresh_code(community, li)
    photo = {"name": "code.png", "mimeType": "image/png", "buffer": qr_png(code)}

    with till.expect_response(re.compile(r"/api/v1/pos/decode$")) as decoded:
        till.locator("#photo").set_input_files(files=[photo])
    assert decoded.value.status == 200
    assert decoded.value.request.headers["content-type"] == "image/jpeg"  # downscaled, grey
    expect(till.get_by_label("付款码或金豆卡号")).to_have_value(code)
    key_in(till, 5)
    press_redeem(till)

    expect_receipt(till, 5)
    assert community.balance(li) == 15


def test_a_card_with_a_pin_asks_for_the_pin(till, community, shop):
    wang = community.beneficiary("王芳")
    card = community.card(wang, pin="2468")
    community.give(volunteer_with(community, 40), wang, 40)

    till.get_by_label("付款码或金豆卡号").fill(card)
    expect(till.locator("#code-kind")).to_contain_text("金豆卡")
    pin = till.get_by_label("卡密码（4位）")
    expect(pin).to_be_visible()
    key_in(till, 9)
    pin.fill("1111")
    press_redeem(till)

    message = till.locator("#message")
    expect(message).to_have_attribute("data-code", "wrong_pin")
    expect(message).to_contain_text("卡密码不正确")
    expect(pin).to_be_focused()
    expect(pin).to_have_value("")
    expect(till.locator("#receipt")).to_be_hidden()
    assert community.balance(wang) == 40

    pin.fill("2468")
    press_redeem(till)
    expect_receipt(till, 9)
    expect(till.locator("#receipt-kind")).to_have_text("金豆卡")
    assert community.balance(wang) == 31


def test_a_refusal_is_explained_in_chinese_and_after_a_tap_in_english(till, community, shop):
    li = volunteer_with(community, 20)
    code = fresh_code(community, li)
    till.get_by_label("付款码或金豆卡号").fill(code)
    key_in(till, 3)
    press_redeem(till)
    expect_receipt(till, 3)

    till.get_by_role("button", name="下一笔").click()
    till.get_by_label("付款码或金豆卡号").fill(code)  # the same code again
    key_in(till, 3)
    press_redeem(till)
    message = till.locator("#message")
    expect(message).to_have_attribute("data-code", "code_used")
    expect(message).to_contain_text("这个付款码已经用过了")
    expect(till.locator("#receipt")).to_be_hidden()

    till.get_by_role("button", name="English").click()
    expect(till.locator("html")).to_have_attribute("lang", "en")
    expect(message).to_contain_text("This payment code has already been used")
    expect(till.get_by_role("button", name="Redeem", exact=True)).to_be_visible()
    expect(till.get_by_label("Payment code or card number")).to_have_value(code)
    assert community.balance(li) == 17

    till.reload()  # the choice of language is kept
    expect(till.locator("html")).to_have_attribute("lang", "en")
    till.get_by_role("button", name="中文").click()
    expect(till.locator("html")).to_have_attribute("lang", "zh-CN")


def test_a_refund_from_todays_list_updates_the_totals(page, server, community, shop):
    li = volunteer_with(community, 30)
    first = community.spend(li, shop, 10)
    second = community.spend(li, shop, 6)
    sign_in(page, server, server.terminal(shop))
    expect_totals(page, 2, 16, 0)

    row = page.locator(f"#today-list li[data-id='{first.id}']")
    row.get_by_role("button", name=f"退款：收据 {short(first.id)}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    amount = dialog.get_by_label("退款金额（金豆）")
    expect(amount).to_have_value("10")  # what is left of it
    amount.fill("4")
    with page.expect_request(re.compile(r"/refunds$")) as sent:
        dialog.get_by_role("button", name="确认退款").click()
    expect(dialog).to_be_hidden()
    assert sent.value.headers["idempotency-key"]
    expect(page.locator("#message")).to_contain_text("已退款 4 金豆")
    expect(row.locator(".refunded")).to_have_text("已退 4")
    expect_totals(page, 2, 16, 4)
    assert community.balance(li) == 30 - 16 + 4

    page.locator(f"#today-list li[data-id='{second.id}'] button").click()
    community.refund(second, 6)  # meanwhile, at another till
    page.get_by_role("dialog").get_by_role("button", name="确认退款").click()
    expect(page.locator("#refund-error")).to_contain_text("退款金额超过了这笔收款还可退的金豆")
    page.get_by_role("dialog").get_by_role("button", name="取消").click()
    expect_totals(page, 2, 16, 10)  # the next refresh shows the other till's refund
    expect(page.locator(f"#today-list li[data-id='{second.id}'] button")).to_be_disabled()
    assert community.balance(li) == 30 - 16 + 10


def test_a_payment_at_the_counter_shows_up_by_itself(till, community, shop):
    li = volunteer_with(community, 20)
    expect(till.locator("#today-empty")).to_be_visible()
    till.evaluate("window.notReloaded = true")

    payment = community.pay(li, shop, 6)  # the volunteer scanned the counter code

    row = till.locator(f"#today-list li[data-id='{payment.id}']")
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row).to_have_class(re.compile(r"\bfresh\b"))
    expect(row.locator(".amount")).to_have_text("6 金豆")
    expect_totals(till, 1, 6, 0)
    expect(till.locator("#announce")).to_have_text("收到一笔付款：6 金豆")
    assert till.evaluate("window.notReloaded") is True


def test_a_lost_answer_is_sent_again_with_the_same_key_and_charges_once(till, community, shop):
    li = volunteer_with(community, 30)
    sent: list[tuple[str, str]] = []

    def lose_the_first_answer(route, request):
        sent.append((request.headers["idempotency-key"], request.post_data))
        if len(sent) == 1:
            route.fetch()  # the server redeems ...
            route.abort("connectionreset")  # ... and the till never hears of it
        else:
            route.continue_()

    till.route(re.compile(r"/api/v1/redemptions$"), lose_the_first_answer)
    till.get_by_label("付款码或金豆卡号").fill(fresh_code(community, li))
    key_in(till, 8)
    press_redeem(till)

    expect_receipt(till, 8)
    assert len(sent) == 2
    assert sent[0] == sent[1]  # the same key and the same body
    assert community.balance(li) == 22  # once
    expect_totals(till, 1, 8, 0)

    till.get_by_role("button", name="下一笔").click()
    till.get_by_label("付款码或金豆卡号").fill(fresh_code(community, li))
    key_in(till, 2)
    press_redeem(till)
    expect_receipt(till, 2)
    assert len(sent) == 3
    assert sent[2][0] != sent[0][0]  # a new sale, a new key
    assert community.balance(li) == 20


def test_the_camera_reads_a_code_through_the_server_without_barcode_detector(
    camera_page, server, community, shop
):
    li = volunteer_with(community, 20)
    code = fresh_code(community, li)
    page = camera_page(code)
    sign_in(page, server, server.terminal(shop))
    assert page.evaluate("'BarcodeDetector' in window") is False  # headless Linux
    with page.expect_request(re.compile(r"/api/v1/pos/decode$")) as frame:
        page.get_by_role("button", name="扫码", exact=True).click()
        expect(page.locator("video")).to_be_visible()
    assert frame.value.headers["content-type"] == "image/jpeg"
    expect(page.get_by_label("付款码或金豆卡号")).to_have_value(code)
    expect(page.locator("#camera")).to_be_hidden()  # the camera stops once it has a code
    key_in(page, 4)
    press_redeem(page)
    expect_receipt(page, 4)
    assert community.balance(li) == 16


#: SPEC §6's error codes, and the others the POS may meet (docs/API.md).
ERROR_CODES = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "validation_error": 422,
    "insufficient_balance": 409,
    "invalid_code": 422,
    "code_expired": 422,
    "code_used": 409,
    "card_revoked": 422,
    "wrong_pin": 422,
    "pin_required": 422,
    "merchant_not_allowed": 403,
    "merchant_suspended": 403,
    "limit_exceeded": 422,
    "award_cap_exceeded": 422,
    "self_verification": 403,
    "four_eyes_required": 403,
    "refund_exceeds_redemption": 422,
    "refund_window_closed": 422,
    "insufficient_fund": 409,
    "idempotency_key_reused": 422,
    "conflict": 409,
    "unavailable": 503,
    "card_locked": 422,
    "invalid_state": 409,
    "too_many_requests": 429,
    "payload_too_large": 413,
    "internal_error": 500,
}


def test_every_error_code_has_its_own_sentence_in_chinese_and_in_english(page, server):
    answers = iter([*ERROR_CODES.items(), ("a_code_from_the_future", 418)])

    def refuse(route, request):
        code, status = next(answers)
        problem = {"type": "about:blank", "title": code, "status": status, "code": code}
        route.fulfill(
            status=status,
            content_type="application/problem+json",
            body=json.dumps({**problem, "detail": f"the server's detail of {code}"}),
        )

    page.route(re.compile(r"/api/v1/me$"), refuse)
    page.goto(f"{server.url}/pos")
    message = page.locator("#message-text")
    sentences: dict[str, set[str]] = {"zh": set(), "en": set()}
    for code in ERROR_CODES:
        page.locator("#token").fill("a token the server will refuse")
        page.locator("#sign-in-button").click()
        expect(page.locator("#message")).to_have_attribute("data-code", code)
        chinese = message.inner_text()
        page.locator("#lang-toggle").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        english = message.inner_text()
        page.locator("#lang-toggle").click()
        assert re.search(r"[\u4e00-\u9fff]", chinese), (code, chinese)
        assert re.fullmatch(r"[\x20-\x7e\u2019]+", english), (code, english)
        assert "detail" not in chinese + english, code
        sentences["zh"].add(chinese)
        sentences["en"].add(english)
    assert len(sentences["zh"]) == len(sentences["en"]) == len(ERROR_CODES)  # one each

    page.locator("#token").fill("a token the server will refuse")
    page.locator("#sign-in-button").click()  # a code the page does not know yet
    expect(message).to_have_text("the server's detail of a_code_from_the_future")


# --- the volunteer's scan page, which reads codes with the same scanner (scan.js) -------------

PASSWORD = "scan-page-password-2026"
VOLUNTEERS = itertools.count(1)


def volunteer_on_scan_page(page: Page, server: LiveServer, lang: str = "zh") -> None:
    """``page`` signed in on the people's pages as a new volunteer, on /me/scan."""
    account = server.community.volunteer("李伟")
    username = f"volunteer-{next(VOLUNTEERS)}"
    auth = server.app.extensions["goldbean.auth"]
    auth.create_user(username, PASSWORD, "volunteer", account_id=account)
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    page.goto(f"{server.url}/me/scan?lang={lang}")
    expect(page.locator("#scan-tools")).to_be_visible()  # the script is running


def expect_paying(page: Page, server: LiveServer, shop: str) -> None:
    merchant = server.community.ledger.get_merchant(shop)
    expect(page).to_have_url(f"{server.url}/me/pay?merchant={merchant.merchant_code}")
    expect(page.locator("#pay-shop")).to_have_text(merchant.name)


def test_the_scan_page_reads_a_photo_of_a_counter_code_through_its_own_endpoint(page, server, shop):
    volunteer_on_scan_page(page, server)
    code = server.community.ledger.get_merchant(shop).merchant_code
    photo = {"name": "counter.png", "mimeType": "image/png", "buffer": qr_png(code)}
    with page.expect_response(re.compile(r"/me/scan/decode$")) as decoded:
        page.get_by_label("或者给二维码拍照").set_input_files(files=[photo])
    assert decoded.value.status == 200
    assert decoded.value.request.headers["content-type"] == "image/jpeg"  # downscaled, grey
    assert decoded.value.request.headers["x-csrftoken"]  # a form token, not a bearer token
    assert "authorization" not in decoded.value.request.headers
    expect_paying(page, server, shop)  # the code was sent with the form


def test_the_scan_page_s_camera_reads_a_counter_code_and_sends_it(camera_page, server, shop):
    page = camera_page(server.community.ledger.get_merchant(shop).merchant_code)
    volunteer_on_scan_page(page, server)
    with page.expect_request(re.compile(r"/me/scan/decode$")) as frame:
        page.get_by_role("button", name="打开摄像头").click()
        expect(page.get_by_role("button", name="关闭摄像头")).to_be_visible()
        expect(page.locator("#scan-status")).to_have_text("请把二维码放在画面中间。")
    assert frame.value.headers["content-type"] == "image/jpeg"
    expect_paying(page, server, shop)


def test_without_a_camera_or_a_code_both_pages_say_so_in_their_language(page, server, shop):
    # This browser has no camera; each page says so in its own words and language.
    volunteer_on_scan_page(page, server)
    page.get_by_role("button", name="打开摄像头").click()
    expect(page.locator("#scan-status")).to_have_text(
        "无法使用摄像头。请手动输入二维码下方的数字。"
    )
    expect(page.locator("#code")).to_be_focused()  # to type it instead

    page.goto(f"{server.url}/me/scan?lang=en")
    status = page.locator("#scan-status")
    page.get_by_role("button", name="Start the camera").click()
    expect(status).to_have_text(
        "The camera cannot be used here. Type the digits under the QR code instead."
    )
    photo = page.get_by_label("Or take a photo of the code")
    photo.set_input_files(files=[png_file(no_code())])
    expect(status).to_have_text(
        "No QR code found in that picture. Try again closer, or type the digits."
    )
    photo.set_input_files(files=[png_file(b"not a picture")])
    expect(status).to_have_text("That picture cannot be read.")
    expect(page).to_have_url(f"{server.url}/me/scan?lang=en")  # the form was not sent

    page.context.clear_cookies()
    sign_in(page, server, server.terminal(shop))
    expect(page.locator("#merchant-name")).to_be_visible()
    page.get_by_role("button", name="扫码", exact=True).click()
    message = page.locator("#message")
    expect(message).to_have_attribute("data-code", "no_camera")
    expect(message).to_contain_text("无法使用摄像头")
    expect(page.get_by_role("button", name="扫码", exact=True)).to_be_visible()
    page.locator("#photo").set_input_files(files=[png_file(no_code())])
    expect(message).to_have_attribute("data-code", "no_qr")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#message-text")).to_have_text(
        "No QR code found in that picture; try a sharper one."
    )


def no_code() -> bytes:
    """A PNG of a white wall."""
    picture = io.BytesIO()
    Image.new("L", (200, 200), 255).save(picture, "PNG")
    return picture.getvalue()


def png_file(content: bytes) -> dict[str, object]:
    return {"name": "photo.png", "mimeType": "image/png", "buffer": content}


def y4m_showing(png: bytes, width: int = 640, height: int = 480) -> bytes:
    """A one-frame YUV4MPEG2 video (Chromium's fake camera loops it) of the picture in the
    middle of a white frame."""
    picture = Image.open(io.BytesIO(png)).convert("L")
    frame = Image.new("L", (width, height), 255)
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    grey = bytes([128]) * ((width // 2) * (height // 2))  # no colour (U and V planes)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    return header + b"FRAME\n" + frame.tobytes() + grey + grey
