"""A person's notices (the inbox): ``GET /api/v1/me/notifications``, ``POST
/api/v1/me/notifications/{id}/read`` and ``POST /api/v1/me/notifications/read``
(all of them). docs/API.md, "Notices", lists the kinds and their data.

Volunteers and beneficiaries read their account's notices, a shop owner their shop's; a
till's token has no inbox (403). Nobody reads or marks another's notices: an id that is
not the caller's is ``404 not_found``, whether it exists or not.
"""

from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.errors import ApiProblem
from api.notices import INBOX_ROLES, inbox, mark_all_read, mark_read, recipient_of
from api.schemas import NoBody, page_cursor
from api.security import caller, canonical_id, requires

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1", description="A person's notices (inbox)"
)


class InboxQuery(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "unread ones only"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = page_cursor(r"^[1-9][0-9]{0,17}$")


class Notice(Schema):
    id = fields.String(required=True)
    at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "description": "report_verified, report_rejected, report_duplicate, "
            "report_resolved, handler_assigned, handling_resolved or line_paid"
        },
    )
    subject_id = fields.String(
        required=True, metadata={"description": "the incident, or the settlement"}
    )
    data = fields.Dict(required=True, metadata={"description": "what the kind tells"})
    read = fields.Boolean(required=True)


class Inbox(Schema):
    items = fields.List(fields.Nested(Notice), required=True)
    unread = fields.Integer(required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class MarkedRead(Schema):
    id = fields.String(required=True)
    read = fields.Boolean(required=True)
    unread = fields.Integer(required=True)


class AllRead(Schema):
    marked = fields.Integer(required=True)
    unread = fields.Integer(required=True)


def is_uuid(text: str) -> bool:
    try:
        return str(UUID(text)) == text
    except ValueError:
        return False


def my_inbox() -> str:
    """The caller's recipient id; 403 for a till or a user without an account."""
    who = caller()
    recipient = recipient_of(who.role, who.account_id, who.merchant_id, bool(who.terminal_id))
    if recipient is None:
        raise ApiProblem(403, "forbidden", "this user has no inbox (a till's token has none)")
    return recipient


@blp.route("/me/notifications")
class Notifications(MethodView):
    @requires(*INBOX_ROLES)
    @blp.arguments(InboxQuery, location="query")
    @blp.response(200, Inbox)
    def get(self, query):
        """The caller's notices, newest first, ``limit`` at a time (``unread=true``: the
        unread ones only), and how many are unread; pass ``next_cursor`` back as
        ``cursor`` for older ones (null: there are no more)."""
        cursor = int(query["cursor"]) if "cursor" in query else None
        found = inbox(my_inbox(), query["limit"], cursor, query["unread"])
        more = found["next_before"]
        return {
            "items": found["items"],
            "unread": found["unread"],
            "next_cursor": None if more is None else str(more),
        }


@blp.route("/me/notifications/<notification_id>/read")
class NotificationRead(MethodView):
    @requires(*INBOX_ROLES)
    @blp.arguments(NoBody)
    @blp.response(200, MarkedRead)
    def post(self, _body, notification_id):
        """Mark one of the caller's notices read (again: the same answer). 404 when the
        caller has no notice of that id."""
        notice = canonical_id(notification_id)
        recipient = my_inbox()
        unread = mark_read(recipient, notice) if is_uuid(notice) else None
        if unread is None:
            raise ApiProblem(404, "not_found", "you have no notice of this id")
        return {"id": notice, "read": True, "unread": unread}


@blp.route("/me/notifications/read")
class NotificationsRead(MethodView):
    @requires(*INBOX_ROLES)
    @blp.arguments(NoBody)
    @blp.response(200, AllRead)
    def post(self, _body):
        """Mark every notice of the caller read."""
        marked = mark_all_read(my_inbox())
        return {"marked": marked, "unread": 0}
