"""Incidents reported by volunteers and handled by coordinators (SPEC §4, §6: incidents).

A volunteer reports; a coordinator verifies (the reporter is awarded), rejects or marks it
a duplicate, names the handlers and resolves it (each handler is awarded). The ledger
owns every rule (states, four eyes, the award cap); these views only turn JSON into plain
values and back.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of, reading
from api.idempotent import idempotent, ledger_key
from api.schemas import page_cursor, page_limit
from api.security import actor, caller, requires
from ledger.incidents import DUPLICATE, REJECTED, RESOLVED, SUBMITTED, VERIFIED
from ledger.rules import INCIDENT_CATEGORIES
from projections import queries

blp = Blueprint(
    "incidents", __name__, url_prefix="/api/v1", description="Incidents reported by volunteers"
)

STATUSES = (SUBMITTED, VERIFIED, REJECTED, DUPLICATE, RESOLVED)
_AWARD = "beans; the programme's default when absent (at most the programme's maximum award)"


class NewIncident(Schema):
    category = fields.String(required=True, validate=validate.OneOf(INCIDENT_CATEGORIES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    urgent = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    grid_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "the grid (网格) it is in; the reporter's own when absent"},
    )


class IncidentCreated(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    category = fields.String(required=True)
    reporter_id = fields.String(required=True)


class IncidentQuery(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = page_limit()
    cursor = page_cursor(r"^[01]-[1-9][0-9]{0,17}$")


class IncidentItem(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.String(allow_none=True)
    urgent = fields.Boolean(required=True)
    reporter_id = fields.String(required=True)
    handler_ids = fields.List(fields.String(), required=True)
    award = fields.Integer(allow_none=True)
    at = fields.DateTime(required=True)


class IncidentList(Schema):
    items = fields.List(fields.Nested(IncidentItem), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class IncidentVerify(Schema):
    award = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(min=0),
        metadata={"description": _AWARD},
    )


class IncidentVerified(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    award = fields.Integer(required=True)


class IncidentReject(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class IncidentDuplicate(Schema):
    of = fields.String(required=True, validate=validate.Length(min=1, max=64))


class IncidentHandlers(Schema):
    account_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )


class IncidentHandlersOut(Schema):
    id = fields.String(required=True)
    handler_ids = fields.List(fields.String(), required=True)


class IncidentResolve(Schema):
    award_per_handler = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(min=0),
        metadata={"description": _AWARD},
    )
    no_award = fields.Boolean(
        load_default=False,
        metadata={"description": "resolve awarding nobody (needed when it has no handlers)"},
    )


class IncidentResolved(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    handler_ids = fields.List(fields.String(), required=True)
    award_per_handler = fields.Integer(
        required=True, metadata={"description": "beans each handler was awarded (0: none)"}
    )
    awarded = fields.Integer(
        required=True, metadata={"description": "beans awarded in all by this resolution"}
    )


class IncidentStatus(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)


@blp.route("/incidents")
class Incidents(MethodView):
    @idempotent
    @requires("volunteer")
    @blp.arguments(NewIncident)
    @blp.response(201, IncidentCreated)
    def post(self, body):
        """Report an incident; the caller's account is the reporter."""
        return ledger_of().submit_incident(caller().account_id, key=ledger_key(), **body)

    @requires("coordinator", "auditor")
    @blp.arguments(IncidentQuery, location="query")
    @blp.response(200, IncidentList)
    def get(self, query):
        """List incidents, optionally of one status: urgent ones first, then oldest first.
        All of them, or ``limit`` at a time: pass ``next_cursor`` back as ``cursor`` for
        the next page (null: there are no more)."""
        after = None
        if "cursor" in query:
            urgent, position = query["cursor"].split("-")
            after = (urgent == "1", int(position))
        with reading() as conn:
            items, mark = queries.incidents(conn, query.get("status"), query.get("limit"), after)
        cursor = None if mark is None else f"{int(mark[0])}-{mark[1]}"
        return {"items": items, "next_cursor": cursor}


@blp.route("/incidents/<incident_id>/verify")
class VerifyIncident(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentVerify)
    @blp.response(200, IncidentVerified)
    def post(self, body, incident_id):
        """Verify a submitted incident and award its reporter (403 self_verification for
        the coordinator's own report, 422 award_cap_exceeded, 409 invalid_state)."""
        return ledger_of().verify_incident(incident_id, actor(), award=body["award"])


@blp.route("/incidents/<incident_id>/reject")
class RejectIncident(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentReject)
    @blp.response(200, IncidentStatus)
    def post(self, body, incident_id):
        """Reject a submitted incident, giving the reason; nobody is awarded."""
        return ledger_of().reject_incident(incident_id, actor(), body["reason"])


@blp.route("/incidents/<incident_id>/duplicate")
class MarkDuplicate(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentDuplicate)
    @blp.response(200, IncidentStatus)
    def post(self, body, incident_id):
        """Close a submitted incident as a duplicate of another; nobody is awarded."""
        return ledger_of().mark_duplicate(incident_id, actor(), body["of"])


@blp.route("/incidents/<incident_id>/handlers")
class AssignHandlers(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentHandlers)
    @blp.response(200, IncidentHandlersOut)
    def post(self, body, incident_id):
        """Name the volunteers who handle a submitted or verified incident (replaces the
        previous list); they are awarded when it is resolved."""
        return ledger_of().assign_handlers(incident_id, actor(), body["account_ids"])


@blp.route("/incidents/<incident_id>/resolve")
class ResolveIncident(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentResolve)
    @blp.response(200, IncidentResolved)
    def post(self, body, incident_id):
        """Resolve a verified incident and award each handler; the answer says who was
        awarded how much (403 self_verification for a coordinator who reported or
        handled it, 422 award_cap_exceeded naming the handlers, 422 no_handlers when it
        has none and ``no_award`` is not true, 409 invalid_state)."""
        resolved = ledger_of().resolve_incident(
            incident_id,
            actor(),
            award_per_handler=body["award_per_handler"],
            no_award=body["no_award"],
        )
        per_handler = resolved.award_per_handler or 0
        return {
            "id": resolved.id,
            "status": resolved.status,
            "handler_ids": resolved.handler_ids,
            "award_per_handler": per_handler,
            "awarded": per_handler * len(resolved.handler_ids),
        }


class IncidentGrid(Schema):
    grid_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=64))


class IncidentGridOut(Schema):
    id = fields.String(required=True)
    grid_id = fields.String(required=True, allow_none=True)


@blp.route("/incidents/<incident_id>/grid")
class PlaceIncident(MethodView):
    @idempotent
    @requires("coordinator")
    @blp.arguments(IncidentGrid)
    @blp.response(200, IncidentGridOut)
    def post(self, body, incident_id):
        """Move the incident to another grid (``grid_id`` null: to none); its heads see it."""
        grid = ledger_of().place_incident(incident_id, body["grid_id"], actor())
        return {"id": incident_id, "grid_id": grid}
