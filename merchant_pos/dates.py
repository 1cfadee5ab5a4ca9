"""The till's copy of the glossary's dates (docs/GLOSSARY.md, "Dates"; the server's one
helper is ``api/dates.py``, which ``merchant_pos`` may not import): 2026年12月8日 14:05 and
8 Dec 2026, 14:05. ``tests/unit/test_glossary.py`` holds the two to the same answers, and
``static/pos.js`` writes the same in the browser."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(value: date, lang: str = "zh") -> str:
    """``2026年12月8日`` or ``8 Dec 2026``."""
    if lang.startswith("en"):
        return f"{value.day} {SHORT_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


def moment_text(value: datetime | str, lang: str = "zh", zone: tzinfo | None = None) -> str:
    """``2026年12月8日 14:05`` or ``8 Dec 2026, 14:05``, in ``zone`` (default: this
    machine's zone); text that is not a moment comes back as it is."""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    at = at.astimezone(zone)
    separator = ", " if lang.startswith("en") else " "
    return f"{day_text(at.date(), lang)}{separator}{at.hour:02d}:{at.minute:02d}"
