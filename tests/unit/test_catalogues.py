"""The pages' message catalogues (issue 6: all user-facing text translated).

Every message the web views and templates use (extracted as ``make messages`` does, with
babel.cfg) has a Chinese translation that is neither empty nor fuzzy, and keeps exactly
the ``%(name)s`` placeholders of its English text; the English catalogue lists every
message too, so a translator sees what is new.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "api" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def used_messages() -> set[str | tuple[str, str]]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str | tuple[str, str]] = set()
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as `make messages`
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def catalogue(locale: str):
    with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale.replace("_Hans", ""))


@pytest.fixture(scope="module")
def used():
    messages = used_messages()
    assert len(messages) > 50, "extraction found almost nothing: is babel.cfg right?"
    return messages


def test_every_message_has_a_chinese_translation_with_the_same_placeholders(used):
    chinese = catalogue("zh_Hans_CN")
    missing, fuzzy, placeholders = [], [], []
    for message in sorted(used, key=str):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = chinese.get(msgid)
        strings = entry and (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or not strings or not all(strings):
            missing.append(msgid)
            continue
        if entry.fuzzy:
            fuzzy.append(msgid)
        wanted = set(PLACEHOLDER.findall(msgid))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                placeholders.append(f"{msgid!r} -> {text!r}")
    assert not missing, "untranslated (run `make messages`, then translate):\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy translations to check:\n" + "\n".join(fuzzy)
    assert not placeholders, "placeholders differ:\n" + "\n".join(placeholders)


def test_the_english_catalogue_lists_every_message(used):
    english = catalogue("en")
    absent = [m for m in used if english.get(m[0] if isinstance(m, tuple) else m) is None]
    assert not absent, "run `make messages`: " + ", ".join(map(str, absent[:20]))
