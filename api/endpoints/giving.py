"""Giving and granting beans (SPEC §3, §6): volunteers' gifts, allocations from the gift
pool, corrections of erroneous awards, and the monthly allotments of beneficiaries."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.errors import ApiProblem
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


class ApprovalRequestOut(Schema):
    """A correction or allotment batch above the programme's threshold, prepared by one
    coordinator and waiting for another's approval."""

    id = fields.String(required=True, metadata={"description": "the request's id"})
    kind = fields.String(required=True, validate=validate.OneOf(("correction", "allotments")))
    status = fields.String(
        required=True, validate=validate.OneOf(("pending", "approved", "withdrawn"))
    )
    beans = fields.Integer(required=True, metadata={"description": "what it moves in all"})
    prepared_by = fields.String(required=True)
    prepared_at = fields.DateTime(required=True)
    decided_by = fields.String(
        allow_none=True, metadata={"description": "who approved or withdrew it"}
    )
    amount = fields.Integer(
        allow_none=True,
        metadata={"description": "a correction's beans; a batch's beans per beneficiary"},
    )
    account_id = fields.String(allow_none=True, metadata={"description": "a correction's"})
    reason = fields.String(allow_none=True, metadata={"description": "a correction's"})
    corrects = fields.String(allow_none=True, metadata={"description": "a correction's"})
    period = fields.String(allow_none=True, metadata={"description": "a batch's"})
    account_ids = fields.List(
        fields.String(), metadata={"description": "a batch's: the beneficiaries it grants"}
    )


class ApprovalRequestList(Schema):
    items = fields.List(fields.Nested(ApprovalRequestOut), required=True)


class ApprovalRequestQuery(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(("correction", "allotments")))


class WithdrawRequest(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


def pending(request_view):
    """The 202 answer of a command prepared for a second coordinator's approval."""
    return jsonify(ApprovalRequestOut().dump(request_view)), 202


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
    @blp.alt_response(202, schema=ApprovalRequestOut, success=True)
    def post(self, body):
        """Take back beans credited in error; they return to issuance.

        ``corrects`` names the credit (an award, allotment, gift received or pool
        allocation of that account). Refusals: unknown_credit (it names no credit of
        that account), correction_exceeds_credit (more than is left of that credit after
        earlier corrections), insufficient_balance (more than the account holds),
        not_found (not a volunteer's or a beneficiary's account).

        Above the programme's threshold (``GOLDBEAN_CORRECTION_APPROVAL_ABOVE``, 100
        beans) nothing is taken yet: the answer is ``202`` with a pending request that
        another coordinator approves (``POST /corrections/{id}/approve``).
        """
        ledger = ledger_of()
        args = (body["account_id"], body["amount"], body["reason"], actor())
        if body["amount"] > ledger.rules.correction_approval_above:
            return pending(
                ledger.prepare_correction(*args, corrects=body["corrects"], key=ledger_key())
            )
        return ledger.correct(*args, corrects=body["corrects"], key=ledger_key())


@blp.route("/corrections/<request_id>/approve")
class CorrectionApproval(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.response(200, CorrectionReceipt)
    def post(self, request_id):
        """Approve a correction another coordinator prepared, and make it.

        four_eyes_required (403) for the coordinator who prepared it; invalid_state (409)
        once it is approved or withdrawn; not_found (no such correction request); and the
        refusals of ``POST /corrections`` when the credit or balance changed meanwhile.
        """
        return ledger_of().approve_correction(request_id, actor())


@blp.route("/corrections/<request_id>/withdraw")
class CorrectionWithdrawal(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(WithdrawRequest)
    @blp.response(200, ApprovalRequestOut)
    def post(self, body, request_id):
        """Withdraw a pending correction request (nothing was taken).

        invalid_state (409) once it is approved or withdrawn.
        """
        return _withdraw(request_id, "correction", body)


@blp.route("/allotments")
class Allotments(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(AllotmentRequest)
    @blp.response(201, AllotmentRunOut)
    @blp.alt_response(202, schema=ApprovalRequestOut, success=True)
    def post(self, body):
        """Grant the monthly allotment of ``period`` to every beneficiary (or those given).

        Each beneficiary gets at most one allotment per period, so running it again
        grants only what is missing: ``granted`` and ``skipped`` count beneficiaries,
        ``total`` is the beans this run granted.

        Refusals (nothing is granted): period_not_open (not the current month, or a
        beneficiary given in ``account_ids`` was opened after it), limit_exceeded (an
        ``amount`` over the programme's maximum, 100 by default), not_found (an id that
        is no beneficiary), self_verification (your own account is among them).

        A batch that would grant more than the programme's threshold in all
        (``GOLDBEAN_ALLOTMENT_BATCH_APPROVAL_ABOVE``, 10,000 beans) grants nothing yet: the
        answer is ``202`` with a pending request naming the beneficiaries it would grant,
        which another coordinator approves (``POST /allotments/{id}/approve``).
        """
        ledger, by = ledger_of(), actor()
        batch = {"amount": body["amount"], "account_ids": body["account_ids"]}
        if ledger.plan_allotments(body["period"], by, **batch).needs_approval:
            return pending(ledger.prepare_allotments(body["period"], by, **batch, key=ledger_key()))
        return ledger.grant_allotments(body["period"], by, **batch)


@blp.route("/allotments/<request_id>/approve")
class AllotmentApproval(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.response(200, AllotmentRunOut)
    def post(self, request_id):
        """Approve an allotment batch another coordinator prepared, and grant it to the
        beneficiaries it names (each at most once per period, as ``POST /allotments``).

        four_eyes_required (403) for the coordinator who prepared it; invalid_state (409)
        once it is approved or withdrawn; period_not_open (422) once its month closed;
        self_verification (403) when your own account is among them; not_found.
        """
        return ledger_of().approve_allotments(request_id, actor())


@blp.route("/allotments/<request_id>/withdraw")
class AllotmentWithdrawal(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(WithdrawRequest)
    @blp.response(200, ApprovalRequestOut)
    def post(self, body, request_id):
        """Withdraw a pending allotment request (nothing was granted).

        invalid_state (409) once it is approved or withdrawn.
        """
        return _withdraw(request_id, "allotments", body)


@blp.route("/approval-requests")
class ApprovalRequests(MethodView):
    @requires("coordinator", "auditor")
    @blp.arguments(ApprovalRequestQuery, location="query")
    @blp.response(200, ApprovalRequestList)
    def get(self, query):
        """The corrections and allotment batches waiting for a second coordinator, oldest
        first (``?kind=correction`` or ``allotments`` for one kind)."""
        return {"items": ledger_of().list_approval_requests(query["kind"])}


def _withdraw(request_id: str, kind: str, body):
    """Withdraw a request of ``kind``; not_found for a request of the other kind."""
    ledger = ledger_of()
    if ledger.get_approval_request(request_id).kind != kind:
        raise ApiProblem(404, "not_found", f"no {kind} request {request_id}")
    return ledger.withdraw_request(request_id, actor(), body["reason"])
