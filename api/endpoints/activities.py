"""Volunteer activities (SPEC §4, §6: activities): a coordinator creates one, volunteers
check in with its code while it runs, and the coordinator confirms the attendance, which
awards each attendee once. The coordinator shows the check-in code as a QR image
(``code.svg``, ``code.png``) while the activity runs.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of
from api.files import code_image
from api.idempotent import idempotent, ledger_key
from api.schemas import FILE
from api.security import actor, caller, limited_code_attempts, requires

blp = Blueprint(
    "activities", __name__, url_prefix="/api/v1", description="Volunteer activities and check-ins"
)


class NewActivity(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "with a time zone"})
    ends_at = fields.AwareDateTime(required=True, metadata={"description": "after starts_at"})
    beans = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "awarded per confirmed attendance (at most the maximum award)"},
    )
    team_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "the team whose activity it is (its leaders confirm it)"},
    )


class ActivityCreated(Schema):
    id = fields.String(required=True)
    checkin_code = fields.String(required=True)


class ActivityOut(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    beans = fields.Integer(required=True)
    checked_in = fields.List(fields.String(), required=True)
    confirmed = fields.List(fields.String(), required=True)
    team_id = fields.String(allow_none=True)


class CheckinRequest(Schema):
    checkin_code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CheckinOut(Schema):
    activity_id = fields.String(required=True)
    account_id = fields.String(required=True)


class ManualCheckinRequest(Schema):
    number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the member's 8-digit account number, or a card's number"},
    )


class ManualCheckinOut(Schema):
    activity_id = fields.String(required=True)
    account_id = fields.String(required=True)
    new = fields.Boolean(required=True, metadata={"description": "false: already checked in"})


class TeamAssignment(Schema):
    team_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=64))


class TeamAssigned(Schema):
    id = fields.String(required=True)
    team_id = fields.String(required=True, allow_none=True)


class AttendanceConfirm(Schema):
    account_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10_000),
        metadata={"description": "who attended; everyone checked in when absent"},
    )


class AttendanceConfirmed(Schema):
    id = fields.String(required=True)
    awarded = fields.Integer(required=True)


@blp.route("/activities")
class Activities(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(NewActivity)
    @blp.response(201, ActivityCreated)
    def post(self, body):
        """Create an activity; its check-in code works from starts_at to ends_at."""
        return ledger_of().create_activity(by=actor(), key=ledger_key(), **body)


@blp.route("/activities/<activity_id>")
class ActivityDetail(MethodView):
    @requires("coordinator", "auditor")
    @blp.response(200, ActivityOut)
    def get(self, activity_id):
        """An activity with who checked in and whose attendance is confirmed."""
        return ledger_of().get_activity(activity_id)


@blp.route("/activities/<activity_id>/code.svg")
class CheckinCodeSvg(MethodView):
    @requires("coordinator")
    @blp.response(
        200, FILE, content_type="image/svg+xml", description="the check-in QR code as an SVG image"
    )
    def get(self, activity_id):
        """The activity's check-in QR code, for the coordinator to show while it runs
        (volunteers scan it to check in), as SVG; its ``<title>`` is the code's digits."""
        return code_image(ledger_of().get_activity(activity_id).checkin_code, "svg")


@blp.route("/activities/<activity_id>/code.png")
class CheckinCodePng(MethodView):
    @requires("coordinator")
    @blp.response(
        200, FILE, content_type="image/png", description="the check-in QR code as a PNG image"
    )
    def get(self, activity_id):
        """The activity's check-in QR code as a PNG image (10 pixels a module)."""
        return code_image(ledger_of().get_activity(activity_id).checkin_code, "png")


@blp.route("/activities/<activity_id>/checkins")
class Checkins(MethodView):
    @idempotent
    @requires("volunteer")
    @blp.arguments(CheckinRequest)
    @blp.response(201, CheckinOut)
    def post(self, body, activity_id):
        """Check the caller in with the code shown at the activity, while it runs
        (422 invalid_code, 422 code_expired outside its times); checking in twice is
        harmless."""
        with limited_code_attempts(caller()):
            return ledger_of().check_in(activity_id, caller().account_id, body["checkin_code"])


@blp.route("/activities/<activity_id>/confirm")
class ConfirmAttendance(MethodView):
    @idempotent
    @requires("coordinator", "volunteer")
    @blp.arguments(AttendanceConfirm)
    @blp.response(200, AttendanceConfirmed)
    def post(self, body, activity_id):
        """Confirm the attendance (the given account_ids, all checked in, or everyone
        checked in) and award each attendee once; awarded counts those newly awarded.
        Refused whole with 422 award_cap_exceeded if anyone would pass the daily cap.
        A volunteer confirms as a leader of the activity's team only (403 forbidden
        otherwise) and never their own attendance (403 self_verification)."""
        return ledger_of().confirm_attendance(
            activity_id,
            actor(),
            body["account_ids"],
            as_leader=caller().role == "volunteer",
        )


@blp.route("/activities/<activity_id>/manual-checkins")
class ManualCheckins(MethodView):
    @idempotent
    @requires("coordinator", "volunteer")
    @blp.arguments(ManualCheckinRequest)
    @blp.response(201, ManualCheckinOut)
    def post(self, body, activity_id):
        """Check a member without a phone in by their number, while the activity runs,
        recorded as a manual check-in by the caller: a coordinator, or a leader of the
        activity's team (a volunteer who leads no team of it: 403 forbidden; their own
        number: 403 self_verification). Once per activity; a resident's card is 422."""
        with limited_code_attempts(caller()):
            return ledger_of().check_in_by_number(
                activity_id, body["number"], actor(), as_leader=caller().role == "volunteer"
            )


@blp.route("/activities/<activity_id>/team")
class ActivityTeam(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(TeamAssignment)
    @blp.response(200, TeamAssigned)
    def post(self, body, activity_id):
        """Make the activity a team's (``team_id`` null: no team's)."""
        team = ledger_of().assign_activity(activity_id, body["team_id"], actor())
        return {"id": activity_id, "team_id": team}
