"""A merchant's payee bank details: where the fund sends its settlement payments.

They are kept in the API's table ``gb_merchant_payees`` beside the event log, keyed by
the merchant's id, and never in the log: the log is published, and an account number
is not for the public. The admin or the shop's own user enters them; fund officers and
the admin read them in full, and everyone else (the shop itself once saved, other
staff) sees the account number masked to its last four digits.

A save replaces the whole record and remembers who saved it and when, so the fund
officer can see that an account changed before paying to it. Bottom floor: the
endpoint, the admin's and the shop's pages and the payment list all use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from api.names import BadName, clean_name
from api.store import Store, payees

MAX_TEXT = 120
MIN_DIGITS, MAX_DIGITS = 8, 32
_SEPARATORS = re.compile(r"[\s-]+")
_DIGITS = re.compile(rf"^[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}$")
MASK = "****"


class PayeeRefused(ValueError):
    """Raised when a payee field is missing, too long, holds an invisible character, or
    (the account number) is not 8 to 32 digits. ``field`` names the field and ``reason``
    is one of ``missing``, ``too_long``, ``invisible``, ``not_digits``."""

    def __init__(self, field: str, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Payee:
    merchant_id: str
    payee_name: str
    bank: str
    branch: str
    account_number: str  # digits, or masked: ``****1234``
    updated_at: datetime
    updated_by: str
    masked: bool = False

    @property
    def last4(self) -> str:
        return self.account_number[-4:]

    def masked_copy(self) -> Payee:
        """The same details with the account number cut to its last four digits."""
        if self.masked:
            return self
        return replace(self, account_number=mask(self.account_number), masked=True)


def mask(account_number: str) -> str:
    """``6222021234567890123`` -> ``****0123``."""
    return MASK + account_number[-4:]


def clean_account_number(raw: str) -> str:
    """An account number as typed (spaces, hyphens, full-width digits allowed) as its
    digits. Raises PayeeRefused unless that is 8 to 32 digits."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if not digits:
        raise PayeeRefused("account_number", "missing", "enter the account number")
    if not _DIGITS.match(digits):
        raise PayeeRefused(
            "account_number",
            "not_digits",
            f"an account number has {MIN_DIGITS} to {MAX_DIGITS} digits (spaces allowed)",
        )
    return digits


def clean_text(field: str, raw: str, *, required: bool = True) -> str:
    """A payee name, bank or branch as a display name is cleaned (NFC, plain single
    spaces, trimmed). Raises PayeeRefused when required and empty, over 120 characters,
    or holding a control or invisible formatting character."""
    try:
        text = clean_name(raw or "")
    except BadName as error:
        raise PayeeRefused(field, "invisible", str(error)) from None
    if required and not text:
        raise PayeeRefused(field, "missing", f"enter the {field.replace('_', ' ')}")
    if len(text) > MAX_TEXT:
        raise PayeeRefused(field, "too_long", f"at most {MAX_TEXT} characters")
    return text


def payee_of(store: Store, merchant_id: str) -> Payee | None:
    """The merchant's payee details in full, or None when none were entered."""
    return payees_of(store, [merchant_id]).get(merchant_id)


def payees_of(store: Store, merchant_ids: Iterable[str]) -> dict[str, Payee]:
    """The payee details in full of those of ``merchant_ids`` that have them."""
    wanted = sorted(set(merchant_ids))
    if not wanted:
        return {}
    with store.read() as conn:
        rows = conn.execute(select(payees).where(payees.c.merchant_id.in_(wanted))).mappings()
        return {row["merchant_id"]: Payee(**row) for row in rows}


def save_payee(
    store: Store,
    merchant_id: str,
    *,
    payee_name: str,
    bank: str,
    branch: str,
    account_number: str,
    by: str,
    at: datetime,
) -> Payee:
    """Check and store the merchant's payee details, replacing any before. Raises
    PayeeRefused for a field that does not pass (nothing is stored then)."""
    values: dict[str, Any] = {
        "payee_name": clean_text("payee_name", payee_name),
        "bank": clean_text("bank", bank),
        "branch": clean_text("branch", branch, required=False),
        "account_number": clean_account_number(account_number),
        "updated_at": at,
        "updated_by": by,
    }
    statement = store.insert(payees).values(merchant_id=merchant_id, **values)
    statement = statement.on_conflict_do_update(index_elements=["merchant_id"], set_=values)
    with store.write() as conn:
        conn.execute(statement)
    return Payee(merchant_id=merchant_id, **values)
