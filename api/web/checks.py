"""What the pages check in a new password and in a display name, in the reader's
language: the rules are :mod:`api.passwords` and :mod:`api.names` (the same as the
API's), only the words are the pages' own."""

from __future__ import annotations

from flask_babel import gettext as _

from api.names import BadName, clean_name
from api.passwords import MAX_PASSWORD, MIN_PASSWORD, TOO_EASY, password_problem


def password_refusal(password: str, *related: str | None) -> str | None:
    """None if ``password`` may be a new password, else why not, translated.
    ``related``: the username and the person's name (a guesser tries them first)."""
    problem = password_problem(password, *related)
    if problem is None:
        return None
    if problem == TOO_EASY:
        return _(
            "This password is too easy to guess (a common password, a name, a date or a "
            "pattern). Use a longer one, such as three or four unrelated words."
        )
    return _("A password has %(low)d to %(high)d characters.", low=MIN_PASSWORD, high=MAX_PASSWORD)


def name_or_refusal(raw: str) -> tuple[str, str | None]:
    """A display name from a form, cleaned as the API cleans it (NFC, plain single
    spaces, trimmed), and None; or the raw text and why it is refused, translated (a
    control or invisible formatting character). The caller checks the length."""
    try:
        return clean_name(raw), None
    except BadName:
        return raw, _(
            "A name may not contain control characters or invisible characters "
            "(zero-width characters or text-direction marks)."
        )
