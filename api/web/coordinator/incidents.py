"""The coordinator's pages: the incident queue and each incident's actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from api.context import ledger_of, reading
from api.web.common import INCIDENT_CATEGORY_NAMES
from api.web.coordinator.shared import (
    COORDINATOR,
    MAX_CHOICES,
    MAX_ORIGINALS,
    QUEUE_MARK,
    QUEUE_PAGE,
    READERS,
    STATUS_NAMES,
    STATUSES,
    chosen_ids,
    current_rules,
    form_action,
    is_coordinator,
    optional_beans,
    refuse,
    text,
)
from api.web.support import (
    actor,
    attempt,
    page,
)
from ledger.incidents import SUBMITTED, VERIFIED
from ledger.views import IncidentView
from projections import queries

bp = Blueprint("coord_incidents", __name__)

# --- incidents ----------------------------------------------------------------------------


@bp.get("/staff/incidents")
@page(*READERS)
def incidents() -> Any:
    """The incident queue: urgent first, then oldest first; ``?status=`` filters."""
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    after = None
    mark = QUEUE_MARK.match(request.args.get("after", ""))
    if mark:
        after = (mark["urgent"] == "1", int(mark["position"]))
    with reading() as conn:
        rows, more = queries.incidents(conn, status, QUEUE_PAGE, after)
        count = queries.incident_count(conn, status)
        names = queries.account_names(conn, [row["reporter_id"] for row in rows])

    def href(mark: queries.IncidentMark | None) -> str:
        args = {"status": status or ""}
        if mark is not None:
            args["after"] = f"{int(mark[0])}-{mark[1]}"
        return "/staff/incidents?" + urlencode(args)

    return render_template(
        "web_coord_incidents.html",
        incidents=rows,
        count=count,
        first_href=href(None) if after else None,
        next_href=href(more) if more else None,
        names=names,
        status=status,
        statuses=STATUSES,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
    )


@bp.get("/staff/incidents/<incident_id>")
@page(*READERS)
def incident(incident_id: str) -> Any:
    """One incident, and (for a coordinator) what can be done with it now."""
    found = ledger_of().get_incident(incident_id)
    people = [found.reporter_id, *found.handler_ids]
    volunteers, originals = [], []
    with reading() as conn:
        names = queries.account_names(conn, people)
        if is_coordinator() and found.status in (SUBMITTED, VERIFIED):
            volunteers = queries.members(conn, "volunteer", None, MAX_CHOICES)
        if is_coordinator() and found.status == SUBMITTED:
            originals = queries.recent_incidents(conn, MAX_ORIGINALS, found.id)
    rules = current_rules()
    return render_template(
        "web_coord_incident.html",
        incident=found,
        names=names,
        volunteers=volunteers,
        originals=originals,
        can_act=is_coordinator(),
        default_award=rules.incident_awards.get(found.category, 0),
        handler_award=rules.handler_award,
        max_award=rules.max_award,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
    )


def _here(incident_id: str) -> str:
    return f"/staff/incidents/{incident_id}"


@bp.post("/staff/incidents/<incident_id>/verify")
@page(COORDINATOR)
def verify_incident(incident_id: str) -> Any:
    """Verify a submitted incident; its reporter is awarded (``award``, or the default)."""

    def command() -> IncidentView | None:
        ok, award = optional_beans("award", current_rules().max_award)
        if not ok:
            return None
        return attempt(lambda: ledger_of().verify_incident(incident_id, actor(), award=award))

    return form_action(
        _here(incident_id),
        command,
        lambda done: ngettext(
            "Verified. The reporter was awarded %(num)d bean.",
            "Verified. The reporter was awarded %(num)d beans.",
            done.award or 0,
        ),
    )


@bp.post("/staff/incidents/<incident_id>/reject")
@page(COORDINATOR)
def reject_incident(incident_id: str) -> Any:
    """Reject a submitted incident, with a ``reason``; nobody is awarded."""

    def command() -> IncidentView | None:
        reason = text("reason")
        if not reason:
            refuse(_("Give a reason."))
            return None
        return attempt(lambda: ledger_of().reject_incident(incident_id, actor(), reason))

    return form_action(_here(incident_id), command, lambda _done: _("Rejected."))


@bp.post("/staff/incidents/<incident_id>/duplicate")
@page(COORDINATOR)
def duplicate_incident(incident_id: str) -> Any:
    """Close a submitted incident as a duplicate ``of`` another one; nobody is awarded."""

    def command() -> IncidentView | None:
        original = request.form.get("of", "").strip()
        if not original:
            refuse(_("Choose the incident this one repeats."))
            return None
        return attempt(lambda: ledger_of().mark_duplicate(incident_id, actor(), original))

    return form_action(_here(incident_id), command, lambda _done: _("Marked as a duplicate."))


@bp.post("/staff/incidents/<incident_id>/handlers")
@page(COORDINATOR)
def incident_handlers(incident_id: str) -> Any:
    """Name the volunteers who handle the incident (``account_ids``, replacing the list)."""

    def command() -> IncidentView | None:
        chosen = chosen_ids()
        if not chosen:
            refuse(_("Choose at least one volunteer."))
            return None
        return attempt(lambda: ledger_of().assign_handlers(incident_id, actor(), chosen))

    return form_action(
        _here(incident_id),
        command,
        lambda done: ngettext(
            "%(num)d handler named.", "%(num)d handlers named.", len(done.handler_ids)
        ),
    )


@bp.post("/staff/incidents/<incident_id>/resolve")
@page(COORDINATOR)
def resolve_incident(incident_id: str) -> Any:
    """Resolve a verified incident; each handler is awarded (``award_per_handler``)."""

    def command() -> IncidentView | None:
        ok, award = optional_beans("award_per_handler", current_rules().max_award)
        if not ok:
            return None
        return attempt(
            lambda: ledger_of().resolve_incident(incident_id, actor(), award_per_handler=award)
        )

    return form_action(
        _here(incident_id), command, lambda _done: _("Resolved. Each handler was awarded.")
    )
