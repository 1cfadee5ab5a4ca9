"""QR codes as images and printouts over HTTP (SPEC §5, §10): the merchant's counter code
(``code.svg``, ``code.png``, the A4 ``sign.pdf``), an activity's check-in code, the
volunteer's payment code with its inline SVG, and beneficiary cards to print
(``card.pdf``, and ``cards.pdf`` with eight cards to a page).

Every image is read back with zxing-cpp and must give the code the JSON gave. The QR codes
in the PDFs are vector paths: :func:`qr_codes_in_pdf` redraws each filled path of many
rectangles with Pillow and reads it back the same way.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ContentStream

from ledger.views import Actor
from merchant_pos.qr import decode_image
from tests.api.helpers import problem_code
from tests.scenario import START
from tests.unit.test_qr import svg_as_png

API = "/api/v1"
UNKNOWN = "6b1f6a52-0000-4000-8000-000000000000"
SVG_TITLE = "{http://www.w3.org/2000/svg}title"
QUIET, PIXELS = 4, 8  # modules of white around a redrawn code; pixels per module


# --- reading the answers back ----------------------------------------------------------------


def code_of_svg(answer) -> str:
    """The code an SVG answer shows: its title, which must be what the QR reads."""
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "image/svg+xml"
    svg = answer.get_data(as_text=True)
    title = ET.fromstring(svg).find(SVG_TITLE).text
    assert decode_image(svg_as_png(svg)) == [title]
    return title


def code_of_png(answer) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "image/png"
    (code,) = decode_image(answer.data)
    return code


def rectangles_as_png(rectangles: list[list[float]]) -> bytes:
    """Black rectangles (x, y, width, height in PDF points, y up) on white, one module
    being the rectangles' height, with a quiet zone around."""
    module = min(height for _, _, _, height in rectangles)
    left = min(x for x, _, _, _ in rectangles)
    top = max(y + height for _, y, _, height in rectangles)
    right = max(x + width for x, _, width, _ in rectangles)
    bottom = min(y for _, y, _, _ in rectangles)

    def modules(length: float) -> int:
        return round(length / module)

    size = (modules(right - left) + 2 * QUIET, modules(top - bottom) + 2 * QUIET)
    picture = Image.new("L", (size[0] * PIXELS, size[1] * PIXELS), 255)
    pen = ImageDraw.Draw(picture)
    for x, y, width, height in rectangles:
        column, row = modules(x - left) + QUIET, modules(top - y - height) + QUIET
        pen.rectangle(
            [
                column * PIXELS,
                row * PIXELS,
                (column + modules(width)) * PIXELS - 1,
                (row + modules(height)) * PIXELS - 1,
            ],
            fill=0,
        )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_codes_in_pdf(body: bytes) -> list[list[str]]:
    """Per page, the codes of the QR symbols drawn on it, in drawing order."""
    reader = PdfReader(io.BytesIO(body))
    pages = []
    for page in reader.pages:
        found: list[str] = []
        path: list[list[float]] = []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"re":
                path.append([float(value) for value in operands])
            elif operator in (b"f", b"f*", b"F") and len(path) > 20:  # a QR, not a box
                found += decode_image(rectangles_as_png(path))
                path = []
            elif operator in (b"f", b"f*", b"F", b"n", b"S", b"s", b"B", b"B*", b"b", b"b*"):
                path = []
        pages.append(found)
    return pages


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def grouped(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def check_pdf(answer, filename_start: str) -> bytes:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{filename_start}')
    return answer.data


def refused(answer, status: int, code: str) -> bool:
    return answer.status_code == status and problem_code(answer) == code


# --- the merchant's counter code ---------------------------------------------------------------


@pytest.fixture
def shop(community):
    return community.merchant("金沙便民超市")


def test_the_merchant_and_staff_get_the_counter_code_as_svg_and_png(sign_in, community, shop):
    expected = community.ledger.get_merchant(shop).merchant_code
    readers = [sign_in("merchant", merchant_id=shop)] + [
        sign_in(role) for role in ("coordinator", "fund_officer", "auditor", "admin")
    ]
    for reader in readers:
        svg = reader.get(f"{API}/merchants/{shop}/code.svg")
        assert code_of_svg(svg) == expected
        assert svg.headers["Cache-Control"] == "private, no-store"
        assert code_of_png(reader.get(f"{API}/merchants/{shop}/code.png")) == expected


def test_the_counter_sign_shows_the_name_the_digits_and_the_code(sign_in, community, shop):
    merchant = community.ledger.get_merchant(shop)
    answer = sign_in("merchant", merchant_id=shop).get(f"{API}/merchants/{shop}/sign.pdf")
    body = check_pdf(answer, f"goldbean-sign-{merchant.number}")
    text = pdf_text(body)
    assert "金沙便民超市" in text and grouped(merchant.merchant_code) in text
    assert "用金豆付款" in text and "Pay with Goldbean" in text
    assert qr_codes_in_pdf(body) == [[merchant.merchant_code]]


def test_nobody_else_gets_a_merchants_code(sign_in, anonymous, community, shop):
    other_shop = sign_in("merchant", merchant_id=community.merchant("Other"))
    volunteer = sign_in("volunteer", account_id=community.volunteer("李伟"))
    beneficiary = sign_in("beneficiary", account_id=community.beneficiary("王芳"))
    staff = sign_in("coordinator")
    for ending in ("code.svg", "code.png", "sign.pdf"):
        path = f"{API}/merchants/{shop}/{ending}"
        for intruder in (other_shop, volunteer, beneficiary):
            assert refused(intruder.get(path), 403, "forbidden"), (ending, intruder)
        assert refused(anonymous.get(path), 401, "unauthenticated")
        for unknown in (UNKNOWN, "not-a-uuid"):
            answer = staff.get(f"{API}/merchants/{unknown}/{ending}")
            assert refused(answer, 404, "not_found")


# --- an activity's check-in code ----------------------------------------------------------------


def test_the_coordinator_shows_the_check_in_code_the_activity_was_created_with(sign_in):
    coordinator = sign_in("coordinator")
    made = coordinator.post(
        f"{API}/activities",
        json={
            "title": "Reading to the elderly",
            "starts_at": "2026-03-10T09:00:00+08:00",
            "ends_at": "2026-03-10T12:00:00+08:00",
            "beans": 10,
        },
    ).get_json()
    path = f"{API}/activities/{made['id']}/code"
    assert code_of_svg(coordinator.get(f"{path}.svg")) == made["checkin_code"]
    png = coordinator.get(f"{path}.png")
    assert code_of_png(png) == made["checkin_code"]
    assert png.headers["Cache-Control"] == "private, no-store"


def test_only_a_coordinator_gets_a_check_in_code(sign_in, anonymous, community):
    activity = community.ledger.create_activity(
        "Clean-up", START - timedelta(hours=1), START + timedelta(hours=2), 10, Actor("coord-1")
    )
    volunteer = sign_in("volunteer", account_id=community.volunteer("李伟"))
    shop = sign_in("merchant", merchant_id=community.merchant("Shop"))
    others = (volunteer, shop, sign_in("auditor"), sign_in("admin"))
    coordinator = sign_in("coordinator")
    for ending in ("code.svg", "code.png"):
        path = f"{API}/activities/{activity.id}/{ending}"
        for other in others:
            assert refused(other.get(path), 403, "forbidden")
        assert refused(anonymous.get(path), 401, "unauthenticated")
        for unknown in (UNKNOWN, "not-a-uuid"):
            answer = coordinator.get(f"{API}/activities/{unknown}/{ending}")
            assert refused(answer, 404, "not_found")


# --- the volunteer's payment code ---------------------------------------------------------------


def test_a_payment_code_comes_with_its_qr_as_inline_svg(sign_in, community):
    li = community.volunteer("李伟")
    volunteer = sign_in("volunteer", account_id=li)
    path, key = f"{API}/accounts/{li}/payment-code", {"Idempotency-Key": "show-code-1"}
    body = volunteer.post(path, headers=key).get_json()
    svg = body["qr_svg"]
    assert svg.startswith("<svg") and "<?xml" not in svg
    assert ET.fromstring(svg).find(SVG_TITLE).text == body["code"]
    assert decode_image(svg_as_png(svg)) == [body["code"]]
    assert volunteer.post(path, headers=key).get_json() == body  # replayed whole


# --- beneficiary cards ---------------------------------------------------------------------------


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


def test_a_coordinator_prints_the_card_just_issued_and_again_after_a_reissue(
    coordinator, community
):
    wang = community.beneficiary("王芳")
    issued = coordinator.post(f"{API}/accounts/{wang}/card", json={"pin": "1234"})
    first = issued.get_json()["card_code"]
    number = community.ledger.get_account(wang).number
    body = check_pdf(coordinator.get(f"{API}/accounts/{wang}/card.pdf"), f"goldbean-card-{number}")
    text = pdf_text(body)
    assert grouped(first) in text and "出示此卡付款" in text
    assert "王芳" not in text  # a card carries a number, not a name (the /how page says so)
    assert qr_codes_in_pdf(body) == [[first], []]  # its front, then its back

    again = coordinator.post(f"{API}/accounts/{wang}/card", json={}).get_json()["card_code"]
    reprinted = coordinator.get(f"{API}/accounts/{wang}/card.pdf").data
    assert qr_codes_in_pdf(reprinted) == [[again], []] and again != first


def test_a_sheet_holds_eight_cards_a_page_in_the_order_asked(coordinator, community):
    names = ["王芳", "李秀英", "张桂兰", "赵敏", "钱玉兰", "孙淑珍", "周桂英", "吴秀珍", "郑凤英"]
    ids = [community.beneficiary(name) for name in names]
    codes = [community.card(account_id) for account_id in ids]
    query = "&".join(f"account_id={account_id}" for account_id in [*ids, ids[0]])
    body = check_pdf(coordinator.get(f"{API}/cards.pdf?{query}"), "goldbean-cards")
    # fronts and backs: the repeated id printed once
    assert qr_codes_in_pdf(body) == [codes[:8], [], codes[8:], []]
    text = pdf_text(body)
    for name, code in zip(names, codes, strict=True):
        assert name not in text and grouped(code) in text


CARD_PATHS = ("accounts/{id}/card.pdf", "cards.pdf?account_id={id}")


def test_only_a_coordinator_prints_cards(sign_in, anonymous, community):
    wang = community.beneficiary("王芳")
    community.card(wang)
    callers = [sign_in("beneficiary", account_id=wang), sign_in("volunteer", account_id=wang)]
    callers += [sign_in(role) for role in ("fund_officer", "auditor", "admin")]
    for path in CARD_PATHS:
        url = f"{API}/{path.format(id=wang)}"
        for caller in callers:
            assert refused(caller.get(url), 403, "forbidden")
        assert refused(anonymous.get(url), 401, "unauthenticated")


def test_a_card_is_printed_only_for_a_beneficiary_who_has_one(coordinator, community):
    without_card = community.beneficiary("王芳")
    volunteer = community.volunteer("李伟")
    for path in CARD_PATHS:
        for account_id in (without_card, volunteer, UNKNOWN, "not-a-uuid"):
            answer = coordinator.get(f"{API}/{path.format(id=account_id)}")
            assert refused(answer, 404, "not_found"), (path, account_id)


def test_a_sheet_needs_one_to_two_hundred_account_ids(coordinator, community):
    wang = community.beneficiary("王芳")
    community.card(wang)
    assert refused(coordinator.get(f"{API}/cards.pdf"), 422, "validation_error")
    too_many = "&".join([f"account_id={wang}"] * 201)
    assert refused(coordinator.get(f"{API}/cards.pdf?{too_many}"), 422, "validation_error")
    mixed = f"account_id={wang}&account_id={community.beneficiary('李秀英')}"
    assert refused(coordinator.get(f"{API}/cards.pdf?{mixed}"), 404, "not_found")
