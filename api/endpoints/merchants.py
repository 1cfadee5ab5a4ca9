"""Partner merchants: registering, reading, suspending and reactivating them, their POS
terminals, their day's redemptions and their monthly statements (SPEC §6: /merchants...).

A merchant sees only itself: a caller with the role ``merchant`` (a terminal, or a
merchant user) whose ``merchant_id`` is another merchant's gets ``403`` before anything
is looked up. The counter QR code (``code.svg`` / ``.png``) and the statement's ``.csv``
and ``.pdf`` come with issues 5 and 4.

The day's redemptions and the statements read the merchant aggregate's own events until
the projections of issue 4 exist; see :class:`MerchantHistory`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.app import ledger_of
from api.auth import MAX_LABEL, InvalidUser
from api.endpoints.accounts import NoBody, plain_text
from api.errors import ApiProblem
from api.idempotent import idempotent, idempotent_secret
from api.security import STAFF, actor, auth_of, caller, forbid_unless, requires
from ledger.accounts import Account, Flow
from ledger.application import Ledger
from ledger.calendar import parse_period
from ledger.errors import ValidationError
from ledger.merchants import Merchant
from ledger.money import cash_fen, rebate_fen
from ledger.rules import MERCHANT_CATEGORIES

log = logging.getLogger(__name__)

blp = Blueprint(
    "merchants", __name__, url_prefix="/api/v1", description="Merchants and their terminals"
)

_BATCH = 500
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # any local day we can convert


# --- schemas ----------------------------------------------------------------------------


class NewMerchant(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), plain_text])
    category = fields.String(required=True, validate=validate.OneOf(MERCHANT_CATEGORIES))
    rebate_bps = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))


class MerchantOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    rebate_bps = fields.Integer(required=True)
    status = fields.String(required=True)


class MerchantDetail(MerchantOut):
    unsettled_beans = fields.Integer(required=True)


class MerchantStatus(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)


class NewTerminal(Schema):
    label = fields.String(
        required=True, validate=[validate.Length(min=1, max=MAX_LABEL), plain_text]
    )


class TerminalOut(Schema):
    terminal_id = fields.String(required=True)
    token = fields.String(required=True)


class RedemptionsDayQuery(Schema):
    date = fields.Date(validate=validate.Range(min=FIRST_DAY, max=LAST_DAY))


class DayRedemption(Schema):
    id = fields.String(required=True)
    payer_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    refunded = fields.Integer(required=True)
    at = fields.DateTime(required=True)


class DayRedemptions(Schema):
    items = fields.List(fields.Nested(DayRedemption), required=True)
    total = fields.Integer(required=True)


class MerchantStatement(Schema):
    period = fields.String(required=True)
    redeemed = fields.Integer(required=True)
    refunded = fields.Integer(required=True)
    net = fields.Integer(required=True)
    cash_fen = fields.Integer(required=True)
    rebate_fen = fields.Integer(required=True)
    settled = fields.Integer(required=True)
    paid = fields.Boolean(required=True)


# --- views ------------------------------------------------------------------------------


@blp.route("/merchants")
class Merchants(MethodView):
    @idempotent
    @requires("admin")
    @blp.arguments(NewMerchant)
    @blp.response(201, MerchantOut)
    def post(self, body):
        """Register a partner merchant (active; rebate at the programme's default rate
        unless ``rebate_bps`` is given)."""
        return ledger_of().register_merchant(
            body["name"], body["category"], body.get("rebate_bps"), by=actor()
        )


@blp.route("/merchants/<merchant_id>")
class MerchantById(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(200, MerchantDetail)
    def get(self, merchant_id):
        """A merchant's details and the beans it holds that no settlement has taken yet."""
        check_is_itself(merchant_id)
        return ledger_of().get_merchant(merchant_id)


@blp.route("/merchants/<merchant_id>/suspend")
class Suspend(MethodView):
    @idempotent
    @requires("admin")
    @blp.arguments(NoBody, required=False)
    @blp.response(200, MerchantStatus)
    def post(self, _body, merchant_id):
        """Suspend a merchant: it cannot redeem until reactivated (no-op if suspended)."""
        return ledger_of().suspend_merchant(merchant_id, actor())


@blp.route("/merchants/<merchant_id>/reactivate")
class Reactivate(MethodView):
    @idempotent
    @requires("admin")
    @blp.arguments(NoBody, required=False)
    @blp.response(200, MerchantStatus)
    def post(self, _body, merchant_id):
        """Let a suspended merchant redeem again (no-op if active)."""
        return ledger_of().reactivate_merchant(merchant_id, actor())


@blp.route("/merchants/<merchant_id>/terminals")
class Terminals(MethodView):
    @idempotent_secret
    @requires("admin")
    @blp.arguments(NewTerminal)
    @blp.response(201, TerminalOut)
    def post(self, body, merchant_id):
        """Register a POS terminal; its token (shown this once) authenticates as the
        merchant."""
        merchant = ledger_of().get_merchant(merchant_id)
        try:
            terminal_id, token = auth_of().create_terminal(merchant.id, body["label"])
        except InvalidUser as error:
            raise ApiProblem(422, "validation_error", str(error)) from None
        return {"terminal_id": terminal_id, "token": token}


@blp.route("/merchants/<merchant_id>/redemptions")
class MerchantRedemptions(MethodView):
    @requires("merchant", *STAFF)
    @blp.arguments(RedemptionsDayQuery, location="query")
    @blp.response(200, DayRedemptions)
    def get(self, query, merchant_id):
        """The redemptions of one local day (default today), newest first, with what was
        refunded of each; ``total`` is the beans redeemed that day before refunds."""
        check_is_itself(merchant_id)
        ledger = ledger_of()
        merchant = ledger.get_merchant(merchant_id)
        day = query.get("date") or date.fromisoformat(ledger.day_of(ledger.now()))
        items = day_redemptions(ledger, merchant.id, day)
        return {"items": items, "total": sum(item.amount for item in items)}


@blp.route("/merchants/<merchant_id>/statements/<period>")
class Statements(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(200, MerchantStatement)
    def get(self, merchant_id, period):
        """A merchant's statement of one local month ``YYYY-MM``."""
        check_is_itself(merchant_id)
        ledger = ledger_of()
        merchant = ledger.get_merchant(merchant_id)
        return statement(ledger, merchant.id, merchant.rebate_bps, period)


# --- who may see what --------------------------------------------------------------------


def _canonical(an_id: str) -> str:
    try:
        return str(UUID(an_id))
    except ValueError:
        return an_id


def check_is_itself(merchant_id: str) -> None:
    """403 for a merchant asking about another merchant."""
    who = caller()
    if who.role == "merchant":
        forbid_unless(
            who.merchant_id is not None and _canonical(who.merchant_id) == _canonical(merchant_id),
            "a merchant sees only itself",
        )


# --- reading a merchant's events, before projections -------------------------------------


class MerchantHistory:
    """The merchant aggregate's own events, found by time.

    Pre-projection implementation (issue 4 replaces it with read tables). Event
    timestamps come from the ledger's clock and grow with the version, so the first
    event at or after an instant is found by bisecting versions (one single-event query
    per step: ~17 for 100,000 events), and the events of a day or a month are then read
    forward in pages. Clocks of several workers may disagree by milliseconds, so an event
    within that much of midnight may count on the neighbouring day.
    """

    def __init__(self, ledger: Ledger, merchant_id: str) -> None:
        self.events = ledger.events
        self.id = UUID(merchant_id)

    def _at(self, version: int) -> datetime:
        (event,) = self.events.get(self.id, gt=version - 1, lte=version)
        return event.timestamp

    def first_version_from(self, instant: datetime) -> int:
        """The lowest version recorded at or after ``instant`` (head + 1 if none)."""
        newest = list(self.events.get(self.id, desc=True, limit=1))
        head = newest[0].originator_version if newest else 0
        if head == 0 or newest[0].timestamp < instant:
            return head + 1
        low, high = 1, head  # the answer is in [low, high]
        while low < high:
            middle = (low + high) // 2
            if self._at(middle) < instant:
                low = middle + 1
            else:
                high = middle
        return low

    def forward(self, start: datetime) -> Iterator[Any]:
        """Every event recorded at or after ``start``, oldest first."""
        after = self.first_version_from(start) - 1
        while True:
            batch = list(self.events.get(self.id, gt=after, limit=_BATCH))
            yield from batch
            if len(batch) < _BATCH:
                return
            after = batch[-1].originator_version


def day_redemptions(ledger: Ledger, merchant_id: str, day: date) -> list:
    """The merchant's redemptions credited on the local ``day``, newest first: its
    ``BeansCredited`` events of flow ``redemption`` in that day, each loaded by its
    ``ref`` (the redemption id) for what was refunded of it."""
    start = ledger.calendar.start_of_day(day)
    end = ledger.calendar.start_of_day(day + timedelta(days=1))
    refs = []
    for event in MerchantHistory(ledger, merchant_id).forward(start):
        if event.timestamp >= end:
            break
        if isinstance(event, Account.BeansCredited) and event.flow == Flow.REDEMPTION:
            refs.append(event.ref)
    return [ledger.get_redemption(ref) for ref in reversed(refs)]


def statement(ledger: Ledger, merchant_id: str, rebate_bps: int, period: str) -> dict:
    """A merchant's figures for the local month ``period``, from its events.

    ``redeemed`` and ``refunded`` are the redemption credits and refund debits recorded
    in the month; ``net`` their difference (negative if refunds of earlier purchases
    exceed the month's redemptions); ``cash_fen`` = net × bean value and ``rebate_fen``
    at the merchant's rate, rounded half-up once (half away from zero when negative).

    ``settled`` approximates "beans of this period taken into settlements" as the beans
    that settlements *for this period* reserved from the merchant (a settlement's period
    is the month before its cutoff; its beans may include earlier months' unsettled
    beans carried over, and beans of this month taken by a later period's settlement
    are not counted). ``paid`` is true when there are such beans and every one of those
    settlements has paid the merchant's line. The events after the month are read up to
    the first reservation by a settlement of a later period (after it no beans of this
    period are left to reserve), or to the newest event.

    Raises ValidationError for a period that is not ``YYYY-MM``.
    """
    year, month = parse_period(period)
    if not FIRST_DAY.year <= year < LAST_DAY.year:
        raise ValidationError(f"period {period} is out of range")
    first = date(year, month, 1)
    calendar = ledger.calendar
    start = calendar.start_of_day(first)
    end = calendar.start_of_day((first + timedelta(days=31)).replace(day=1))
    redeemed = refunded = settled = 0
    settlements = []
    for event in MerchantHistory(ledger, merchant_id).forward(start):
        if event.timestamp < end:
            if isinstance(event, Account.BeansCredited) and event.flow == Flow.REDEMPTION:
                redeemed += event.amount
            elif isinstance(event, Account.BeansDebited) and event.flow == Flow.REFUND:
                refunded += event.amount
        if isinstance(event, Merchant.SettlementReserved):
            taken = ledger.get_settlement(event.settlement_id)
            if taken.period > period and event.timestamp >= end:
                break
            if taken.period == period:
                settled += event.beans
                settlements.append(taken)
    net = redeemed - refunded
    cash = cash_fen(net, ledger.rules.bean_value_fen)
    rebate = rebate_fen(cash, rebate_bps) if cash >= 0 else -rebate_fen(-cash, rebate_bps)
    paid = settled > 0 and all(
        line.paid_at is not None
        for taken in settlements
        for line in taken.lines
        if line.merchant_id == merchant_id
    )
    return {
        "period": period,
        "redeemed": redeemed,
        "refunded": refunded,
        "net": net,
        "cash_fen": cash,
        "rebate_fen": rebate,
        "settled": settled,
        "paid": paid,
    }
