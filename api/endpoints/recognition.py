"""Recognition (docs/LEDGER.md, "Recognition"): ``GET /api/v1/accounts/{id}/recognition``
(a volunteer's lifetime beans by kind, service hours and stars: the volunteer and
staff) and ``GET /api/v1/public/honours`` (the quarterly honours list, names of those
who chose to be named only)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.errors import ApiProblem
from api.recognition import QUARTER, honours, lifetime
from api.schemas import plain_text
from api.security import STAFF, caller, canonical_id, forbid_unless, requires

blp = Blueprint(
    "recognition", __name__, url_prefix="/api/v1", description="Recognition and honours"
)


class Lifetime(Schema):
    account_id = fields.String(required=True)
    incident_awards = fields.Integer(required=True, metadata={"description": "as reporter"})
    handling_awards = fields.Integer(required=True, metadata={"description": "as handler"})
    activity_awards = fields.Integer(required=True)
    earned = fields.Integer(required=True)
    corrected = fields.Integer(required=True)
    net = fields.Integer(required=True)
    minutes = fields.Integer(required=True)
    hours = fields.Integer(required=True)
    attendances = fields.Integer(required=True)
    stars = fields.Integer(required=True)
    next_star_hours = fields.Integer(required=True, allow_none=True)


class HonoursQuery(Schema):
    quarter = fields.String(
        validate=[validate.Regexp(QUARTER.pattern), plain_text],
        metadata={"description": "YYYY-Qn (default: the current quarter)"},
    )


class Honoured(Schema):
    rank = fields.Integer(required=True)
    display_name = fields.String(
        required=True, allow_none=True, metadata={"description": "null: not named by choice"}
    )
    beans_earned = fields.Integer(required=True)
    hours = fields.Integer(required=True)


class Honours(Schema):
    quarter = fields.String(required=True)
    quarters = fields.List(fields.String(), required=True)
    by_beans = fields.List(fields.Nested(Honoured), required=True)
    by_hours = fields.List(fields.Nested(Honoured), required=True)
    volunteers = fields.Integer(required=True)
    beans = fields.Integer(required=True)
    hours = fields.Integer(required=True)


@blp.route("/accounts/<account_id>/recognition")
class Recognition(MethodView):
    @requires("volunteer", *STAFF)
    @blp.response(200, Lifetime)
    def get(self, account_id):
        """A volunteer's lifetime beans earned by kind, service hours (confirmed
        attendance: each activity's duration) and star rating."""
        account_id = canonical_id(account_id)
        who = caller()
        forbid_unless(who.role in STAFF or who.account_id == account_id)
        account = ledger_of().get_account(account_id)  # 404 unless it is an account
        if account.kind != "volunteer":
            raise ApiProblem(404, "not_found", "only volunteers' accounts have recognition")
        return lifetime(account.id)


@blp.route("/public/honours")
class PublicHonours(MethodView):
    @blp.arguments(HonoursQuery, location="query")
    @blp.response(200, Honours)
    def get(self, query):
        """The quarterly honours list (季度评比): the ten volunteers with the most net
        beans earned and the ten with the most service hours; a volunteer is named only
        if they chose to be (others show ``display_name: null``); the quarter's totals
        count every volunteer."""
        return honours(query.get("quarter"), public=True)
