"""A team leader's and a grid head's pages (issue 18), phone first.

- ``GET /me/team`` (volunteer): for each team the volunteer leads, its activities, newest
  first, with who checked in; a form to confirm the attendance of the ticked volunteers
  (``POST /me/team/activities/<id>/confirm``; the leader's own attendance is never
  offered: someone else confirms it) and, while an activity runs, a form to check in a
  member without a phone by their number (``POST /me/team/activities/<id>/number``).
- ``GET /me/grid`` (volunteer, coordinator): the incidents of the grids the person heads,
  read-only (a coordinator acts on them on the staff pages).

The ledger decides: a leader of another team, or one confirming their own attendance,
is refused whatever the form says.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from api.context import ledger_of, reading
from api.teams import grid_queue
from api.web.member_help import INCIDENT_NAMES, STATUS_NAMES
from api.web.support import actor, attempt, back, page, when, who
from ledger.errors import NotFound
from projections import queries

bp = Blueprint("member_teams", __name__)

#: how many of a team's activities the page shows
RECENT = 20


@bp.get("/me/team")
@page("volunteer")
def my_team() -> Any:
    ledger = ledger_of()
    me = who().account_id
    teams = []
    people: list[str] = []
    for team in ledger.teams_led_by(me):
        activities = []
        for activity_id in team.activity_ids:
            try:
                activities.append(ledger.get_activity(activity_id))
            except NotFound:
                continue
        activities.sort(key=lambda a: (a.starts_at, a.id), reverse=True)
        activities = activities[:RECENT]
        people += [p for a in activities for p in a.checked_in]
        teams.append((team, activities))
    with reading() as conn:
        names = queries.account_names(conn, people)
    return render_template("web_me_team.html", teams=teams, names=names, me=me, now=ledger.now())


@bp.post("/me/team/activities/<activity_id>/confirm")
@page("volunteer")
def confirm(activity_id: str) -> Any:
    chosen = [a for a in dict.fromkeys(request.form.getlist("account_ids")) if a]
    if not chosen:
        flash(_("Tick at least one volunteer."), "error")
        return back("/me/team")
    done = attempt(
        lambda: ledger_of().confirm_attendance(activity_id, actor(), chosen, as_leader=True)
    )
    if done is not None:
        message = ngettext(
            "Attendance confirmed: %(num)d volunteer awarded.",
            "Attendance confirmed: %(num)d volunteers awarded.",
            done.awarded,
        )
        flash(message, "ok")
    return back("/me/team")


@bp.post("/me/team/activities/<activity_id>/number")
@page("volunteer")
def check_in_by_number(activity_id: str) -> Any:
    number = request.form.get("number", "")
    done = attempt(
        lambda: ledger_of().check_in_by_number(activity_id, number, actor(), as_leader=True)
    )
    if done is not None:
        with reading() as conn:
            name = queries.account_names(conn, [done.account_id]).get(done.account_id, "")
        if done.new:
            flash(_("%(name)s is checked in.", name=name), "ok")
        else:
            flash(_("%(name)s was already checked in.", name=name), "ok")
    return back("/me/team")


@bp.get("/me/grid")
@page("volunteer", "coordinator")
def my_grid() -> Any:
    person = who()
    grids = ledger_of().grids_headed_by(person.account_id)
    queues = []
    for grid in grids:
        items = grid_queue(reading, grid)
        for item in items:
            item["category_name"] = INCIDENT_NAMES.get(item["category"], item["category"])
            item["status_name"] = STATUS_NAMES.get(item["status"], item["status"])
            item["short"] = when(item["at"])
        queues.append((grid, items))
    return render_template(
        "web_me_grid.html", queues=queues, coordinator=person.role == "coordinator"
    )
