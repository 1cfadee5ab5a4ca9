"""Giving and granting beans (SPEC §3, §6): volunteers' gifts, allocations from the gift
pool, corrections of erroneous awards, and the monthly allotments of beneficiaries."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.idempotent import idempotent, ledger_key
from api.security import actor, caller, requires

blp = Blueprint(
    "giving",
    __name__,
    url_prefix="/api/v1",
    description="Gifts, the gift pool, corrections and monthly allotments",
)

MAX_BEANS = 1_000_000
BEANS = validate.Range(min=1, max=MAX_BEANS)
ACCOUNT_ID = validate.Length(min=1, max=64)
PERIOD = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a period looks like YYYY-MM")
MAX_ALLOTMENT_TARGETS = 10_000


class GiftRequest(Schema):
    to = fields.String(
        required=True,
        validate=ACCOUNT_ID,
        metadata={"description": 'a beneficiary\'s account id, or "pool" for the gift pool'},
    )
    amount = fields.Integer(required=True, strict=True, validate=BEANS)
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class GiftReceipt(Schema):
    id = fields.String(required=True)
    from_id = fields.String(required=True)
    to = fields.String(required=True)
    amount = fields.Integer(required=True)


class AllocationRequest(Schema):
    to = fields.String(
        required=True, validate=ACCOUNT_ID, metadata={"description": "a beneficiary's account id"}
    )
    amount = fields.Integer(required=True, strict=True, validate=BEANS)


class AllocationReceipt(Schema):
    id = fields.String(required=True)
    to = fields.String(required=True)
    amount = fields.Integer(required=True)


class CorrectionRequest(Schema):
    account_id = fields.String(required=True, validate=ACCOUNT_ID)
    amount = fields.Integer(required=True, strict=True, validate=BEANS)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    corrects = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "the credit corrected: the id of the incident or activity that "
            "awarded the account, or of the allotment, gift or pool allocation it received "
            "(the `ref` of the account's entry)"
        },
    )


class CorrectionReceipt(Schema):
    id = fields.String(required=True)
    account_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    corrects = fields.String(required=True, metadata={"description": "the credit corrected"})


class AllotmentRequest(Schema):
    period = fields.String(required=True, validate=PERIOD, metadata={"example": "2026-03"})
    amount = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=BEANS,
        metadata={
            "description": "beans per beneficiary (default and maximum: the programme's 100)"
        },
    )
    account_ids = fields.List(
        fields.String(validate=ACCOUNT_ID),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_ALLOTMENT_TARGETS),
        metadata={"description": "only these beneficiaries (default: every beneficiary)"},
    )


class AllotmentRunOut(Schema):
    period = fields.String(required=True)
    granted = fields.Integer(
        required=True, metadata={"description": "beneficiaries granted by this run"}
    )
    skipped = fields.Integer(
        required=True, metadata={"description": "beneficiaries who already had this period's"}
    )
    total = fields.Integer(required=True, metadata={"description": "beans granted by this run"})


@blp.route("/gifts")
class Gifts(MethodView):
    @idempotent
    @requires("volunteer")
    @blp.arguments(GiftRequest)
    @blp.response(201, GiftReceipt)
    def post(self, body):
        """Give beans from the caller's account to a beneficiary or to the gift pool.

        Refusals: insufficient_balance, not_found (no such beneficiary),
        idempotency_key_reused.
        """
        return ledger_of().give(
            caller().account_id,
            body["to"],
            body["amount"],
            message=body["message"],
            key=ledger_key(),
        )


@blp.route("/pool/allocations")
class PoolAllocations(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(AllocationRequest)
    @blp.response(201, AllocationReceipt)
    def post(self, body):
        """Move beans from the gift pool to a beneficiary.

        Refusals: insufficient_balance (the pool holds less), not_found,
        idempotency_key_reused.
        """
        return ledger_of().allocate_pool(body["to"], body["amount"], actor(), key=ledger_key())


@blp.route("/corrections")
class Corrections(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(CorrectionRequest)
    @blp.response(201, CorrectionReceipt)
    def post(self, body):
        """Take back beans credited in error; they return to issuance.

        ``corrects`` names the credit (an award, allotment, gift received or pool
        allocation of that account). Refusals: unknown_credit (it names no credit of
        that account), correction_exceeds_credit (more than is left of that credit after
        earlier corrections), insufficient_balance (more than the account holds),
        not_found (not a volunteer's or a beneficiary's account).
        """
        return ledger_of().correct(
            body["account_id"],
            body["amount"],
            body["reason"],
            actor(),
            corrects=body["corrects"],
            key=ledger_key(),
        )


@blp.route("/allotments")
class Allotments(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(AllotmentRequest)
    @blp.response(201, AllotmentRunOut)
    def post(self, body):
        """Grant the monthly allotment of ``period`` to every beneficiary (or those given).

        Each beneficiary gets at most one allotment per period, so running it again
        grants only what is missing: ``granted`` and ``skipped`` count beneficiaries,
        ``total`` is the beans this run granted.

        Refusals (nothing is granted): period_not_open (not the current month, or a
        beneficiary given in ``account_ids`` was opened after it), limit_exceeded (an
        ``amount`` over the programme's maximum, 100 by default), not_found (an id that
        is no beneficiary).
        """
        return ledger_of().grant_allotments(
            body["period"], actor(), amount=body["amount"], account_ids=body["account_ids"]
        )
