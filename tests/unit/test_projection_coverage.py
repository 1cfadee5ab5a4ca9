"""Every projection says what it does with every event the ledger records (issue 13).

A projection keys its handlers by event class and lists the event classes it ignores on
purpose. A new event class in the ledger fails here until each projection handles or
ignores it; an entry for a class the ledger no longer records fails here too. (A class
renamed or removed fails earlier: at import of the projection that names it.)
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, date, datetime

import pytest
from eventsourcing.domain import Aggregate, CanInitAggregate, DomainEvent
from eventsourcing.utils import get_topic

import ledger
from ledger.accounts import Account, Volunteer
from ledger.calendar import ProgrammeCalendar
from ledger.incidents import Incident
from ledger.merchants import Merchant
from ledger.records import Correction, Redemption
from projections import verifier_reports
from projections.runner import Projection, default_projections
from tests.projection_helpers import tell_story
from tests.scenario import Community


def ledger_aggregates() -> list[type[Aggregate]]:
    """Every aggregate class defined in the ledger's modules."""
    found = []
    for info in pkgutil.iter_modules(ledger.__path__):
        module = importlib.import_module(f"ledger.{info.name}")
        found += [
            cls
            for cls in vars(module).values()
            if inspect.isclass(cls)
            and issubclass(cls, Aggregate)
            and cls.__module__ == module.__name__
        ]
    return found


def created_event_of(aggregate: type[Aggregate]) -> type:
    """The "created" event class the aggregate is created with. The library keeps it in
    a private table; if that moves, this fails loudly rather than counting wrong."""
    from eventsourcing.domain import _created_event_classes

    (created,) = _created_event_classes[aggregate]
    return created


def recorded_event_types() -> frozenset[type]:
    """Every event class the ledger's aggregates record.

    The events of each aggregate class that no other one extends: Account's own classes
    only serve its subclasses, to which the library gives copies of their own
    (``Volunteer.BeansCredited``, topic ``ledger.accounts:Volunteer.BeansCredited``).
    Less each aggregate's base ``Event``, and the "created" classes the library adds
    beside the one the aggregate is created with (``Incident.Created`` beside
    ``Incident.Submitted``, ``Merchant.Opened`` beside ``Merchant.Registered``)."""
    aggregates = ledger_aggregates()
    leaves = [a for a in aggregates if not any(b is not a and issubclass(b, a) for b in aggregates)]
    found = set()
    for aggregate in leaves:
        for name, value in vars(aggregate).items():
            if not (inspect.isclass(value) and issubclass(value, DomainEvent)) or name == "Event":
                continue
            if issubclass(value, CanInitAggregate) and value is not created_event_of(aggregate):
                continue
            found.add(value)
    return frozenset(found)


RECORDED = recorded_event_types()
PROJECTIONS = default_projections(ProgrammeCalendar())


def by_type(projection: Projection) -> tuple[frozenset[type], frozenset[type]]:
    """The event types a projection handles and those it ignores on purpose."""
    dispatch = getattr(projection, "dispatch", "missing")
    assert dispatch != "missing", (
        f"the {projection.name} projection must say what it does by event type: a "
        "dispatch (projections.dispatch.Dispatch), or dispatch = None if it takes in "
        "every event alike"
    )
    if dispatch is None:  # it takes in every event alike: all handled
        return RECORDED, frozenset()
    return frozenset(dispatch.handlers), dispatch.ignored


def names(types: set[type] | frozenset[type]) -> list[str]:
    return sorted(get_topic(cls) for cls in types)


def qualified_names(types: frozenset[type]) -> set[str]:
    """A topic's part after the colon, as the auditor's verifier reads it."""
    return {get_topic(cls).partition(":")[2] for cls in types}


# --- what the ledger records ------------------------------------------------------------


def test_the_ledger_records_the_events_of_each_kind_of_aggregate_under_its_own_name() -> None:
    assert {Volunteer.BeansCredited, Merchant.BeansCredited, Merchant.Registered} <= RECORDED
    assert {Redemption.Made, Correction.Made, Incident.Submitted} <= RECORDED
    assert Account.BeansCredited not in RECORDED, "no aggregate is a bare Account"
    assert not {Merchant.Opened, Incident.Created, Volunteer.Created} & RECORDED
    assert not {Redemption.Event, Volunteer.Event} & RECORDED


def test_every_topic_a_story_records_is_the_topic_of_a_recorded_event_type() -> None:
    """The list above against a real log: a community's three months (tell_story)."""
    community = Community.in_memory(start=datetime(2026, 2, 20, tzinfo=UTC))
    try:
        tell_story(community, date(2026, 3, 1))
        log = community.ledger.recorder.select_notifications(start=0, limit=100_000)
    finally:
        community.close()
    in_the_log = {notification.topic for notification in log}
    assert len(in_the_log) > 30
    assert in_the_log <= set(names(RECORDED))


# --- what each projection does with them ------------------------------------------------


@pytest.mark.parametrize("projection", PROJECTIONS, ids=lambda p: p.name)
def test_each_projection_handles_or_ignores_every_event_the_ledger_records(
    projection: Projection,
) -> None:
    handled, ignored = by_type(projection)
    unknown = RECORDED - handled - ignored
    assert not unknown, (
        f"the {projection.name} projection neither handles nor ignores {names(unknown)}: "
        "add each to its handlers, or to its IGNORED if it changes nothing there"
    )


@pytest.mark.parametrize("projection", PROJECTIONS, ids=lambda p: p.name)
def test_no_projection_names_an_event_the_ledger_does_not_record(projection: Projection) -> None:
    handled, ignored = by_type(projection)
    assert not (handled - RECORDED), f"handlers of unrecorded events: {names(handled - RECORDED)}"
    assert not (ignored - RECORDED), f"unrecorded events ignored: {names(ignored - RECORDED)}"


def test_the_books_tell_a_redemption_from_a_correction() -> None:
    (books,) = [p for p in PROJECTIONS if p.name == "books"]
    handled, ignored = by_type(books)
    assert Redemption.Made in handled
    assert Correction.Made in ignored, "a correction counts by its debit"


# --- the auditor's verifier ---------------------------------------------------------------
# It uses the standard library only, so it names events by the qualified names of their
# classes; these tests keep those names in step with the ledger.


def test_the_verifier_reads_or_ignores_every_event_the_ledger_records() -> None:
    read, ignored = set(verifier_reports.HANDLERS), verifier_reports.IGNORED
    unknown = qualified_names(RECORDED) - read - ignored
    assert not unknown, f"the verifier neither reads nor ignores {sorted(unknown)}"
    assert not read & ignored, f"both read and ignored: {sorted(read & ignored)}"


def test_the_verifier_names_only_events_the_ledger_records() -> None:
    recorded = qualified_names(RECORDED)
    stale = (set(verifier_reports.HANDLERS) | verifier_reports.IGNORED) - recorded
    assert not stale, f"the verifier names events the ledger does not record: {sorted(stale)}"
