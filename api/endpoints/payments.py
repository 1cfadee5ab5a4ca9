"""Spending beans at merchants (SPEC §5, §6): redemptions of payment codes and cards at a
merchant's till, refunds of them, and payments by a merchant's counter code."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import Principal
from api.context import ledger_of, store_of
from api.errors import ApiProblem
from api.idempotent import idempotent, ledger_key
from api.security import STAFF, caller, forbid_unless, limited_code_attempts, requires
from api.short_codes import is_short_code, payment_code_for
from ledger.errors import InsufficientBalance, InvalidCode
from ledger.views import RedemptionView

blp = Blueprint(
    "payments",
    __name__,
    url_prefix="/api/v1",
    description="Redemptions at the till, refunds, and payments by counter code",
)

MAX_BEANS = 1_000_000  # far above any rule's limit, so the ledger's own limits answer first
BEANS = validate.Range(min=1, max=MAX_BEANS)


class RedeemRequest(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "a volunteer's payment code (or the 8-digit short code shown "
            "beside it) or the code of a bean card"
        },
    )
    amount = fields.Integer(required=True, strict=True, validate=BEANS)
    pin = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=16),
        metadata={"description": "the card's 4-digit PIN, when the card has one"},
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class RedemptionReceipt(Schema):
    id = fields.String(required=True)
    payer_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    at = fields.DateTime(required=True)


class RedeemReceipt(RedemptionReceipt):
    card_balance = fields.Integer(
        metadata={
            "description": "a card sale only: the beans left on the card after it, for the "
            "receipt (the card is in the cashier's hand); absent for a payment code"
        }
    )


class RedemptionDetail(RedemptionReceipt):
    refunded = fields.Integer(required=True, metadata={"description": "beans refunded so far"})


class RefundRequest(Schema):
    amount = fields.Integer(required=True, strict=True, validate=BEANS)


class RefundReceipt(Schema):
    id = fields.String(required=True)
    redemption_id = fields.String(required=True)
    amount = fields.Integer(required=True)


class PaymentRequest(Schema):
    merchant_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the code of the merchant's counter QR"},
    )
    amount = fields.Integer(required=True, strict=True, validate=BEANS)


@blp.route("/redemptions")
class Redemptions(MethodView):
    @idempotent
    @requires("merchant")
    @blp.arguments(RedeemRequest)
    @blp.response(201, RedeemReceipt)
    def post(self, body):
        """Redeem a payment code or card at the caller's merchant (the POS).

        The customer shows a volunteer payment code (valid 60 s, once), or reads out the
        8-digit short code shown beside it, or shows a beneficiary card (with its PIN if it
        has one); ``amount`` beans move from them to the merchant. A card sale's receipt
        also has ``card_balance``, the beans left on the card.
        Refusals: invalid_code, code_expired, code_used, card_revoked, wrong_pin,
        card_locked, merchant_not_allowed, merchant_suspended, limit_exceeded (with
        ``limit``, ``limit_beans`` and, for a card's daily limit, ``left_today``),
        insufficient_balance (which never says the balance), idempotency_key_reused.
        """
        ledger = ledger_of()
        with limited_code_attempts(caller()), no_balance_to_the_till():
            code = body["code"]
            if is_short_code(code):  # typed by the cashier: the payment code it stands for
                code = payment_code_for(store_of(), ledger.digest, code, ledger.now())
                if code is None:
                    raise InvalidCode("no live payment code has this short code")
            made = ledger.redeem(
                caller().merchant_id,
                code,
                body["amount"],
                pin=body["pin"],
                note=body["note"],
                key=ledger_key(),
            )
        receipt = dataclasses.asdict(made)
        if made.method == "card":
            receipt["card_balance"] = ledger.get_balance(made.payer_id)
        return receipt


@contextmanager
def no_balance_to_the_till() -> Iterator[None]:
    """A customer's balance is theirs: a till refused for want of beans is told so, not
    how many the customer holds."""
    try:
        yield
    except InsufficientBalance:
        raise ApiProblem(
            409, "insufficient_balance", "the customer does not hold enough beans for this"
        ) from None


@blp.route("/redemptions/<redemption_id>")
class RedemptionById(MethodView):
    @requires()
    @blp.response(200, RedemptionDetail)
    def get(self, redemption_id):
        """One redemption: for the merchant that made it, the payer, and staff."""
        redemption = ledger_of().get_redemption(redemption_id)
        forbid_unless(_may_see(caller(), redemption), "not your redemption")
        return redemption


@blp.route("/redemptions/<redemption_id>/refunds")
class Refunds(MethodView):
    @idempotent
    @requires("merchant")
    @blp.arguments(RefundRequest)
    @blp.response(201, RefundReceipt)
    def post(self, body, redemption_id):
        """Give back part or all of one of the caller's redemptions to its payer.

        Within 30 days, never more than is left unrefunded (refund_window_closed,
        refund_exceeds_redemption), and only from beans no settlement has taken
        (insufficient_balance). Another merchant's redemption is not_found.
        """
        return ledger_of().refund(
            redemption_id, caller().merchant_id, body["amount"], key=ledger_key()
        )


@blp.route("/payments")
class Payments(MethodView):
    @idempotent
    @requires("volunteer")
    @blp.arguments(PaymentRequest)
    @blp.response(201, RedemptionReceipt)
    def post(self, body):
        """Pay a merchant from the caller's account by scanning its counter code.

        Refusals: invalid_code, merchant_suspended, limit_exceeded, insufficient_balance,
        idempotency_key_reused.
        """
        return ledger_of().pay_merchant(
            caller().account_id, body["merchant_code"], body["amount"], key=ledger_key()
        )


def _may_see(who: Principal, redemption: RedemptionView) -> bool:
    """Staff, the merchant that redeemed, and the payer may see a redemption."""
    if who.role in STAFF:
        return True
    if who.role == "merchant":
        return _same_id(who.merchant_id, redemption.merchant_id)
    return _same_id(who.account_id, redemption.payer_id)


def _same_id(given: str | None, recorded: str) -> bool:
    """Whether a user's linked id names the recorded one (ids compare as UUIDs)."""
    try:
        return given is not None and UUID(given) == UUID(recorded)
    except ValueError:
        return False
