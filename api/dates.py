"""The one way a person reads a date, a moment or a month (docs/GLOSSARY.md, "Dates").

Chinese: 2026年12月8日, 2026年12月8日 14:05, 2026年12月, 14:05.
English: 8 Dec 2026, 8 Dec 2026, 14:05, December 2026, 14:05.

Pages (the ``day``, ``when`` and ``month`` template filters of ``api/web/support.py``),
PDFs and spreadsheets all call these functions; nothing else formats a date for a reader.
Moments are shown in the programme's time zone, on a 24-hour clock. The standard library
only, so that every floor of ``api`` can use it; the till (``merchant_pos``, which may not
import ``api``) keeps a copy of the same rules in ``merchant_pos/dates.py`` and
``merchant_pos/static/pos.js``, and a test holds the copies to this one.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _english(lang: str | None) -> bool:
    return str(lang or "zh").lower().startswith("en")


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_moment(value: datetime | str, zone: tzinfo | None) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if zone is not None and value.tzinfo is not None:
        value = value.astimezone(zone)
    return value


def day_text(value: date | datetime | str | None, lang: str | None = "zh") -> str:
    """A calendar day: ``2026年12月8日`` or ``8 Dec 2026``; empty for nothing."""
    if value is None or value == "":
        return ""
    d = _as_date(value)
    if _english(lang):
        return f"{d.day} {SHORT_MONTHS[d.month - 1]} {d.year}"
    return f"{d.year}年{d.month}月{d.day}日"


def time_text(
    value: datetime | str | None, lang: str | None = "zh", zone: tzinfo | None = None
) -> str:
    """The time of day of a moment, 24-hour clock: ``14:05`` (both languages)."""
    if value is None or value == "":
        return ""
    at = _as_moment(value, zone)
    return f"{at.hour:02d}:{at.minute:02d}"


def moment_text(
    value: datetime | str | None, lang: str | None = "zh", zone: tzinfo | None = None
) -> str:
    """A moment in ``zone``: ``2026年12月8日 14:05`` or ``8 Dec 2026, 14:05``."""
    if value is None or value == "":
        return ""
    at = _as_moment(value, zone)
    separator = ", " if _english(lang) else " "
    return f"{day_text(at.date(), lang)}{separator}{time_text(at, lang)}"


def month_text(period: str | date | None, lang: str | None = "zh") -> str:
    """A month (``2026-12`` or any day in it): ``2026年12月`` or ``December 2026``."""
    if period is None or period == "":
        return ""
    if isinstance(period, date):
        year, month = period.year, period.month
    else:
        year, month = int(str(period)[:4]), int(str(period)[5:7])
    if _english(lang):
        return f"{MONTHS[month - 1]} {year}"
    return f"{year}年{month}月"


def month_both(period: str | date | None) -> str:
    """A month in a bilingual document (the PDFs): ``2026年12月 / December 2026``."""
    if period is None or period == "":
        return ""
    return f"{month_text(period, 'zh')} / {month_text(period, 'en')}"
