"""The payee bank details form that the admin's merchant pages and the shop's own page
share: reading it, saving it through :mod:`api.payees` (the API's own checks), the
refusals in the reader's language, and what each role may read of the details.

Fund officers and the admin read the account number in full; everyone else (the shop
itself once saved, coordinators, auditors) reads its last four digits. The account
number field starts empty: left empty, the saved number is kept, so nobody has to be
shown a number to change the bank's name.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from api.context import ledger_of, store_of
from api.payees import (
    MAX_DIGITS,
    MAX_TEXT,
    MIN_DIGITS,
    Payee,
    PayeeRefused,
    clean_account_number,
    clean_text,
    payee_of,
    save_payee,
)
from api.web.support import who

FULL_READERS = ("fund_officer", "admin")
FIELDS = ("payee_name", "bank", "branch", "account_number")


def payee_for_reader(merchant_id: str) -> Payee | None:
    """The merchant's payee details as the person on this page may read them."""
    found = payee_of(store_of(), merchant_id)
    if found is None or who().role in FULL_READERS:
        return found
    return found.masked_copy()


def empty_form(current: Payee | None) -> dict[str, str]:
    """The form's first values: the saved details, without the account number."""
    if current is None:
        return dict.fromkeys(FIELDS, "")
    return {
        "payee_name": current.payee_name,
        "bank": current.bank,
        "branch": current.branch,
        "account_number": "",
    }


def save_from_form(merchant_id: str) -> tuple[Payee | None, dict[str, str], dict[str, str]]:
    """Save the posted form's details for ``merchant_id``: (the saved details, the form,
    no errors), or (None, the form as sent, the errors by field, translated). An empty
    account number keeps the saved one."""
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    current = payee_of(store_of(), merchant_id)
    account = form["account_number"] or (current.account_number if current else "")
    errors: dict[str, str] = {}
    for name in FIELDS:
        try:
            if name == "account_number":
                clean_account_number(account)
            else:
                clean_text(name, form[name], required=name != "branch")
        except PayeeRefused as refused:
            errors[name] = refusal_text(refused)
    if errors:
        return None, form, errors
    try:
        saved = save_payee(
            store_of(),
            merchant_id,
            payee_name=form["payee_name"],
            bank=form["bank"],
            branch=form["branch"],
            account_number=account,
            by=who().username or "",
            at=ledger_of().now(),
        )
    except PayeeRefused as refused:
        return None, form, {refused.field: refusal_text(refused)}
    return saved, empty_form(saved), {}


def refusal_text(refused: PayeeRefused) -> str:
    """Why a field was refused, in the reader's language."""
    if refused.reason == "invisible":
        return _(
            "This may not contain control characters or invisible characters "
            "(zero-width characters or text-direction marks)."
        )
    if refused.field == "account_number":
        if refused.reason == "missing":
            return _("Enter the bank account number.")
        return _(
            "A bank account number has %(low)d to %(high)d digits (spaces are fine).",
            low=MIN_DIGITS,
            high=MAX_DIGITS,
        )
    if refused.reason == "too_long":
        return _("At most %(num)d characters.", num=MAX_TEXT)
    if refused.field == "payee_name":
        return _("Enter the name the bank account is in.")
    return _("Enter the bank's name.")


def masked_text(payee: Payee) -> str:
    """The account number as the page shows it: the digits in groups of four, or for a
    masked one the words "ending in 1234"."""
    if payee.masked:
        return _("ending in %(digits)s", digits=payee.last4)
    return grouped(payee.account_number)


def grouped(digits: str) -> str:
    """``6222021234567890123`` -> ``6222 0212 3456 7890 123``, as bank cards print it."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def context(merchant_id: str, **extra: Any) -> dict[str, Any]:
    """What the form's template needs about the saved details."""
    current = payee_for_reader(merchant_id)
    return {"payee": current, "payee_account": masked_text(current) if current else "", **extra}
