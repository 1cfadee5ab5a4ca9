"""Display names of people, merchants and terminals, as the API and the pages take them.

A name is stored in Unicode's composed form (NFC), so "é" typed two ways is one name;
spaces of any kind become one plain space, and leading and trailing spaces go. A name
with a control character, a Unicode *format* character (category Cf: zero-width spaces
and joiners, left-to-right and right-to-left marks and overrides, isolates), a line or
paragraph separator, a private-use or unassigned code point, or a lone surrogate is
refused: those make names that look the same and are not ("Shop A" and "Shop A\\u200b"),
or text that reads backwards on a receipt.

Framework-free: the schemas (api/schemas.py) and the pages (api/web/checks.py) use it.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories a name may not hold: control, format, surrogate, private use,
#: unassigned, line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

INVISIBLE = (
    "a name may not contain control characters or invisible formatting characters "
    "(zero-width characters, text-direction marks)"
)


class BadName(ValueError):
    """Raised when a name holds a character that :data:`REFUSED_CATEGORIES` lists."""


def clean_name(value: str) -> str:
    """``value`` in NFC, its spaces made single plain spaces and trimmed. Raises BadName
    for a control, format or other invisible character (the message is :data:`INVISIBLE`).
    The caller checks the length of what is returned."""
    composed = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in composed):
        raise BadName(INVISIBLE)
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in composed)
    return " ".join(part for part in spaced.split(" ") if part)
