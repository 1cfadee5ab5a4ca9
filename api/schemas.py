"""Schema pieces shared by the endpoints: text checks, display names, paging parameters,
file answers.

Bottom floor: imports nothing from the endpoints or pages."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.names import BadName, clean_name

#: How a file answer (an image, a PDF) is documented: a string of bytes of its media type.
FILE = {"type": "string", "format": "binary"}


def plain_text(value: str) -> None:
    """No control characters, and no lone surrogates (they cannot be stored as UTF-8)."""
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValidationError("control characters and lone surrogates are not allowed")


def page_limit() -> fields.Integer:
    """``?limit=1..200`` of a list that may be read a page at a time (absent: all of it)."""
    return fields.Integer(
        validate=validate.Range(min=1, max=200),
        metadata={"description": "at most this many, then `next_cursor`; absent: all of them"},
    )


def page_cursor(pattern: str) -> fields.String:
    """``?cursor=``: a ``next_cursor`` of the previous page, of the shape ``pattern``."""
    return fields.String(
        validate=[validate.Regexp(pattern), plain_text],
        metadata={"description": "a `next_cursor` of the previous page"},
    )


def encodable(value: str) -> None:
    """No lone surrogates (they cannot be stored or hashed as UTF-8)."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValidationError("lone surrogates are not allowed")


class NoBody(Schema):
    """The body of a POST that takes none: absent or ``{}`` (anything else is 422)."""


class Name(fields.String):
    """A display name (a person's, a merchant's, a till's label): taken in NFC with
    its spaces made plain and trimmed; a control or invisible formatting character
    (zero-width, text-direction marks) is ``422 validation_error`` (api/names.py).
    Length validators see the cleaned name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        encodable(text)
        try:
            return clean_name(text)
        except BadName as error:
            raise ValidationError(str(error)) from None
