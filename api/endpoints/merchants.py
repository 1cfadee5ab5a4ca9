"""Partner merchants: registering, reading, suspending and reactivating them, their POS
terminals, their day's redemptions and their monthly statements (SPEC §6: /merchants...).

A merchant sees only itself: a caller with the role ``merchant`` (a till, or a
merchant user) whose ``merchant_id`` is another merchant's gets ``403`` before anything
is looked up. The counter code comes as an image (``code.svg``, ``code.png``) and as a
printable A4 counter sign (``sign.pdf``); the statements also as ``.csv`` and ``.pdf``.

The day's redemptions and the statements are read from the ``books`` projection.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import MAX_LABEL, InvalidUser, terminals_of
from api.context import auth_of, ledger_of, reading
from api.errors import ApiProblem
from api.files import code_image, download
from api.idempotent import idempotent, idempotent_secret, ledger_key
from api.login_throttle import address_key
from api.rendering import statement_csv, statement_pdf
from api.schemas import FILE, Name, NoBody, page_cursor, page_limit
from api.security import STAFF, actor, caller, canonical_id, forbid_unless, requires
from ledger.calendar import parse_period
from ledger.errors import ValidationError
from ledger.rules import MERCHANT_CATEGORIES
from merchant_pos.printing import counter_sign_pdf
from projections import queries

log = logging.getLogger(__name__)

blp = Blueprint(
    "merchants", __name__, url_prefix="/api/v1", description="Merchants and their terminals"
)

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # any local day we can convert
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a page's cursor counts microseconds from it


# --- schemas ----------------------------------------------------------------------------


class NewMerchant(Schema):
    name = Name(required=True, validate=validate.Length(min=1, max=120))
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
    label = Name(required=True, validate=validate.Length(min=1, max=MAX_LABEL))


class TerminalOut(Schema):
    terminal_id = fields.String(required=True)
    token = fields.String(required=True)
    expires_at = fields.DateTime(
        required=True, metadata={"description": "the token stops working then: rotate it before"}
    )


class NewTerminalOut(TerminalOut):
    pairing_code = fields.String(
        required=True,
        metadata={
            "description": "8 digits the till types (or scans) on /pos to fetch its own token "
            "(POST /terminals/pair): once, within 10 minutes; using it replaces the token "
            "above"
        },
    )
    pairing_expires_at = fields.DateTime(required=True)


class PairRequest(Schema):
    pairing_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the 8 digits shown to the admin (spaces and dashes ignored)"},
    )


class PairedTerminal(Schema):
    terminal_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class RedemptionsDayQuery(Schema):
    date = fields.Date(validate=validate.Range(min=FIRST_DAY, max=LAST_DAY))
    limit = page_limit()
    cursor = page_cursor(r"^[0-9]{1,17}\.[0-9a-f-]{36}$")


class DayRedemption(Schema):
    id = fields.String(required=True)
    payer_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    refunded = fields.Integer(required=True)
    at = fields.DateTime(required=True)


class DayRedemptions(Schema):
    items = fields.List(fields.Nested(DayRedemption), required=True)
    total = fields.Integer(required=True, metadata={"description": "beans redeemed that day"})
    count = fields.Integer(required=True, metadata={"description": "redemptions that day"})
    refunded = fields.Integer(required=True, metadata={"description": "beans refunded of them"})
    next_cursor = fields.String(required=True, allow_none=True)


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
            body["name"], body["category"], body.get("rebate_bps"), by=actor(), key=ledger_key()
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
    @blp.response(201, NewTerminalOut)
    def post(self, body, merchant_id):
        """Register a till (a "terminal" in the paths); its token (shown this once)
        authenticates as the merchant. The answer also has a ``pairing_code``: typed or
        scanned on the till within 10 minutes, it gives the till a token of its own
        (``POST /terminals/pair``), so nobody copies the token by hand."""
        merchant = ledger_of().get_merchant(merchant_id)
        auth = auth_of()
        try:
            terminal_id, token = auth.create_terminal(merchant.id, body["label"])
        except InvalidUser as error:
            raise ApiProblem(422, "validation_error", str(error)) from None
        made = next(t for t in terminals_of(auth, merchant.id) if t.terminal_id == terminal_id)
        return {
            "terminal_id": terminal_id,
            "token": token,
            "expires_at": made.token_expires_at,
            **pairing_of(terminal_id),
        }


@blp.route("/merchants/<merchant_id>/terminals/<terminal_id>/token")
class TerminalToken(MethodView):
    @idempotent_secret
    @requires("admin")
    @blp.arguments(NoBody)
    @blp.response(201, NewTerminalOut)
    def post(self, _body, merchant_id, terminal_id):
        """Rotate a till's token: a new one (shown this once) with a new expiry; the
        old one stops working at once. Also a new ``pairing_code`` (10 minutes, once), to
        pair the till instead of typing the token. 404 for a revoked till or one of
        another merchant."""
        merchant = ledger_of().get_merchant(merchant_id)
        auth = auth_of()
        if terminal_id not in {t.terminal_id for t in terminals_of(auth, merchant.id)}:
            raise ApiProblem(404, "not_found", f"merchant {merchant.id} has no such terminal")
        rotated = auth.rotate_terminal(terminal_id)
        if rotated is None:
            raise ApiProblem(404, "not_found", f"terminal {terminal_id} is revoked")
        token, expires_at = rotated
        return {
            "terminal_id": terminal_id,
            "token": token,
            "expires_at": expires_at,
            **pairing_of(terminal_id),
        }


@blp.route("/terminals/pair")
class TerminalPairing(MethodView):
    @blp.doc(security=[])  # public: the till has no token yet
    @blp.arguments(PairRequest)
    @blp.response(201, PairedTerminal)
    def post(self, body):
        """Public: a till presents the pairing code the admin was shown and gets its
        terminal's token (the terminal's earlier tokens stop working). Once: a code that
        is unknown, used, expired (10 minutes) or of a revoked terminal is ``422
        invalid_code``. Wrong codes are counted per client address: 20 in 15 minutes and
        the address waits (``429 too_many_requests`` with ``Retry-After``)."""
        auth = auth_of()
        subject = f"pairing:{address_key(request.remote_addr)}"  # IPv6 by its /64
        wait = auth.code_attempts_wait(subject)
        if wait:
            raise ApiProblem(
                429,
                "too_many_requests",
                f"too many wrong pairing codes from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        code = "".join(ch for ch in body["pairing_code"] if ch not in " -")
        paired = auth.pair(code)
        if paired is None:
            auth.count_code_failure(subject)
            raise ApiProblem(
                422,
                "invalid_code",
                "no such pairing code: it is used, expired (10 minutes) or mistyped; "
                "ask the administrator for a new one",
            )
        terminal, token = paired
        return {
            "terminal_id": terminal.terminal_id,
            "merchant_id": terminal.merchant_id,
            "token": token,
            "expires_at": terminal.token_expires_at,
        }


def pairing_of(terminal_id: str) -> dict[str, Any]:
    """A new pairing code of a terminal just made or given a token, for the answer."""
    issued = auth_of().new_pairing(terminal_id)
    if issued is None:  # revoked in the meantime
        raise ApiProblem(404, "not_found", f"terminal {terminal_id} is revoked")
    code, expires_at = issued
    return {"pairing_code": code, "pairing_expires_at": expires_at}


@blp.route("/merchants/<merchant_id>/redemptions")
class MerchantRedemptions(MethodView):
    @requires("merchant", *STAFF)
    @blp.arguments(RedemptionsDayQuery, location="query")
    @blp.response(200, DayRedemptions)
    def get(self, query, merchant_id):
        """The redemptions of one local day (default today), newest first, with what was
        refunded of each: all of them, or ``limit`` at a time (pass ``next_cursor`` back
        as ``cursor`` for older ones; null: there are no more). ``total`` is the beans
        redeemed that day before refunds, ``count`` and ``refunded`` the day's too,
        whichever page is asked for."""
        check_is_itself(merchant_id)
        ledger = ledger_of()
        merchant = ledger.get_merchant(merchant_id)
        day = (query.get("date") or date.fromisoformat(ledger.day_of(ledger.now()))).isoformat()
        after = None
        if "cursor" in query:
            micros, last_id = query["cursor"].split(".")
            after = (EPOCH + timedelta(microseconds=int(micros)), last_id)
        with reading() as conn:
            items, mark = queries.day_redemptions(conn, merchant.id, day, query.get("limit"), after)
            totals = queries.day_totals(conn, merchant.id, day)
        cursor = None
        if mark is not None:
            cursor = f"{(mark[0] - EPOCH) // timedelta(microseconds=1)}.{mark[1]}"
        return {
            "items": items,
            "total": totals["redeemed"],
            "count": totals["count"],
            "refunded": totals["refunded"],
            "next_cursor": cursor,
        }


@blp.route("/merchants/<merchant_id>/statements/<period>")
class Statements(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(200, MerchantStatement)
    def get(self, merchant_id, period):
        """A merchant's statement of one local month ``YYYY-MM``."""
        return merchant_statement(merchant_id, period)[1]


@blp.route("/merchants/<merchant_id>/statements/<period>.csv")
class StatementCsv(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(200, content_type="text/csv", description="the statement as CSV")
    def get(self, merchant_id, period):
        """The statement of one month as CSV (UTF-8)."""
        merchant, figures = merchant_statement(merchant_id, period)
        return download(
            statement_csv(figures, merchant.name).encode("utf-8"),
            "text/csv",
            f"statement-{merchant.number}-{period}.csv",
        )


@blp.route("/merchants/<merchant_id>/statements/<period>.pdf")
class StatementPdf(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(200, content_type="application/pdf", description="the statement as PDF")
    def get(self, merchant_id, period):
        """The statement of one month as a one-page PDF."""
        merchant, figures = merchant_statement(merchant_id, period)
        return download(
            statement_pdf(figures, merchant.name),
            "application/pdf",
            f"statement-{merchant.number}-{period}.pdf",
        )


@blp.route("/merchants/<merchant_id>/code.svg")
class CounterCodeSvg(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(
        200, FILE, content_type="image/svg+xml", description="the counter code as an SVG image"
    )
    def get(self, merchant_id):
        """The merchant's counter code (SPEC §5: volunteers scan it and enter the amount),
        as SVG that scales to any size; its ``<title>`` is the code's digits."""
        check_is_itself(merchant_id)
        return code_image(ledger_of().get_merchant(merchant_id).merchant_code, "svg")


@blp.route("/merchants/<merchant_id>/code.png")
class CounterCodePng(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(
        200, FILE, content_type="image/png", description="the counter code as a PNG image"
    )
    def get(self, merchant_id):
        """The merchant's counter code as a PNG image (10 pixels a module)."""
        check_is_itself(merchant_id)
        return code_image(ledger_of().get_merchant(merchant_id).merchant_code, "png")


@blp.route("/merchants/<merchant_id>/sign.pdf")
class CounterSign(MethodView):
    @requires("merchant", *STAFF)
    @blp.response(
        200,
        FILE,
        content_type="application/pdf",
        description="the counter sign, an A4 page to print",
    )
    def get(self, merchant_id):
        """A printable A4 counter sign: the merchant's name, its QR code large, the code's
        digits and how to pay with Goldbean, in Chinese and English."""
        check_is_itself(merchant_id)
        merchant = ledger_of().get_merchant(merchant_id)
        return download(
            counter_sign_pdf(merchant.name, merchant.merchant_code),
            "application/pdf",
            f"goldbean-sign-{merchant.number}.pdf",
        )


# --- who may see what --------------------------------------------------------------------


def check_is_itself(merchant_id: str) -> None:
    """403 for a merchant asking about another merchant."""
    who = caller()
    if who.role == "merchant":
        forbid_unless(
            who.merchant_id is not None
            and canonical_id(who.merchant_id) == canonical_id(merchant_id),
            "a merchant sees only itself",
        )


def merchant_statement(merchant_id: str, period: str) -> tuple[Any, dict]:
    """The merchant and its statement of ``period`` (docs/REPORTS.md), for the caller if
    allowed. Raises ValidationError for a period that is not ``YYYY-MM``."""
    check_is_itself(merchant_id)
    ledger = ledger_of()
    merchant = ledger.get_merchant(merchant_id)
    year, _ = parse_period(period)
    if not FIRST_DAY.year <= year < LAST_DAY.year:
        raise ValidationError(f"period {period} is out of range")
    with reading() as conn:
        figures = queries.statement(
            conn, merchant.id, merchant.rebate_bps, period, ledger.rules.bean_value_fen
        )
    return merchant, figures
