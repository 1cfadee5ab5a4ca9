"""Every event the ledger records is named in words on the auditor's page, and every
field it carries has a label (issue 17, item 11): a new event class or field fails here
until api/web/audit_words.py names it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from eventsourcing.domain import Aggregate, DomainEvent

import ledger
from api.web.audit_words import EVENT_NAMES, FIELDS, GENERIC, KIND_WORDS

#: what every event carries and the page shows in columns of its own
ENVELOPE = {"originator_id", "originator_version", "originator_id_type"}


def event_classes() -> dict[str, type[DomainEvent]]:
    """Every event class of every aggregate of the ledger's modules, by "Kind.Event"."""
    found: dict[str, type[DomainEvent]] = {}
    for info in pkgutil.iter_modules(ledger.__path__):
        module = importlib.import_module(f"ledger.{info.name}")
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            if aggregate.__module__ != module.__name__:
                continue
            for name, event in vars(aggregate).items():
                if inspect.isclass(event) and issubclass(event, DomainEvent) and name != "Event":
                    found[f"{aggregate.__name__}.{name}"] = event
    return found


EVENTS = event_classes()


def test_there_are_events_to_name():
    assert "Redemption.Made" in EVENTS and "ApprovalRequest.Approved" in EVENTS
    assert len(EVENTS) > 60


def test_every_event_class_has_words():
    nameless = [
        qualname
        for qualname in EVENTS
        if qualname not in EVENT_NAMES and qualname.rpartition(".")[2] not in GENERIC
    ]
    assert not nameless, f"name these events in api/web/audit_words.py: {nameless}"
    kinds = {qualname.rpartition(".")[0] for qualname in EVENTS}
    assert not kinds - set(KIND_WORDS), "name these kinds of record in KIND_WORDS"


def test_every_field_of_every_event_has_a_label():
    unlabelled = set()
    for event in EVENTS.values():
        fields = {}
        for cls in reversed(event.__mro__):
            fields.update(getattr(cls, "__annotations__", {}))
        unlabelled |= {name for name in fields if name not in FIELDS and name not in ENVELOPE}
    assert not unlabelled, f"label these fields in api/web/audit_words.py FIELDS: {unlabelled}"
