"""Amounts as people type them (issue 17, item 12): "5,000", "5，000", "5 000", full-width
digits "５０００", a yuan sign before or 元 after. Every page form that takes a number of
beans or an amount of yuan reads it here, so that they all accept the same things.

A separator groups thousands only: "5,000" and "1,234,567" are read, "50,00" and "5,0000"
are not (they may mean something else, and a wrong amount is worse than a question).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

#: what may group the thousands once full-width forms are made plain (NFKC makes "，" a
#: comma and the no-break, narrow and ideographic spaces a space): a comma, a space and
#: an apostrophe
SEPARATORS = ", '\u2019"
WHOLE = re.compile(r"^[0-9]+$")
GROUPED = re.compile(r"^[0-9]{1,3}(?:[SEP][0-9]{3})+$".replace("SEP", re.escape(SEPARATORS)))
MAX_DIGITS = 15


def plain_number(text: str) -> str | None:
    """The digits (and a decimal point) of ``text`` without the thousands separators, full
    width made plain, the yuan sign and 元 dropped; None when it is not grouped in
    thousands as written."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = text.removeprefix("¥").removesuffix("元").strip()
    whole, point, fraction = text.partition(".")
    if any(ch in SEPARATORS for ch in whole):
        if not GROUPED.match(whole):
            return None
        whole = "".join(ch for ch in whole if ch not in SEPARATORS)
    if not WHOLE.match(whole) or len(whole) > MAX_DIGITS:
        return None
    if point and not WHOLE.match(fraction):
        return None
    return whole + (point + fraction if point else "")


def parse_whole(text: str) -> int | None:
    """A whole number ("5,000" -> 5000), or None for anything else (decimals included)."""
    plain = plain_number(text)
    if plain is None or "." in plain:
        return None
    return int(plain)


def parse_yuan(text: str) -> int | None:
    """An amount of yuan as exact fen ("5,000.5" -> 500050), or None: at most two decimal
    places (a fen cannot be split)."""
    plain = plain_number(text)
    if plain is None:
        return None
    amount = Decimal(plain)
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2:
        return None
    return int(amount * 100)
