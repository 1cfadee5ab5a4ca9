"""Stored events as the projections see them: position, originator, version, topic and
the state, decoded once on first use and shared by every projection of a batch."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol
from uuid import UUID


class Transcoder(Protocol):
    def decode(self, data: bytes) -> dict[str, Any]: ...


_TIMESTAMP = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


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
        "_id",
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
        self._id: str | None = None

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
        """When the event happened. Read from the front of the state without decoding
        the rest when the state starts as the ledger's transcoder writes it."""
        if self._data is None and self.state.startswith(_TIMESTAMP):
            end = self.state.find(b'"', len(_TIMESTAMP))
            if end > 0:
                return datetime.fromisoformat(self.state[len(_TIMESTAMP) : end].decode())
        return self.data["timestamp"]

    @property
    def id(self) -> str:
        """The originator id as text (as the read tables keep ids)."""
        if self._id is None:
            self._id = str(self.originator_id)
        return self._id


class LocalMonths:
    """The programme's local month (``YYYY-MM``) of UTC instants, remembered per quarter
    hour of UTC time: every zone's offset is a whole number of quarter hours, so all
    instants of one quarter hour fall in the same local month. A rebuild asks this for
    every event; a zone conversion each time would cost more than the projection."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._known: dict[tuple[int, int, int, int, int], str] = {}

    def __call__(self, at: datetime) -> str:
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        key = (at.year, at.month, at.day, at.hour, at.minute // 15)
        period = self._known.get(key)
        if period is None:
            local = at.astimezone(self.zone)
            period = self._known[key] = f"{local.year:04d}-{local.month:02d}"
        return period
