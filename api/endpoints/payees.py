"""A merchant's payee bank details (issue 16): where the fund sends its settlement
payments. ``GET`` and ``PUT /merchants/{id}/payee``.

The admin and the merchant's own user (not its till) write them; fund officers and the
admin read them in full; the merchant reads its own with the account number cut to the
last four digits. They live beside the event log (api/payees.py), never in it.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.context import ledger_of, store_of
from api.errors import ApiProblem
from api.payees import (
    MAX_DIGITS,
    MAX_TEXT,
    Payee,
    PayeeRefused,
    clean_account_number,
    clean_text,
    payee_of,
    save_payee,
)
from api.security import caller, canonical_id, forbid_unless, requires

blp = Blueprint("payees", __name__, url_prefix="/api/v1", description="Where a merchant is paid")

FULL_READERS = ("fund_officer", "admin")


class PayeeIn(Schema):
    payee_name = fields.String(required=True, validate=validate.Length(max=4 * MAX_TEXT))
    bank = fields.String(required=True, validate=validate.Length(max=4 * MAX_TEXT))
    branch = fields.String(load_default="", validate=validate.Length(max=4 * MAX_TEXT))
    account_number = fields.String(
        required=True,
        validate=validate.Length(max=4 * MAX_DIGITS),
        metadata={"description": "8 to 32 digits; spaces and hyphens between them are dropped"},
    )

    @validates_schema
    def check_fields(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """The same checks as the pages' (api/payees.py), named by field."""
        errors: dict[str, list[str]] = {}
        for name in ("payee_name", "bank", "branch"):
            if name in data:
                try:
                    clean_text(name, data[name], required=name != "branch")
                except PayeeRefused as refused:
                    errors[name] = [str(refused)]
        if "account_number" in data:
            try:
                clean_account_number(data["account_number"])
            except PayeeRefused as refused:
                errors["account_number"] = [str(refused)]
        if errors:
            raise ValidationError(errors)


class PayeeOut(Schema):
    merchant_id = fields.String(required=True)
    payee_name = fields.String(required=True)
    bank = fields.String(required=True)
    branch = fields.String(required=True, metadata={"description": '"" when not given'})
    account_number = fields.String(
        required=True,
        metadata={"description": "digits; for the merchant itself ****1234 (masked: true)"},
    )
    masked = fields.Boolean(required=True)
    updated_at = fields.DateTime(required=True)
    updated_by = fields.String(required=True)


@blp.route("/merchants/<merchant_id>/payee")
class MerchantPayee(MethodView):
    @requires("merchant", *FULL_READERS)
    @blp.response(200, PayeeOut)
    def get(self, merchant_id):
        """A merchant's payee bank details: in full for fund officers and the admin, with
        the account number masked (``****1234``) for the merchant itself. ``404
        not_found`` until they are entered."""
        merchant = _the_merchant(merchant_id)
        found = payee_of(store_of(), merchant.id)
        if found is None:
            raise ApiProblem(404, "not_found", f"merchant {merchant.id} has no payee details yet")
        return _as_seen(found)

    @requires("merchant", "admin")
    @blp.arguments(PayeeIn)
    @blp.response(200, PayeeOut)
    def put(self, body, merchant_id):
        """Enter or replace a merchant's payee bank details (the admin, or the merchant's
        own user; never its till). The answer is what the caller may read of them."""
        merchant = _the_merchant(merchant_id)
        who = caller()
        saved = save_payee(
            store_of(),
            merchant.id,
            payee_name=body["payee_name"],
            bank=body["bank"],
            branch=body["branch"],
            account_number=body["account_number"],
            by=who.username or "",
            at=ledger_of().now(),
        )
        return _as_seen(saved)


def _the_merchant(merchant_id: str) -> Any:
    """The merchant, for a caller allowed to ask: a merchant only about itself, and only
    its signed-in user (a till at the counter neither reads nor changes bank details)."""
    who = caller()
    if who.role == "merchant":
        forbid_unless(
            who.merchant_id is not None
            and canonical_id(who.merchant_id) == canonical_id(merchant_id),
            "a merchant sees only itself",
        )
        forbid_unless(
            who.terminal_id is None, "a till cannot see or change the shop's bank details"
        )
    return ledger_of().get_merchant(merchant_id)  # NotFound: 404


def _as_seen(payee: Payee) -> Payee:
    return payee if caller().role in FULL_READERS else payee.masked_copy()
