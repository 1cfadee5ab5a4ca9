"""The fund (SPEC §4, §6): cash donations, the fund's position, and the monthly
settlements that pay merchants cash (plus rebate) for the beans they redeemed.

Dates (``received_on``, ``cutoff``) are the programme's local calendar days as
``YYYY-MM-DD``; times are ISO 8601; cash is integer fen.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.idempotent import idempotent, ledger_key
from api.security import STAFF, actor, requires
from ledger.fund import MAX_DONATION_FEN, MAX_DONOR_NAME, MAX_REASON, MAX_RECEIPT_NO
from ledger.views import SettlementView

blp = Blueprint(
    "fund",
    __name__,
    url_prefix="/api/v1",
    description="Donations, the fund's position, and settlements with merchants",
)


class DonationRequest(Schema):
    donor = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_DONOR_NAME),
        metadata={"description": "the donor's name; required unless anonymous"},
    )
    anonymous = fields.Boolean(
        load_default=False,
        truthy={True},
        falsy={False},
        metadata={"description": "published as 匿名 / anonymous"},
    )
    amount_fen = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_DONATION_FEN)
    )
    received_on = fields.Date(
        required=True, metadata={"description": "the day the cash came in; not in the future"}
    )
    receipt_no = fields.String(required=True, validate=validate.Length(min=1, max=MAX_RECEIPT_NO))


class DonationReceipt(Schema):
    id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class ReasonRequest(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_REASON),
        metadata={"description": "why: kept in the log with the new entry"},
    )


class DonationReversedOut(Schema):
    id = fields.String(required=True)
    amount_fen = fields.Integer(
        required=True, metadata={"description": "the donation's amount, taken out of the fund"}
    )
    reversed = fields.Boolean(required=True)


class FundPositionOut(Schema):
    balance_fen = fields.Integer(required=True, metadata={"description": "cash in the fund"})
    liability_fen = fields.Integer(
        required=True,
        metadata={
            "description": "what paying every outstanding bean will cost, in fen: cash "
            "plus rebate, a merchant's beans at its rate, beans not yet spent at the "
            "highest rate of any merchant (docs/LEDGER.md)"
        },
    )
    coverage = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "balance_fen / liability_fen rounded half-up to 4 decimal places "
            "(a JSON number); null while nothing is owed (liability 0)"
        },
    )


class SettlementRequest(Schema):
    cutoff = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "settle beans recorded before this local day (default: the "
            "first day of the current month; at the latest tomorrow)"
        },
    )


class SettlementLineOut(Schema):
    merchant_id = fields.String(required=True)
    beans = fields.Integer(required=True)
    cash_fen = fields.Integer(required=True)
    rebate_fen = fields.Integer(required=True)


class SettlementOut(Schema):
    id = fields.String(required=True)
    period = fields.String(
        required=True, metadata={"description": "YYYY-MM, the month of the day before cutoff"}
    )
    cutoff = fields.Date(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("prepared", "approved", "paid", "cancelled"))
    )
    lines = fields.List(fields.Nested(SettlementLineOut), required=True)
    total_fen = fields.Integer(
        required=True, metadata={"description": "the sum of every line's cash and rebate"}
    )


class PaidSettlementLineOut(SettlementLineOut):
    paid_at = fields.DateTime(allow_none=True)
    payment_ref = fields.String(allow_none=True)


class SettlementDetail(SettlementOut):
    lines = fields.List(fields.Nested(PaidSettlementLineOut), required=True)
    prepared_by = fields.String(required=True)
    approved_by = fields.String(allow_none=True)


class SettlementStatusOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)


class LinePaymentRequest(Schema):
    payment_ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the bank transfer's reference"},
    )


class LinePaidOut(Schema):
    merchant_id = fields.String(required=True)
    paid_at = fields.DateTime(required=True)


@blp.route("/fund/donations")
class Donations(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.arguments(DonationRequest)
    @blp.response(201, DonationReceipt)
    def post(self, body):
        """Record a cash donation into the fund.

        The receipt number is unique: the same donation recorded again answers the first
        record (nothing is counted twice); another donation under a used receipt number
        is duplicate_receipt (409).
        """
        return ledger_of().record_donation(**body, by=actor())


@blp.route("/fund/donations/<donation_id>/reverse")
class DonationReversal(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.arguments(ReasonRequest)
    @blp.response(200, DonationReversedOut)
    def post(self, body, donation_id):
        """Reverse a donation recorded by mistake: a new entry takes its cash back out of
        the fund (the report lists it as a negative item). The receipt number may then be
        recorded again.

        four_eyes_required (403) for the officer who recorded it; invalid_state (409)
        when it is already reversed; insufficient_fund (409) when the fund no longer
        holds that much; not_found (404).
        """
        return ledger_of().reverse_donation(donation_id, body["reason"], actor())


@blp.route("/fund")
class FundOverview(MethodView):
    @requires(*STAFF)
    @blp.response(200, FundPositionOut)
    def get(self):
        """The fund's cash balance, what paying the beans in circulation will cost it
        (rebates included), and coverage."""
        return ledger_of().get_fund()


@blp.route("/settlements")
class Settlements(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.arguments(SettlementRequest)
    @blp.response(201, SettlementOut)
    def post(self, body):
        """Prepare a settlement of every merchant's net redeemed beans before ``cutoff``.

        The beans are reserved for it (refunds can no longer spend them). Another fund
        officer approves it. nothing_to_settle (422) when no merchant has such beans.
        """
        prepared = ledger_of().prepare_settlement(actor(), cutoff=body["cutoff"], key=ledger_key())
        return _with_local_cutoff(prepared)


@blp.route("/settlements/<settlement_id>")
class SettlementById(MethodView):
    @requires("fund_officer", "auditor")
    @blp.response(200, SettlementDetail)
    def get(self, settlement_id):
        """A settlement with its lines, each with when and how it was paid."""
        return _with_local_cutoff(ledger_of().get_settlement(settlement_id))


@blp.route("/settlements/<settlement_id>/approve")
class SettlementApproval(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.response(200, SettlementStatusOut)
    def post(self, settlement_id):
        """Approve a prepared settlement (another fund officer than the one who prepared it).

        four_eyes_required (403) for the officer who prepared it; invalid_state (409)
        unless it is prepared.
        """
        return ledger_of().approve_settlement(settlement_id, actor())


@blp.route("/settlements/<settlement_id>/cancel")
class SettlementCancellation(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.arguments(ReasonRequest)
    @blp.response(200, SettlementStatusOut)
    def post(self, body, settlement_id):
        """Cancel a prepared or approved settlement before any of its lines is paid; its
        reserved beans go back to the merchants' unsettled beans, for the next one.

        invalid_state (409) once a line is paid, or when it is paid or cancelled already.
        """
        return ledger_of().cancel_settlement(settlement_id, body["reason"], actor())


@blp.route("/settlements/<settlement_id>/lines/<merchant_id>/paid")
class LinePayment(MethodView):
    @idempotent
    @requires("fund_officer")
    @blp.arguments(LinePaymentRequest)
    @blp.response(200, LinePaidOut)
    def post(self, body, settlement_id, merchant_id):
        """Record that the fund paid one merchant's line of an approved settlement.

        The fund's balance drops by the line's cash + rebate and the merchant's beans are
        retired. invalid_state (409) when the settlement is not approved or the line was paid;
        insufficient_fund (409) when the fund holds less than cash + rebate.
        """
        return ledger_of().pay_settlement_line(
            settlement_id, merchant_id, body["payment_ref"], actor()
        )


def _with_local_cutoff(settlement: SettlementView) -> dict:
    """The settlement with its cutoff as the local day it was given as (YYYY-MM-DD)."""
    ledger = ledger_of()
    cutoff: date = date.fromisoformat(ledger.day_of(settlement.cutoff))
    return {**asdict(settlement), "cutoff": cutoff}
