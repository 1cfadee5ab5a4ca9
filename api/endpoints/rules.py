"""The programme's rules on the record (issue 18): the rules in force, and changes that
one admin proposes and another approves, in force from a stated time (ledger/rulebook.py,
docs/LEDGER.md)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.idempotent import idempotent, ledger_key
from api.security import actor, requires
from ledger.rules import CHANGEABLE, Rules

blp = Blueprint(
    "rules",
    __name__,
    url_prefix="/api/v1",
    description="The programme's rules, and changes to them by two admins",
)

STATUSES = ("pending", "approved", "withdrawn")


class RulesOut(Schema):
    """The rules in force now. The first group can be changed on the record; the last
    ones are settings of the server."""

    incident_awards = fields.Dict(
        keys=fields.String(), values=fields.Integer(), required=True,
        metadata={"description": "beans to the reporter of a verified incident, by category"},
    )  # fmt: skip
    handler_award = fields.Integer(required=True)
    max_award = fields.Integer(required=True)
    daily_award_cap = fields.Integer(required=True)
    max_redemption = fields.Integer(required=True)
    beneficiary_categories = fields.List(fields.String(), required=True)
    beneficiary_daily_limit = fields.Integer(required=True)
    allotment_beans = fields.Integer(required=True)
    allotment_max = fields.Integer(required=True)
    refund_window_days = fields.Integer(required=True)
    default_rebate_bps = fields.Integer(required=True)
    community_name = fields.String(required=True, allow_none=True)
    community_hotline = fields.String(required=True, allow_none=True)
    foundation = fields.String(required=True, allow_none=True)
    # settings of the server, not changed on the record
    time_zone = fields.String(required=True)
    bean_value_fen = fields.Integer(required=True)
    correction_approval_above = fields.Integer(required=True)
    allotment_batch_approval_above = fields.Integer(required=True)


class RuleChangeOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    changes = fields.Dict(
        keys=fields.String(), required=True, attribute="values",
        metadata={"description": "each rule's new value"},
    )  # fmt: skip
    effective_at = fields.AwareDateTime(
        required=True, allow_none=True,
        metadata={"description": "the time asked for; null: when approved"},
    )  # fmt: skip
    proposed_by = fields.String(required=True)
    proposed_at = fields.AwareDateTime(required=True)
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = fields.AwareDateTime(required=True, allow_none=True)
    in_force_from = fields.AwareDateTime(
        required=True, allow_none=True,
        metadata={"description": "once approved: when it takes (or took) effect"},
    )  # fmt: skip


class RuleChangeList(Schema):
    items = fields.List(fields.Nested(RuleChangeOut), required=True)


class RuleChangeQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class RuleChangeRequest(Schema):
    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHANGEABLE)),
        required=True,
        validate=validate.Length(min=1, max=len(CHANGEABLE)),
        metadata={
            "description": "the rules to change and their new values: "
            + ", ".join(CHANGEABLE)
            + " (bounds in docs/API.md)"
        },
    )
    effective_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "when it takes effect (not in the past); default: when approved"},
    )


def rules_out(rules: Rules) -> dict[str, Any]:
    return rules.record() | {
        "time_zone": rules.time_zone,
        "bean_value_fen": rules.bean_value_fen,
        "correction_approval_above": rules.correction_approval_above,
        "allotment_batch_approval_above": rules.allotment_batch_approval_above,
    }


@blp.route("/rules")
class RulesInForce(MethodView):
    @blp.response(200, RulesOut)
    def get(self):
        """The programme's rules in force now (public: they are the programme's promise
        to residents and shops)."""
        return rules_out(ledger_of().rules)


@blp.route("/rules/changes")
class RuleChanges(MethodView):
    @requires("admin", "auditor")
    @blp.arguments(RuleChangeQuery, location="query")
    @blp.response(200, RuleChangeList)
    def get(self, query):
        """Every proposed rule change, the latest first (``?status=`` for one status)."""
        changes = ledger_of().rule_changes()
        status = query["status"]
        return {"items": [c for c in changes if status is None or c.status == status]}

    @idempotent
    @requires("admin")
    @blp.arguments(RuleChangeRequest)
    @blp.response(201, RuleChangeOut)
    def post(self, body):
        """Propose a change, which another admin approves
        (``POST /rules/changes/{id}/approve``).

        Refusals: validation_error (422: an unknown rule, a value out of bounds, rules
        that would not hold together, a time in the past or more than a year ahead),
        invalid_state (409: 20 changes already wait), idempotency_key_reused.
        """
        return ledger_of().propose_rule_change(
            body["changes"], actor(), effective_at=body["effective_at"], key=ledger_key()
        )


@blp.route("/rules/changes/<change_id>/approve")
class RuleChangeApproval(MethodView):
    @idempotent
    @requires("admin")
    @blp.response(200, RuleChangeOut)
    def post(self, change_id):
        """Approve another admin's proposal: it takes effect at its stated time, or now if
        that has passed (``in_force_from``).

        four_eyes_required (403) for the admin who proposed it; invalid_state (409) once
        it is approved or withdrawn; validation_error (422) when the rules would no
        longer hold together; not_found.
        """
        return ledger_of().approve_rule_change(change_id, actor())


@blp.route("/rules/changes/<change_id>/withdraw")
class RuleChangeWithdrawal(MethodView):
    @idempotent
    @requires("admin")
    @blp.response(200, RuleChangeOut)
    def post(self, change_id):
        """Withdraw a change waiting for approval (any admin; nothing changed).

        invalid_state (409) once it is approved or withdrawn; not_found.
        """
        return ledger_of().withdraw_rule_change(change_id, actor())
