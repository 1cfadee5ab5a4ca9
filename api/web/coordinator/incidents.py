"""The coordinator's pages: the incident queue and each incident's actions."""

from __future__ import annotations

from datetime import date, timedelta
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
    MAX_QUEUE_PAGES,
    QUEUE_PAGE,
    READERS,
    STATUS_NAMES,
    STATUSES,
    chosen_ids,
    current_rules,
    form_action,
    is_coordinator,
    kept_form,
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


#: the queue's status filter: what needs action (the default), one status, or everything
NEEDS_ACTION, EVERY_STATUS = "", "all"
ACTIONABLE = (SUBMITTED, VERIFIED)
#: how far back the "duplicate of" search looks, and how many it shows
SIMILAR_DAYS, SIMILAR_SHOWN = 60, 20
MAX_WORDS = 5
FIRST_YEAR, LAST_YEAR = 2000, 2999


def _words(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(raw.split()))[:MAX_WORDS]


def _day(raw: str) -> date | None:
    """A day of the filter (YYYY-MM-DD), or None for anything else or a day outside the
    years a report can have (the first and the last day of the calendar overflow)."""
    try:
        day = date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None
    return day if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR else None


def _queue_filter() -> tuple[dict[str, str], queries.IncidentFilter]:
    """The queue's filters from the query string, as the form shows them again and as the
    query reads them; what makes no sense is ignored."""
    args = request.args
    status = args.get("status", NEEDS_ACTION)
    if status not in (NEEDS_ACTION, EVERY_STATUS, *STATUSES):
        status = NEEDS_ACTION
    kind = args.get("kind", "")
    if kind not in INCIDENT_CATEGORY_NAMES:
        kind = ""
    urgency = args.get("urgent", "")
    if urgency not in ("", "1", "0"):
        urgency = ""
    since, until = _day(args.get("from", "")), _day(args.get("to", ""))
    words = " ".join(_words(args.get("q", "")[:200]))
    shown = {
        "status": status,
        "kind": kind,
        "urgent": urgency,
        "from": since.isoformat() if since else "",
        "to": until.isoformat() if until else "",
        "q": words,
    }
    calendar = ledger_of().calendar
    statuses = {NEEDS_ACTION: ACTIONABLE, EVERY_STATUS: None}.get(status, (status,))
    given = queries.IncidentFilter(
        statuses=statuses,
        category=kind or None,
        urgent=None if not urgency else urgency == "1",
        since=calendar.start_of_day(since) if since else None,
        until=calendar.start_of_day(until + timedelta(days=1)) if until else None,
        words=_words(words),
    )
    return shown, given


@bp.get("/staff/incidents")
@page(*READERS)
def incidents() -> Any:
    """The incident queue. It opens on what needs action: reports waiting for verification
    (urgent first, newest first), then verified ones not yet resolved; ``?status=``,
    ``kind``, ``urgent``, ``from``, ``to`` (local days) and ``q`` (words of the description
    or the location) filter it, ``page`` pages it."""
    shown, given = _queue_filter()
    number = request.args.get("page", "")
    at = int(number) if number.isdigit() and 0 < int(number) <= MAX_QUEUE_PAGES else 1
    with reading() as conn:
        rows, more = queries.incident_queue(conn, given, QUEUE_PAGE, (at - 1) * QUEUE_PAGE)
        count = queries.incident_queue_count(conn, given)
        names = queries.account_names(conn, [row["reporter_id"] for row in rows])

    def href(to: int) -> str:
        args = {key: value for key, value in shown.items() if value}
        if to > 1:
            args["page"] = str(to)
        return "/staff/incidents" + ("?" + urlencode(args) if args else "")

    return render_template(
        "web_coord_incidents.html",
        incidents=rows,
        count=count,
        first_href=href(1) if at > 1 else None,
        previous_href=href(at - 1) if at > 2 else None,
        next_href=href(at + 1) if more and at < MAX_QUEUE_PAGES else None,
        page_number=at,
        names=names,
        shown=shown,
        filtered=any(shown.values()),
        statuses=STATUSES,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
    )


def _similar(found: IncidentView) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The "duplicate of" search: recent incidents (``SIMILAR_DAYS``) whose description or
    location has the words ``dup_q`` and whose location has ``dup_place``; without words,
    the recent ones of the same kind."""
    words = " ".join(_words(request.args.get("dup_q", "")[:200]))
    place = " ".join(_words(request.args.get("dup_place", "")[:200]))
    ledger = ledger_of()
    given = queries.IncidentFilter(
        category=None if words or place else found.category,
        since=ledger.now() - timedelta(days=SIMILAR_DAYS),
        words=_words(words),
        place=_words(place),
        besides=found.id,
    )
    with reading() as conn:
        rows = queries.similar_incidents(conn, given, SIMILAR_SHOWN)
    return {"q": words, "place": place}, rows


@bp.get("/staff/incidents/<incident_id>")
@page(*READERS)
def incident(incident_id: str) -> Any:
    """One incident, and (for a coordinator) what can be done with it now."""
    found = ledger_of().get_incident(incident_id)
    people = [found.reporter_id, *found.handler_ids]
    volunteers: list[dict[str, Any]] = []
    search: dict[str, str] = {"q": "", "place": ""}
    originals: list[dict[str, Any]] = []
    if is_coordinator() and found.status == SUBMITTED:
        search, originals = _similar(found)
    with reading() as conn:
        names = queries.account_names(conn, people)
        if is_coordinator() and found.status in (SUBMITTED, VERIFIED):
            volunteers = queries.members(conn, "volunteer", None, MAX_CHOICES)
    chosen = set(found.handler_ids)
    volunteers.sort(key=lambda v: v["id"] not in chosen)  # the named ones first
    rules = current_rules()
    return render_template(
        "web_coord_incident.html",
        incident=found,
        grid=ledger_of().get_grid(found.grid_id) if found.grid_id else None,
        names=names,
        volunteers=volunteers,
        originals=originals,
        search=search,
        can_act=is_coordinator(),
        default_award=rules.incident_awards.get(found.category, 0),
        handler_award=rules.handler_award,
        max_award=rules.max_award,
        status_names=STATUS_NAMES,
        category_names=INCIDENT_CATEGORY_NAMES,
        kept=kept_form(),
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
        form=("verify-form", ("award",)),
    )


@bp.post("/staff/incidents/<incident_id>/reject")
@page(COORDINATOR)
def reject_incident(incident_id: str) -> Any:
    """Reject a submitted incident, with a ``reason``; nobody is awarded."""

    def command() -> IncidentView | None:
        reason = text("reason")
        if not reason:
            refuse(_("Give a reason."), "reason")
            return None
        return attempt(lambda: ledger_of().reject_incident(incident_id, actor(), reason))

    return form_action(
        _here(incident_id),
        command,
        lambda _done: _("Rejected."),
        form=("reject-form", ("reason",)),
    )


@bp.post("/staff/incidents/<incident_id>/duplicate")
@page(COORDINATOR)
def duplicate_incident(incident_id: str) -> Any:
    """Close a submitted incident as a duplicate ``of`` another one; nobody is awarded."""

    def command() -> IncidentView | None:
        original = request.form.get("of", "").strip()
        if not original:
            refuse(_("Choose the incident this one repeats."), "of")
            return None
        return attempt(lambda: ledger_of().mark_duplicate(incident_id, actor(), original))

    return form_action(
        _here(incident_id),
        command,
        lambda _done: _("Marked as a duplicate."),
        form=("duplicate-form", ("of",)),
    )


@bp.post("/staff/incidents/<incident_id>/handlers")
@page(COORDINATOR)
def incident_handlers(incident_id: str) -> Any:
    """Name the volunteers who handle the incident (``account_ids``, replacing the list)."""

    def command() -> IncidentView | None:
        chosen = chosen_ids()
        if not chosen:
            refuse(_("Choose at least one volunteer."), "account_ids")
            return None
        return attempt(lambda: ledger_of().assign_handlers(incident_id, actor(), chosen))

    return form_action(
        _here(incident_id),
        command,
        lambda done: ngettext(
            "%(num)d handler named.", "%(num)d handlers named.", len(done.handler_ids)
        ),
        form=("handlers-form", ("account_ids",)),
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
        _here(incident_id),
        command,
        lambda _done: _("Resolved. Each handler was awarded."),
        form=("resolve-form", ("award_per_handler",)),
    )
