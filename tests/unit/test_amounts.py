"""Amounts as people type them (issue 17, item 12): thousands separators and full-width
digits are read, anything ambiguous is refused (api/amounts.py)."""

from __future__ import annotations

import pytest

from api.amounts import parse_whole, parse_yuan


@pytest.mark.parametrize(
    "typed",
    [
        "5000",
        "5,000",
        "5，000",
        "5 000",
        "5\u00a0000",
        "5\u202f000",
        "5\u3000000",
        "５０００",
        "５，０００",
        " 5,000 ",
        "5'000",
    ],
)
def test_five_thousand_however_it_is_typed(typed):
    assert parse_whole(typed) == 5000
    assert parse_yuan(typed) == 500_000


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("12", 1200),
        ("12.3", 1230),
        ("12.34", 1234),
        ("1,234,567.89", 123_456_789),
        ("¥5,000", 500_000),
        ("￥5,000.50", 500_050),
        ("5000元", 500_000),
        ("０.５", 50),
    ],
)
def test_yuan_as_exact_fen(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " ",
        "abc",
        "5,00",
        "50,00",
        "5,0000",
        ",500",
        "5,000,",
        "5,,000",
        "1.2.3",
        "12.345",
        "-5",
        "+5",
        "5e3",
        "1_000",
        "5.",
        "٥٠٠٠",
        "9" * 16,
    ],
)
def test_anything_else_is_refused(typed):
    assert parse_yuan(typed) is None


def test_whole_numbers_have_no_decimals():
    assert parse_whole("12.5") is None
    assert parse_whole("1,234") == 1234
    assert parse_whole("０") == 0
