"""A projection's handlers keyed by event type.

A projection names the ledger's event classes (``Redemption.Made``), never their bare
names (``"Made"``): a class renamed in the ledger then fails at import here instead of
silently blinding a read model, and events of the same name on different aggregates
(``Redemption.Made``, ``Correction.Made``) are told apart. Stored events carry the topic
of their class (``ledger.records:Redemption.Made``), so the handlers are looked up by
the topics of their classes: one dict lookup per event, nothing decoded.

A topic not in the table is resolved to its class once, and the answer remembered:
``resolve_topic`` follows ``register_topic``, so a class renamed with its old topic
registered (eventsourcing's way to rename an event) keeps its handler for the events
recorded before the rename.

Beside its handlers, a projection lists the ledger's event types it deliberately
ignores; tests/unit/test_projection_coverage.py checks that together they name every
event the ledger records, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from eventsourcing.utils import TopicError, get_topic, resolve_topic

log = logging.getLogger(__name__)

H = TypeVar("H")


def topics(classes: Iterable[type]) -> frozenset[str]:
    """The topics of these classes, as the event log stores them."""
    return frozenset(get_topic(cls) for cls in classes)


class Dispatch(Generic[H]):
    """Handlers by event type, looked up by a stored event's topic; and the event types
    deliberately left alone. Raises ValueError if a type is both handled and ignored."""

    def __init__(self, handlers: Mapping[type, H], ignored: Iterable[type] = ()) -> None:
        self.handlers: Mapping[type, H] = MappingProxyType(dict(handlers))
        self.ignored = frozenset(ignored)
        both = self.ignored.intersection(self.handlers)
        if both:
            names = ", ".join(sorted(get_topic(cls) for cls in both))
            raise ValueError(f"event types both handled and ignored: {names}")
        by_topic = _ByTopic(self.handlers)
        by_topic.update(dict.fromkeys(topics(self.ignored)))
        by_topic.update((get_topic(cls), h) for cls, h in self.handlers.items())
        # The handler of events of a topic (None: not handled). A dict's own lookup:
        # a projection asks once per event.
        self.handler: Callable[[str], H | None] = by_topic.__getitem__

    def topics_of(self, base: type | tuple[type, ...]) -> frozenset[str]:
        """The topics of the handled event types that are subclasses of ``base``."""
        return topics(cls for cls in self.handlers if issubclass(cls, base))


class _ByTopic(dict[str, H | None]):
    """Handlers by topic, resolving a topic it does not know to its class once."""

    def __init__(self, handlers: Mapping[type, H]) -> None:
        super().__init__()
        self.handlers = handlers

    def __missing__(self, topic: str) -> H | None:
        try:
            cls = resolve_topic(topic)
        except TopicError:
            log.warning("no event class has the topic %r: its events are not projected", topic)
            found = None
        else:
            found = self.handlers.get(cls)
        self[topic] = found  # one resolution per topic, however many events
        return found
