"""An in-process index of how the community is organised (issue 18), following the log
as ledger/index.py does: the teams and grids, their leaders and heads, which team each
activity belongs to and which grid each incident is in.

Commands never decide on it (they load the Team, Grid, Activity or Incident aggregate);
it answers the lists: a leader's teams, a head's grids, a team's activities, a grid's
incidents. It reads only these events, from where it last stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from ledger.activities import Activity
from ledger.incidents import Incident
from ledger.teams import Grid, Team

if TYPE_CHECKING:
    from eventsourcing.application import Application

_BATCH = 5000


@dataclass
class Unit:
    """A team or a grid as the index knows it."""

    id: str
    name: str
    kind: str  # "team" or "grid"
    leaders: list[str] = field(default_factory=list)  # a team's leaders, a grid's heads
    public: bool = False
    items: dict[str, None] = field(default_factory=dict)  # activity or incident ids


class OrganisationIndex:
    def __init__(self, app: Application) -> None:
        self._app = app
        self._lock = Lock()
        self._position = 0
        self._units: dict[str, Unit] = {}
        self._placed: dict[str, str] = {}  # activity or incident id -> team or grid id
        self._topics = sorted(
            get_topic(cls)
            for cls in (
                Team.Created,
                Team.LeaderAppointed,
                Team.LeaderRemoved,
                Team.PublicChoiceMade,
                Grid.Created,
                Grid.HeadAppointed,
                Grid.HeadRemoved,
                Activity.AssignedToTeam,
                Incident.PlacedInGrid,
            )
        )

    def units(self, kind: str) -> list[Unit]:
        """The teams or grids, by name (copies)."""
        with self._lock:
            self._catch_up()
            found = [u for u in self._units.values() if u.kind == kind]
        return sorted((_copy(u) for u in found), key=lambda u: u.name)

    def unit(self, unit_id: str) -> Unit | None:
        with self._lock:
            self._catch_up()
            found = self._units.get(unit_id)
            return _copy(found) if found else None

    def placed_in(self, item_id: str) -> str | None:
        """The team of an activity, or the grid of an incident (None: none)."""
        with self._lock:
            self._catch_up()
            return self._placed.get(item_id)

    def _catch_up(self) -> None:
        recorder, mapper = self._app.recorder, self._app.mapper
        head = recorder.max_notification_id() or 0
        while True:
            batch = recorder.select_notifications(
                start=self._position,
                limit=_BATCH,
                stop=head,
                topics=self._topics,
                inclusive_of_start=False,
            )
            for notification in batch:
                self._apply(mapper.to_domain_event(notification))
                self._position = notification.id
            if len(batch) < _BATCH:
                self._position = max(self._position, head)
                return

    def _apply(self, event: Any) -> None:
        subject = str(event.originator_id)
        if isinstance(event, Team.Created | Grid.Created):
            kind = "team" if isinstance(event, Team.Created) else "grid"
            self._units[subject] = Unit(subject, event.name, kind)
        elif isinstance(event, Team.LeaderAppointed | Grid.HeadAppointed):
            self._units[subject].leaders.append(event.account_id)
        elif isinstance(event, Team.LeaderRemoved | Grid.HeadRemoved):
            self._units[subject].leaders.remove(event.account_id)
        elif isinstance(event, Team.PublicChoiceMade):
            self._units[subject].public = event.public
        else:  # an activity assigned to a team, an incident placed in a grid
            before = self._placed.pop(subject, None)
            if before in self._units:
                self._units[before].items.pop(subject, None)
            target = event.team_id if isinstance(event, Activity.AssignedToTeam) else event.grid_id
            if target is not None and target in self._units:
                self._placed[subject] = target
                self._units[target].items[subject] = None


def _copy(unit: Unit) -> Unit:
    return Unit(unit.id, unit.name, unit.kind, list(unit.leaders), unit.public, dict(unit.items))
