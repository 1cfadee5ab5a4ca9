"""docs/GLOSSARY.md is the one list of words: no retired word in what a person reads, and
one way to write a date.

The retired words are read from the glossary's table, so adding a row is all it takes to
retire a word. Where people read text: the Chinese and English catalogues (msgstr, or the
msgid an English msgstr falls back to), the page templates, the page scripts, the modules
that build PDFs and spreadsheets, and the till (its page, its script, its command line).
A retired word inside a kept word (纠纷 in 邻里纠纷) does not count.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from api import dates
from merchant_pos import dates as till_dates

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
CATALOGUES = ROOT / "api" / "translations"
TEMPLATES = [
    *sorted((ROOT / "api" / "templates").glob("*.html")),
    *sorted((ROOT / "merchant_pos" / "templates").glob("*.html")),
]
SCRIPTS = [
    *sorted((ROOT / "api" / "static" / "web").glob("*.js")),
    *sorted((ROOT / "merchant_pos" / "static").glob("*.js")),
]
#: modules whose strings end up in a PDF, a spreadsheet or the till's texts
PYTHON_TEXTS = [
    ROOT / "api" / "rendering_pdf.py",
    ROOT / "api" / "notice_pdf.py",
    ROOT / "api" / "report_sections.py",
    ROOT / "api" / "spreadsheets.py",
    ROOT / "api" / "charts.py",
    ROOT / "api" / "web" / "report_words.py",
    ROOT / "api" / "web" / "fund_payments.py",
    ROOT / "merchant_pos" / "printing.py",
    ROOT / "merchant_pos" / "web.py",
    ROOT / "merchant_pos" / "cli.py",
    ROOT / "merchant_pos" / "client.py",
]


# --- the glossary -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    thing: str
    kept: dict[str, tuple[str, ...]]  # language -> the words to use
    retired: dict[str, tuple[str, ...]]  # language -> the words no longer used


def _cell_words(cell: str, separator: str) -> tuple[str, ...]:
    cell = cell.strip()
    if cell in ("", "—", "-"):
        return ()
    return tuple(word.strip() for word in cell.split(separator) if word.strip())


def glossary_rows() -> list[Row]:
    """The rows of the table under "## Words"."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split("## Words", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| thing"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        thing, zh, en, retired_zh, retired_en = cells[:5]
        rows.append(
            Row(
                thing,
                {"zh": _cell_words(zh, "、"), "en": _cell_words(en, ", ")},
                {"zh": _cell_words(retired_zh, "、"), "en": _cell_words(retired_en, ", ")},
            )
        )
    return rows


ROWS = glossary_rows()


def _pattern(word: str, lang: str) -> re.Pattern[str]:
    if lang == "en":
        # a whole word or phrase, or its plural; not part of a name in code or a path
        plural = r"(?:s|es)?"
        return re.compile(r"(?<![\w/-])" + re.escape(word) + plural + r"(?![\w-])", re.IGNORECASE)
    return re.compile(re.escape(word))


#: language -> (retired word, its pattern, the word to use instead, the kept words holding it)
RETIRED: dict[str, list[tuple[str, re.Pattern[str], str, list[re.Pattern[str]]]]] = {}
for _lang in ("zh", "en"):
    _kept_all = [word for row in ROWS for word in row.kept[_lang]]
    RETIRED[_lang] = [
        (
            word,
            _pattern(word, _lang),
            " / ".join(row.kept[_lang]),
            [
                re.compile(re.escape(k), re.IGNORECASE)
                for k in _kept_all
                if len(k) > len(word) and word.lower() in k.lower()
            ],
        )
        for row in ROWS
        for word in row.retired[_lang]
    ]


def retired_in(text: str, lang: str) -> list[str]:
    """``retired word (say: kept word)`` for every retired word of ``lang`` in ``text``
    that is not part of a kept word."""
    found = []
    for word, pattern, kept, holders in RETIRED[lang]:
        excused = [m.span() for h in holders for m in h.finditer(text)]
        for match in pattern.finditer(text):
            if not any(start <= match.start() and match.end() <= end for start, end in excused):
                found.append(f"{word!r} (say: {kept})")
                break
    return found


# --- where people read text -------------------------------------------------------------

JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`((?:[^`\\]|\\.)*)`')
HUMAN_ATTRIBUTES = re.compile(r'\b(?:title|alt|placeholder|aria-label|content)="([^"]*)"')
TAG = re.compile(r"<[^>]*>")


def template_texts(source: str) -> str:
    """What a reader of a template can see: text between tags, strings inside Jinja blocks
    (the ``_()`` texts), and the attributes read aloud or shown."""
    blocks = JINJA_BLOCK.findall(source)
    literals = [
        next(g for g in m.groups() if g is not None) for b in blocks for m in QUOTED.finditer(b)
    ]
    outside = JINJA_BLOCK.sub(" ", source)
    attributes = HUMAN_ATTRIBUTES.findall(outside)
    return "\n".join([TAG.sub(" ", outside), *literals, *attributes])


def script_texts(source: str) -> str:
    """The string literals of a script, comments removed."""
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.DOTALL)
    source = re.sub(r"(^|\s)//.*$", " ", source, flags=re.MULTILINE)
    return "\n".join(next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(source))


#: a key or a code, not a text: one lowercase word or snake_case name ("dispute", "fire")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def python_texts(source: str) -> str:
    """The string constants of a module, docstrings and identifiers left out."""
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and not IDENTIFIER.match(node.value)
    )


def catalogue_texts(lang: str) -> list[tuple[str, str]]:
    """``(msgid, what the reader gets)`` for every message of a catalogue."""
    folder = "zh_Hans_CN" if lang == "zh" else "en"
    path = CATALOGUES / folder / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    texts = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for number, string in enumerate(strings):
            shown = string or (ids[min(number, len(ids) - 1)] if lang == "en" else "")
            texts.append((ids[0], shown))
    return texts


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _snippet(text: str, word: str) -> str:
    at = text.lower().find(word.lower())
    return text[max(0, at - 30) : at + len(word) + 30].replace("\n", " ") if at >= 0 else ""


def test_the_glossary_is_read() -> None:
    things = {row.thing for row in ROWS}
    assert len(ROWS) >= 30
    assert any("邻里纠纷" in row.kept["zh"] and "纠纷" in row.retired["zh"] for row in ROWS)
    assert "金豆卡" in {w for row in ROWS for w in row.kept["zh"]}
    assert {"长者卡", "配额", "月度发放", "举报人", "报告人", "扫一扫"} <= {
        w for row in ROWS for w in row.retired["zh"]
    }
    assert "the pool volunteers give to" in things
    for row in ROWS:
        assert row.kept["zh"] and row.kept["en"], row.thing
        for lang in ("zh", "en"):
            clash = set(row.retired[lang]) & {w for r in ROWS for w in r.kept[lang]}
            assert not clash, f"{row.thing}: {clash} is both kept and retired"


def test_a_retired_word_inside_a_kept_word_is_not_counted() -> None:
    assert retired_in("上报邻里纠纷", "zh") == []
    assert retired_in("调解纠纷", "zh") == ["'纠纷' (say: 邻里纠纷)"]
    assert retired_in("A dispute between neighbours", "en") == []
    assert retired_in("A dispute about rubbish", "en")
    assert retired_in("the till's terminal_id", "en") == []  # a name in code, not a word
    assert retired_in("凭长者卡付款", "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_retired_word_in_the_catalogues(lang: str) -> None:
    folder = "zh_Hans_CN" if lang == "zh" else "en"
    problems = [
        f"api/translations/{folder}/LC_MESSAGES/messages.po: msgid {msgid[:60]!r} "
        f"reads {shown[:80]!r}: {', '.join(found)}"
        for msgid, shown in catalogue_texts(lang)
        if (found := retired_in(shown, lang))
    ]
    assert not problems, "retired words (docs/GLOSSARY.md):\n  " + "\n  ".join(problems)


def _file_problems(paths: list[Path], extract) -> list[str]:
    problems = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        for lang, text in (
            ("zh", source if path.suffix != ".py" else extract(source)),
            ("en", extract(source)),
        ):
            for found in retired_in(text, lang):
                word = found.split("'")[1]
                problems.append(f"{_where(path)}: {found} in …{_snippet(text, word)}…")
    return problems


def test_no_retired_word_in_the_templates() -> None:
    problems = _file_problems(TEMPLATES, template_texts)
    assert not problems, "retired words (docs/GLOSSARY.md):\n  " + "\n  ".join(problems)


def test_no_retired_word_in_the_scripts() -> None:
    problems = _file_problems(SCRIPTS, script_texts)
    assert not problems, "retired words (docs/GLOSSARY.md):\n  " + "\n  ".join(problems)


def test_no_retired_word_in_pdfs_spreadsheets_and_the_till() -> None:
    problems = _file_problems(PYTHON_TEXTS, python_texts)
    assert not problems, "retired words (docs/GLOSSARY.md):\n  " + "\n  ".join(problems)


# --- dates ----------------------------------------------------------------------------------

SHANGHAI = timezone(timedelta(hours=8))
AFTERNOON = datetime(2026, 12, 8, 6, 5, tzinfo=UTC)  # 14:05 in Shanghai


def test_one_format_per_language() -> None:
    assert dates.day_text(date(2026, 12, 8), "zh") == "2026年12月8日"
    assert dates.day_text("2026-12-08", "en") == "8 Dec 2026"
    assert dates.moment_text(AFTERNOON, "zh", SHANGHAI) == "2026年12月8日 14:05"
    assert dates.moment_text("2026-12-08T06:05:00Z", "en", SHANGHAI) == "8 Dec 2026, 14:05"
    assert dates.month_text("2026-12", "zh") == "2026年12月"
    assert dates.month_text(date(2026, 5, 31), "en") == "May 2026"
    assert dates.month_both("2026-05") == "2026年5月 / May 2026"
    assert dates.time_text(AFTERNOON, "en", SHANGHAI) == "14:05"
    # a moment late in the evening UTC is the next day in the programme's zone
    assert (
        dates.day_text(dates._as_moment(datetime(2026, 12, 31, 17, 0, tzinfo=UTC), SHANGHAI), "zh")
        == "2027年1月1日"
    )
    assert dates.day_text(None) == dates.moment_text("") == dates.month_text(None) == ""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_till_writes_dates_as_the_server_does(lang: str) -> None:
    for at in (
        AFTERNOON,
        datetime(2027, 1, 1, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
    ):
        assert till_dates.moment_text(at.isoformat(), lang, SHANGHAI) == dates.moment_text(
            at, lang, SHANGHAI
        )
    assert till_dates.moment_text("not a time") == "not a time"


def test_the_till_page_script_writes_the_glossary_format() -> None:
    """The till's browser script has the same rules (it cannot call Python): its day has
    年/月/日 in Chinese and a short month name in English, and it asks the browser for no
    locale date format."""
    script = (ROOT / "merchant_pos" / "static" / "pos.js").read_text(encoding="utf-8")
    assert "toLocaleString" not in script and "toLocaleDateString" not in script
    assert "toLocaleTimeString" not in script
    assert "年${at.getMonth() + 1}月${at.getDate()}日" in script
    assert '"Jan", "Feb", "Mar"' in script


OTHER_DATE_CALLS = re.compile(
    r"strftime\(|format_date\(|format_datetime\(|format_skeleton\(|toLocaleDateString|toLocaleString\(|"
    r"toLocaleTimeString|\|\s*datetimeformat|\|\s*dateformat"
)


def test_no_other_date_rendering_in_pages_pdfs_or_the_till() -> None:
    """Every date a person reads goes through api/dates.py (or the till's copy)."""
    places = [
        *sorted((ROOT / "api" / "web").rglob("*.py")),
        *TEMPLATES,
        *SCRIPTS,
        *PYTHON_TEXTS,
    ]
    problems = [
        f"{_where(path)}:{number}: {line.strip()}"
        for path in places
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OTHER_DATE_CALLS.search(line)
    ]
    assert not problems, "dates formatted outside api/dates.py:\n  " + "\n  ".join(problems)
