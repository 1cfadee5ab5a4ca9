"""The coordinator's pages: activities: creating one, its attendance, its check-in code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, g, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from api.context import ledger_of, reading
from api.web.coordinator.shared import (
    COORDINATOR,
    READERS,
    current_rules,
    form_action,
    is_coordinator,
    kept_form,
    refuse,
    text,
    whole_number,
)
from api.web.support import (
    actor,
    attempt,
    back,
    page,
)
from ledger.errors import NotFound
from ledger.views import ActivityView
from merchant_pos.qr import qr_svg
from projections import queries

bp = Blueprint("coord_activities", __name__)

#: the longest title the form takes
MAX_TITLE = 200

# --- activities ---------------------------------------------------------------------------


@bp.get("/staff/activities")
@page(*READERS)
def activities() -> Any:
    """Every activity, latest first, and (coordinator) a form to create one."""
    ledger = ledger_of()
    with reading() as conn:
        ids = queries.activity_ids(conn)
    found = []
    for activity_id in ids:
        try:
            found.append(ledger.get_activity(activity_id))
        except NotFound:  # the read model knows an id the ledger does not: skip it
            continue
    found.sort(key=lambda a: (a.starts_at, a.id), reverse=True)
    return render_template(
        "web_coord_activities.html",
        activities=found,
        can_act=is_coordinator(),
        max_award=current_rules().max_award,
        now=ledger.now(),
        kept=kept_form(),
        max_title=MAX_TITLE,
        teams=ledger.list_teams(),
    )


def _local_moment(name: str) -> datetime | None:
    """A ``datetime-local`` field as an aware moment in the programme's time zone."""
    raw = request.form.get(name, "").strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ledger_of().calendar.zone)
    return moment


@bp.post("/staff/activities")
@page(COORDINATOR)
def create_activity() -> Any:
    """Create an activity (``title``, ``starts_at``, ``ends_at``, ``beans``)."""
    here = "/staff/activities"

    def command() -> ActivityView | None:
        title = text("title")
        starts_at, ends_at = _local_moment("starts_at"), _local_moment("ends_at")
        if not title:
            refuse(_("Give the activity a title."), "title")
        elif len(title) > MAX_TITLE:
            refuse(_("A title has at most %(num)d characters.", num=MAX_TITLE), "title")
        if starts_at is None:
            refuse(_("Enter when the activity starts."), "starts_at")
        if ends_at is None:
            refuse(_("Enter when the activity ends."), "ends_at")
        elif starts_at is not None and ends_at <= starts_at:
            refuse(_("The activity must end after it starts."), "ends_at")
        beans = whole_number("beans", minimum=0, maximum=current_rules().max_award)
        team_id = text("team_id") or None
        if g.get("field_errors") or starts_at is None or ends_at is None or beans is None:
            return None
        return attempt(
            lambda: ledger_of().create_activity(
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                beans=beans,
                by=actor(),
                team_id=team_id,
            )
        )

    return form_action(
        here,
        command,
        lambda _created: _("Activity created."),
        lambda created: f"/staff/activities/{created.id}",
        form=("activity-form", ("title", "starts_at", "ends_at", "beans", "team_id")),
    )


@bp.get("/staff/activities/<activity_id>")
@page(*READERS)
def activity(activity_id: str) -> Any:
    """An activity: who checked in, whose attendance is confirmed."""
    ledger = ledger_of()
    found = ledger.get_activity(activity_id)
    with reading() as conn:
        names = queries.account_names(conn, found.checked_in)
    now = ledger.now()
    return render_template(
        "web_coord_activity.html",
        activity=found,
        team=ledger.get_team(found.team_id) if found.team_id else None,
        names=names,
        can_act=is_coordinator(),
        running=found.starts_at <= now < found.ends_at,
        started=found.starts_at <= now,
    )


@bp.post("/staff/activities/<activity_id>/confirm")
@page(COORDINATOR)
def confirm_attendance(activity_id: str) -> Any:
    """Confirm the attendance of the ticked volunteers (``account_ids``): each is awarded
    the activity's beans once."""
    here = f"/staff/activities/{activity_id}"
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a]
    if not chosen:
        flash(_("Tick at least one volunteer."), "error")
        return back(here)
    done = attempt(lambda: ledger_of().confirm_attendance(activity_id, actor(), chosen))
    if done is None:
        return back(here)
    message = ngettext(
        "Attendance confirmed: %(num)d volunteer awarded.",
        "Attendance confirmed: %(num)d volunteers awarded.",
        done.awarded,
    )
    flash(message, "ok")
    return back(here)


@bp.post("/staff/activities/<activity_id>/checkin-number")
@page(COORDINATOR)
def checkin_by_number(activity_id: str) -> Any:
    """Check in a member without a phone by their number (``number``): a manual
    check-in by this coordinator."""
    here = f"/staff/activities/{activity_id}"
    done = attempt(
        lambda: ledger_of().check_in_by_number(activity_id, request.form.get("number", ""), actor())
    )
    if done is not None:
        flash(checkin_message(done), "ok")
    return back(here)


def checkin_message(done: Any) -> str:
    """What a manual check-in says: who, and whether they were already in."""
    with reading() as conn:
        name = queries.account_names(conn, [done.account_id]).get(done.account_id, "")
    if done.new:
        return _("%(name)s is checked in.", name=name)
    return _("%(name)s was already checked in.", name=name)


@bp.get("/staff/activities/<activity_id>/checkin")
@page(COORDINATOR)
def activity_checkin(activity_id: str) -> Any:
    """The activity's check-in QR code, full screen, for volunteers to scan. The code is
    fixed for the activity (ledger/codes.py) and works while it runs."""
    ledger = ledger_of()
    found = ledger.get_activity(activity_id)
    code = found.checkin_code
    grouped = " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    now = ledger.now()
    return render_template(
        "web_coord_checkin.html",
        activity=found,
        svg=Markup(qr_svg(code)),  # noqa: S704 - our own SVG of a digits-only code
        grouped=grouped,
        running=found.starts_at <= now < found.ends_at,
        upcoming=now < found.starts_at,
    )
