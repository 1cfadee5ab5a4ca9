"""Every kind of record the ledger keeps and the events each records: for the readers of
the log (the auditor's browser filters by kind, the projections check that they handle
every event type). Derived from the classes, so a renamed or new event is seen."""

from __future__ import annotations

import inspect
from types import ModuleType

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic

from ledger import accounts, activities, approvals, fund, incidents, merchants, records

MODULES: tuple[ModuleType, ...] = (
    accounts,
    activities,
    approvals,
    fund,
    incidents,
    merchants,
    records,
)


def aggregate_classes() -> list[type[Aggregate]]:
    """The ledger's aggregate classes (each defined in one of :data:`MODULES`)."""
    found = []
    for module in MODULES:
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Aggregate)
                and cls is not Aggregate
                and cls.__module__ == module.__name__
            ):
                found.append(cls)
    return found


def event_classes(aggregate: type[Aggregate]) -> list[type[DomainEvent]]:
    """The event classes nested in ``aggregate`` (its base ``Event`` left out); a class
    the library adds and never records does no harm to a reader filtering by topic."""
    return [
        event
        for name, event in vars(aggregate).items()
        if inspect.isclass(event) and issubclass(event, DomainEvent) and name != "Event"
    ]


def topics_by_kind() -> dict[str, list[str]]:
    """Each kind of record (its class name) with the topics of the events it records."""
    return {
        cls.__name__: sorted(get_topic(e) for e in event_classes(cls))
        for cls in aggregate_classes()
        if event_classes(cls)
    }
