"""Printed beneficiary cards (issue 17, item 8): no holder's name on a card (the /how page
promises it), every word at 12 pt or more, the community's telephone and where the card
works on its back; a separate sheet, for coordinators only, says whose card is which."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader

from tests.api.test_codes_images import check_pdf, grouped, pdf_text, qr_codes_in_pdf

API = "/api/v1"
HOTLINE = "0871-6512 3456"


@pytest.fixture
def app(app):
    """The community's hotline is a rule (issue 18) whose first value is the setting."""
    settings = app.extensions["goldbean.settings"]
    app.extensions["goldbean.settings"] = settings.replace(community_hotline=HOTLINE)
    ledger = app.extensions["goldbean.ledger"]
    ledger.base_rules = dataclasses.replace(ledger.base_rules, community_hotline=HOTLINE)
    return app


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


def font_sizes(body: bytes) -> dict[str, float]:
    """Each piece of text of the PDF with the size it is set in (points)."""
    sizes: dict[str, float] = {}
    for page in PdfReader(io.BytesIO(body)).pages:

        def seen(text, cm, tm, _font, size):
            if text.strip():
                sizes[text.strip()] = round(size * tm[3] * cm[3], 2)

        page.extract_text(visitor_text=seen)
    return sizes


def test_a_card_has_a_number_no_name_and_large_words_with_the_hotline_and_shops(
    coordinator, community
):
    community.merchant("金沙便民超市", "grocery")
    community.merchant("红红火锅", "restaurant")  # cards do not work there
    wang = community.beneficiary("王芳")
    code = community.card(wang)
    body = check_pdf(coordinator.get(f"{API}/accounts/{wang}/card.pdf"), "goldbean-card-")
    text = pdf_text(body)
    assert "王芳" not in text
    assert grouped(code) in text
    assert f"请拨打社区电话：{HOTLINE}" in text.replace("\n", "")
    assert "可用商店：超市、菜市场、社区食堂" in text
    assert "金沙便民超市" in text and "红红火锅" not in text
    sizes = font_sizes(body)
    assert sizes and min(sizes.values()) >= 12, sizes
    assert qr_codes_in_pdf(body) == [[code], []]  # the front, then the back


def test_the_holders_sheet_maps_card_numbers_to_names_for_coordinators_only(
    coordinator, sign_in, community, app
):
    people = ["王芳", "李秀英", "张桂兰"]
    ids = [community.beneficiary(name) for name in people]
    codes = [community.card(account_id) for account_id in ids]
    query = "&".join(f"account_id={account_id}" for account_id in ids)

    app.config["WTF_CSRF_ENABLED"] = False  # signing in to the pages, not the form check
    page_user = app.test_client()
    auth = app.extensions["goldbean.auth"]
    auth.create_user("coord-sheet", "correct horse battery", "coordinator")
    page_user.post("/login", data={"username": "coord-sheet", "password": "correct horse battery"})
    sheet = page_user.get(f"/staff/members/card-holders.pdf?{query}")
    body = check_pdf(sheet, "goldbean-card-holders")
    text = pdf_text(body)
    for place, (name, code) in enumerate(zip(people, codes, strict=True), start=1):
        assert name in text
        assert f"第1页 第{place}张" in text
        assert grouped(code) not in text  # only the last digits: the sheet cannot pay
        assert f"{code[-5:-1]} {code[-1]}" in text
    assert min(font_sizes(body).values()) >= 12

    cards = page_user.get(f"/staff/members/cards.pdf?{query}")
    assert all(name not in pdf_text(cards.data) for name in people)

    auth.create_user("officer-sheet", "correct horse battery", "fund_officer")
    other = app.test_client()
    other.post("/login", data={"username": "officer-sheet", "password": "correct horse battery"})
    assert other.get(f"/staff/members/card-holders.pdf?{query}").status_code == 403
