"""Bean accounts of people: opening them, reading them and their entries, the leaderboard
choice, payment codes and beneficiary cards (SPEC §6: /accounts...), and printing the cards
(``card.pdf``, ``/cards.pdf``).

Who sees an account: its owner (the volunteer or beneficiary whose ``account_id`` it is)
and staff (coordinators, fund officers, auditors, admins). Anyone else gets ``403``
before the account is even looked up, so a stranger cannot probe which ids exist.

Balances and entries are read from the ``books`` projection (projections/books.py).

Printed cards are read back from the ledger: a beneficiary's current card number is part
of its account's state (``CardIssued``), so a coordinator can print a card again, or a
sheet of many, with a GET that changes nothing. Printing again does not revoke: a lost card
is replaced with ``POST /card``. (Binary answers could not be replayed by
``Idempotency-Key`` anyway: the answer store keeps text.)

Also the small helpers for answers that are files: :func:`download` and :func:`code_image`.
"""

from __future__ import annotations

import logging

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api import roster
from api.auth import USERNAME
from api.context import auth_of, ledger_of, reading, store_of
from api.errors import ApiProblem
from api.files import download
from api.idempotent import idempotent, ledger_key
from api.members import add_owner, card_back, printed_card
from api.passwords import MAX_PASSWORD, MIN_PASSWORD, password_problem
from api.schemas import FILE, Name, NoBody, encodable, page_cursor, plain_text
from api.security import STAFF, actor, caller, canonical_id, forbid_unless, requires
from api.short_codes import issue_short_code
from merchant_pos.printing import cards_pdf
from merchant_pos.qr import qr_svg
from projections import queries

log = logging.getLogger(__name__)

blp = Blueprint(
    "accounts", __name__, url_prefix="/api/v1", description="Accounts, entries, codes and cards"
)

PEOPLE = ("volunteer", "beneficiary")


# --- schemas ----------------------------------------------------------------------------


class NewAccount(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PEOPLE))
    display_name = Name(required=True, validate=validate.Length(min=1, max=120))
    # "$" lets a final newline through in Python; plain_text refuses it (OpenAPI
    # patterns are ECMA regular expressions, which have no \Z).
    username = fields.String(validate=[validate.Regexp(f"^{USERNAME.pattern}$"), plain_text])
    password = fields.String(
        load_only=True,
        validate=[validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD), encodable],
    )

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if ("username" in data) != ("password" in data):
            raise ValidationError("give both a username and a password, or neither", "username")
        if "password" in data:
            problem = password_problem(data["password"], data["username"], data["display_name"])
            if problem:
                raise ValidationError(problem, "password")


class AccountOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    display_name = fields.String(required=True)
    balance = fields.Integer(required=True)


#: who searches the members (SPEC §11); who of them sees their phones and records
SEARCHERS = ("coordinator", "admin", "auditor")
RECORD_READERS = ("coordinator", "admin")


class AccountsQuery(Schema):
    kind = fields.String(validate=validate.OneOf(PEOPLE))
    q = fields.String(
        validate=[validate.Length(min=1, max=120), plain_text, encodable],
        metadata={
            "description": "part of a name, 3 or more digits of a phone or account "
            "number, or a whole account id"
        },
    )
    team = fields.String(
        validate=[validate.Length(min=1, max=40), plain_text, encodable],
        metadata={"description": "a team's name: its members only"},
    )
    grid = fields.String(
        validate=[validate.Length(min=1, max=40), plain_text, encodable],
        metadata={"description": "a grid's name: the members in it only"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = page_cursor(r"^[1-9][0-9]{0,8}$")


class FoundAccount(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    display_name = fields.String(required=True)
    number = fields.String(required=True, allow_none=True)
    phone = fields.String(metadata={"description": "coordinators and admins only"})
    building = fields.String(metadata={"description": "coordinators and admins only"})
    grid = fields.String(metadata={"description": "coordinators and admins only"})
    teams = fields.List(fields.String(), metadata={"description": "coordinators and admins only"})


class FoundAccounts(Schema):
    items = fields.List(fields.Nested(FoundAccount), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class LeaderboardChoice(Schema):
    leaderboard_opt_in = fields.Boolean(required=True, truthy={True}, falsy={False})


class LeaderboardChoiceOut(Schema):
    id = fields.String(required=True)
    leaderboard_opt_in = fields.Boolean(required=True)


class EntriesQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = page_cursor(r"^[1-9][0-9]{0,17}$")


class Entry(Schema):
    at = fields.DateTime(required=True)
    flow = fields.String(required=True)
    amount = fields.Integer(required=True)
    balance_after = fields.Integer(required=True)
    counterparty = fields.String(required=True)
    ref = fields.String(required=True)


class EntriesPage(Schema):
    items = fields.List(fields.Nested(Entry), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class PaymentCodeOut(Schema):
    code = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    qr_svg = fields.String(
        required=True,
        metadata={"description": "the code as an inline SVG image (its <title> is the code)"},
    )
    short_code = fields.String(
        required=True,
        metadata={
            "description": "8 digits a cashier can type instead (valid as long as the code, "
            "once; the account's earlier short code stops working)"
        },
    )


class NewCard(Schema):
    pin = fields.String(load_default=None, validate=[validate.Regexp(r"^[0-9]{4}$"), plain_text])


class CardOut(Schema):
    card_code = fields.String(required=True)


MAX_CARDS_PER_SHEET = 200


class CardsQuery(Schema):
    account_id = fields.List(
        fields.String(validate=[validate.Length(min=1, max=64), plain_text]),
        required=True,
        validate=validate.Length(min=1, max=MAX_CARDS_PER_SHEET),
        metadata={"description": "beneficiary account ids, repeated: ?account_id=…&account_id=…"},
    )


class UnlockedCard(Schema):
    id = fields.String(required=True)


# --- views ------------------------------------------------------------------------------


@blp.route("/accounts")
class Accounts(MethodView):
    @requires(*SEARCHERS)
    @blp.arguments(AccountsQuery, location="query")
    @blp.response(200, FoundAccounts)
    def get(self, query):
        """Find volunteers and beneficiaries by name, phone or account number (``q``), of a
        ``kind``, a ``team`` or a ``grid``, by name, ``limit`` at a time; pass
        ``next_cursor`` back as ``cursor`` for the next ones (null: there are no more).
        Coordinators and admins also see each one's phone, building, grid and teams; an
        auditor sees names and numbers only, and finds by name or number only."""
        private = caller().role in RECORD_READERS
        if not private and ("team" in query or "grid" in query):
            raise ApiProblem(
                403, "forbidden", "only coordinators and admins find members by team or grid"
            )
        members = roster.directory(ledger_of(), reading, query.get("kind"))
        found = roster.search(
            members, query.get("q"), query.get("team"), query.get("grid"), by_phone=private
        )
        start = int(query.get("cursor", 0))
        page = found[start : start + query["limit"]]
        end = start + len(page)
        items = []
        for member in page:
            item: dict[str, object] = {
                "id": member.id,
                "kind": member.kind,
                "display_name": member.display_name,
                "number": member.number or None,
            }
            if private:
                item |= {
                    "phone": member.record.phone,
                    "building": member.record.building,
                    "grid": member.record.grid,
                    "teams": list(member.record.teams),
                }
            items.append(item)
        return {"items": items, "next_cursor": str(end) if end < len(found) else None}

    @idempotent
    @requires("coordinator", "admin")
    @blp.arguments(NewAccount)
    @blp.response(201, AccountOut)
    def post(self, body):
        """Open a volunteer or beneficiary account; with ``username`` and ``password``,
        also create its user (role = kind). A taken username is ``409 conflict`` and
        then no account is opened."""
        auth, username = auth_of(), body.get("username")
        if username is not None and auth.get_user(username) is not None:
            raise ApiProblem(409, "conflict", f"the username {username} is taken")
        ledger = ledger_of()
        # With a username, the taken username is what stops a second account (a re-run
        # after a crash answers 409); without one, the key does.
        key = ledger_key() if username is None else None
        opened = (
            ledger.open_volunteer(body["display_name"], key=key)
            if body["kind"] == "volunteer"
            else ledger.open_beneficiary(body["display_name"], key=key)
        )
        if username is not None:
            add_owner(opened.id, username, body["password"], body["kind"])
        return opened


@blp.route("/accounts/<account_id>")
class AccountById(MethodView):
    @requires(*PEOPLE, *STAFF)
    @blp.response(200, AccountOut)
    def get(self, account_id):
        """An account's kind, name and balance (its owner, staff)."""
        check_can_see(account_id)
        found = ledger_of().get_account(account_id)  # NotFound unless it is an account
        with reading() as conn:
            row = queries.account(conn, found.id)
        return row or found  # the projection has it unless it lags (not inline)

    @requires("volunteer")
    @blp.arguments(LeaderboardChoice)
    @blp.response(200, LeaderboardChoiceOut)
    def patch(self, body, account_id):
        """A volunteer chooses whether their name may appear on the public leaderboard."""
        forbid_unless(owns(account_id), "only the account's owner makes this choice")
        view = ledger_of().set_leaderboard_opt_in(account_id, body["leaderboard_opt_in"])
        return {"id": view.id, "leaderboard_opt_in": view.leaderboard_opt_in}


@blp.route("/accounts/<account_id>/entries")
class AccountEntries(MethodView):
    @requires(*PEOPLE, *STAFF)
    @blp.arguments(EntriesQuery, location="query")
    @blp.response(200, EntriesPage)
    def get(self, query, account_id):
        """The account's bean movements, newest first, ``limit`` at a time; pass
        ``next_cursor`` back as ``cursor`` for older ones (null: there are no more)."""
        check_can_see(account_id)
        cursor = int(query["cursor"]) if "cursor" in query else None
        found = ledger_of().get_account(account_id)  # NotFound unless it is an account
        with reading() as conn:
            items, more = queries.entries(conn, found.id, query["limit"], cursor)
        return {"items": items, "next_cursor": None if more is None else str(more)}


@blp.route("/accounts/<account_id>/payment-code")
class PaymentCodes(MethodView):
    @idempotent
    @requires("volunteer")
    @blp.arguments(NoBody, required=False)
    @blp.response(201, PaymentCodeOut)
    def post(self, _body, account_id):
        """A fresh payment code for the volunteer to show at a till (valid 60 s, once)."""
        forbid_unless(owns(account_id), "only the account's owner shows its payment code")
        ledger = ledger_of()
        issued = ledger.issue_payment_code(account_id)
        owner = str(caller().account_id)
        short = issue_short_code(
            store_of(), ledger.digest, owner, issued.code, issued.expires_at, ledger.now()
        )
        return {
            "code": issued.code,
            "expires_at": issued.expires_at,
            "qr_svg": qr_svg(issued.code),
            "short_code": short,
        }


@blp.route("/accounts/<account_id>/card")
class Cards(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(NewCard)
    @blp.response(201, CardOut)
    def post(self, body, account_id):
        """Print a beneficiary's bean card (with an optional 4-digit PIN); a reissued card
        revokes the old one."""
        card = ledger_of().issue_card(account_id, actor(), pin=body["pin"], key=ledger_key())
        return {"card_code": card.card_code}


@blp.route("/accounts/<account_id>/card.pdf")
class CardPdf(MethodView):
    @requires("coordinator")
    @blp.response(200, FILE, content_type="application/pdf", description="the card on an A4 sheet")
    def get(self, account_id):
        """A beneficiary's current card, to print (again): its QR code and number on the
        front (no name), and on the back how to use it, where it works and the community's
        telephone. It is the same card, still valid; a lost card is replaced with
        ``POST /accounts/{id}/card``. 404 if the account has no card yet."""
        card, number = printed_card(account_id)
        return download(
            cards_pdf([card], card_back()), "application/pdf", f"goldbean-card-{number}.pdf"
        )


@blp.route("/cards.pdf")
class CardSheet(MethodView):
    @requires("coordinator")
    @blp.arguments(CardsQuery, location="query")
    @blp.response(
        200, FILE, content_type="application/pdf", description="the cards, 8 to an A4 page"
    )
    def get(self, query):
        """The current cards of several beneficiaries on A4 sheets to print and cut, 8 to a
        page (2 × 4, bank-card size), in the order given (an id given twice is printed
        once). 404 naming the first account that is not a beneficiary or has no card."""
        ids = list(dict.fromkeys(query["account_id"]))
        cards = [printed_card(account_id)[0] for account_id in ids]
        return download(cards_pdf(cards, card_back()), "application/pdf", "goldbean-cards.pdf")


@blp.route("/accounts/<account_id>/card/unlock")
class CardUnlock(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(NoBody, required=False)
    @blp.response(200, UnlockedCard)
    def post(self, _body, account_id):
        """Clear a card's lock-out after too many wrong PINs."""
        return {"id": ledger_of().unlock_card(account_id, actor()).id}


# --- file answers -------------------------------------------------------------------------


# --- who may see what --------------------------------------------------------------------


def owns(account_id: str) -> bool:
    """True if the caller is the person whose account this is."""
    mine = caller().account_id
    return mine is not None and canonical_id(mine) == canonical_id(account_id)


def check_can_see(account_id: str) -> None:
    """403 for a volunteer or beneficiary asking about someone else's account."""
    if caller().role in PEOPLE:
        forbid_unless(owns(account_id))
