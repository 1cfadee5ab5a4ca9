"""Stored events as the projections see them: position, originator, version, topic and
the state, decoded once on first use and shared by every projection of a batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Transcoder(Protocol):
    def decode(self, data: bytes) -> dict[str, Any]: ...


class StoredEvent:
    """One row of the event log. ``kind`` and ``name`` split the topic's qualified name:
    ``ledger.accounts:Volunteer.BeansCredited`` has kind ``Volunteer`` and name
    ``BeansCredited``."""

    __slots__ = (
        "position",
        "originator_id",
        "version",
        "topic",
        "state",
        "kind",
        "name",
        "_transcoder",
        "_data",
    )

    def __init__(
        self,
        position: int,
        originator_id: UUID,
        version: int,
        topic: str,
        state: bytes,
        transcoder: Transcoder,
    ) -> None:
        self.position = position
        self.originator_id = originator_id
        self.version = version
        self.topic = topic
        self.state = state
        qualname = topic.rpartition(":")[2]
        self.kind, _, self.name = qualname.rpartition(".")
        self._transcoder = transcoder
        self._data: dict[str, Any] | None = None

    @classmethod
    def from_notification(cls, notification: Any, transcoder: Transcoder) -> StoredEvent:
        return cls(
            notification.id,
            notification.originator_id,
            notification.originator_version,
            notification.topic,
            notification.state,
            transcoder,
        )

    @property
    def data(self) -> dict[str, Any]:
        """The event's fields (datetimes, dates and UUIDs as Python objects)."""
        if self._data is None:
            self._data = self._transcoder.decode(self.state)
        return self._data

    @property
    def at(self) -> datetime:
        return self.data["timestamp"]

    @property
    def id(self) -> str:
        return str(self.originator_id)
