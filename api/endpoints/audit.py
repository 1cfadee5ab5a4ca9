"""The event log for auditors, page by page, with the audit chain value of each event
(SPEC §6, §8; docs/REPORTS.md says how the chain is computed).

Only events the ``audit`` projection has chained are listed, so every item has its
chain value; ``goldbean audit export`` writes the whole log at once for offline checks.
"""

from __future__ import annotations

import json

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of, reading
from api.security import requires
from projections import queries

blp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit", description="The event log for auditors"
)

MAX_POSITION = 2**63 - 1


class EventsQuery(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEvent(Schema):
    position = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    type = fields.String(required=True, metadata={"description": "the event's topic"})
    originator_id = fields.String(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(required=True, metadata={"description": "the stored state"})
    chain = fields.String(required=True)


class EventsPage(Schema):
    items = fields.List(fields.Nested(AuditEvent), required=True)
    next_after = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: no more for now"}
    )


@blp.route("/events")
class AuditEvents(MethodView):
    @requires("auditor")
    @blp.arguments(EventsQuery, location="query")
    @blp.response(200, EventsPage)
    def get(self, query):
        """Events after position ``after``, oldest first, at most ``limit``; pass
        ``next_after`` back as ``after`` for the next page."""
        with reading() as conn:
            chained = queries.position(conn, "audit")
            batch = ledger_of().recorder.select_notifications(
                start=query["after"],
                limit=query["limit"],
                stop=chained,
                inclusive_of_start=False,
            )
            chains = queries.chain_values(conn, [n.id for n in batch])
        items = []
        for n in batch:
            data = json.loads(n.state)
            stamp = data.get("timestamp")
            items.append(
                {
                    "position": n.id,
                    "at": stamp.get("_data_") if isinstance(stamp, dict) else str(stamp),
                    "type": n.topic,
                    "originator_id": str(n.originator_id),
                    "version": n.originator_version,
                    "data": data,
                    "chain": chains[n.id],
                }
            )
        more = len(batch) == query["limit"] and batch[-1].id < chained
        return {"items": items, "next_after": batch[-1].id if more else None}
