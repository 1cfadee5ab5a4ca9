"""The pages' languages: Chinese (zh_CN) by default, English by choice.

``?lang=en`` (or ``?lang=zh_CN``) on any page chooses a language and the web blueprint
keeps the choice in the ``lang`` cookie; :func:`select_locale` reads the query, then the
cookie, then falls back to zh_CN. Catalogues live in ``api/translations`` as ``.po``
files; the ``.mo`` files are build products (not committed): ``make venv`` compiles them
with pybabel, and :func:`compile_catalogs` compiles any that are missing or older than
their ``.po`` when the app starts, so tests and fresh clones work without make.

The Chinese catalogue's directory is ``zh_Hans_CN``, not ``zh_CN``: Babel parses ``zh_CN``
to its CLDR name ``zh_Hans_CN`` and Flask-Babel looks for a directory of that name.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "zh_CN"
#: locale -> the ``lang`` attribute of the page's <html>
LANGUAGES = {"zh_CN": "zh-CN", "en": "en"}
LANG_COOKIE = "lang"


def chosen_language(value: str | None) -> str | None:
    """The supported locale ``value`` names (``en``, ``zh_CN``, ``zh-CN``), else None."""
    if not value:
        return None
    name = value.strip().replace("-", "_")
    for locale in LANGUAGES:
        if locale.lower() == name.lower():
            return locale
    return None


def select_locale() -> str:
    """Flask-Babel's locale selector: ``?lang=``, then the cookie, then zh_CN."""
    return (
        chosen_language(request.args.get("lang"))
        or chosen_language(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LOCALE
    )


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``*/LC_MESSAGES/*.po`` under ``directory`` whose ``.mo`` is missing or
    older; return the ``.mo`` files written. A read-only install (its ``.mo`` files built
    by ``make venv`` or the packager) is logged, not fatal: pages then show the msgids."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        locale = po_path.parent.parent.name
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=locale)
            # Write beside it and rename, so a worker starting at the same time never
            # reads half a file.
            fd, temp = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
            with os.fdopen(fd, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.replace(temp, mo_path)
        except OSError as error:
            log.warning("cannot compile the %s catalogue %s: %s", locale, po_path, error)
            continue
        written.append(mo_path)
        log.info("compiled the %s message catalogue", locale)
    return written
