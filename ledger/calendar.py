"""Calendar days and months in the programme's time zone (SPEC §4).

Caps, daily limits, allotment periods and settlement cutoffs are counted in the
programme's zone (``Asia/Shanghai`` by default) whatever the server's own zone is;
timestamps are stored in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ValidationError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ProgrammeCalendar:
    """Turns UTC instants into the programme's local days and periods, and back."""

    zone_name: str = "Asia/Shanghai"

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.zone_name)
        except ZoneInfoNotFoundError as error:
            raise ValidationError(f"unknown time zone {self.zone_name!r}") from error

    def day(self, at: datetime) -> str:
        """The local calendar day of ``at`` as ``YYYY-MM-DD``."""
        return at.astimezone(self.zone).date().isoformat()

    def period(self, at: datetime) -> str:
        """The local calendar month of ``at`` as ``YYYY-MM``."""
        return at.astimezone(self.zone).strftime("%Y-%m")

    def start_of_day(self, day: date) -> datetime:
        """The UTC instant at which the local ``day`` begins."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def start_of_period(self, period: str) -> datetime:
        """The UTC instant at which the local month ``period`` begins."""
        year, month = parse_period(period)
        return self.start_of_day(date(year, month, 1))

    def start_of_month_containing(self, at: datetime) -> datetime:
        return self.start_of_period(self.period(at))


def parse_period(period: str) -> tuple[int, int]:
    """Split ``YYYY-MM`` into (year, month); raise ValidationError otherwise."""
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if match is None:
        raise ValidationError(f"period must look like YYYY-MM, not {period!r}")
    return int(match.group(1)), int(match.group(2))


def previous_period(period: str) -> str:
    year, month = parse_period(period)
    first = date(year, month, 1) - timedelta(days=1)
    return first.strftime("%Y-%m")
