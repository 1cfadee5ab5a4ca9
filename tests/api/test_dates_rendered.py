"""Every page, PDF and spreadsheet writes a date one way per language (docs/GLOSSARY.md,
"Dates"): 2026年3月5日 14:05 in Chinese, 5 Mar 2026, 14:05 in English. A small ledger of
two months (tests/api/test_report_privacy.py's) is read by each role in both languages;
what a person sees (tags, attributes and addresses left out) holds no other date form."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from openpyxl import load_workbook

from tests.api.test_report_privacy import SHOPS, VOLUNTEERS, build, pdf_text
from tests.api.test_web_pages import PASSWORD, log_in

OTHER_FORMS = {
    "2026/3/5": re.compile(r"\b\d{4}/\d{1,2}/\d{1,2}\b"),
    "3/5/26": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "2026-03-05 (ISO, for machines)": re.compile(r"\b20\d\d-\d\d-\d\d\b"),
    "2026-03 (ISO month)": re.compile(r"(?<![\w-])20\d\d-\d\d(?![\w-])"),
    "Mar 5, 2026": re.compile(r"\b[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}\b"),
    "2:05 PM": re.compile(r"\b\d{1,2}:\d\d(:\d\d)? ?[AaPp]\.?[Mm]\b"),
    "上午/下午": re.compile(r"[上下]午\d"),
    "14:05:09 (seconds)": re.compile(r"\b\d{1,2}:\d\d:\d\d\b"),
    "2026年03月05日 (zero-padded)": re.compile(r"年0\d月|月0\d日"),
}
ZH_DAY = re.compile(r"20\d\d年\d{1,2}月\d{1,2}日")
EN_DAY = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d\b")
ZH_MOMENT = re.compile(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d")
EN_MOMENT = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d\b")


def visible(html: str) -> str:
    """The text of a page as a reader sees it: no scripts, styles, tags or addresses, and
    not the auditor's raw records (``<pre>``: the ledger's data as stored, in ISO)."""
    html = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    html = re.sub(r"<[^>]*>", " ", html)
    return unescape(html)


def other_forms(text: str) -> list[str]:
    """Each date written another way; addresses (``/reports/2026-04``) are not dates."""
    text = re.sub(r"https?://\S+", " ", text)
    return [
        f"{name}: …{text[max(0, m.start() - 40) : m.end() + 20]!r}…"
        for name, pattern in OTHER_FORMS.items()
        for m in pattern.finditer(text)
    ]


@pytest.fixture
def ledger_of_two_months(app, community, sign_in):
    ids = build(community, sign_in)
    auth = app.extensions["goldbean.auth"]
    people = {
        "volunteer": {"account_id": ids[VOLUNTEERS[0]]},
        "coordinator": {},
        "fund_officer": {},
        "auditor": {},
        "admin": {},
        "merchant": {"merchant_id": ids[SHOPS[0]]},
    }
    for role, extra in people.items():
        auth.create_user(f"dates-{role}", PASSWORD, role, **extra)
    return ids


def reader(app, role: str | None, lang: str):
    client = app.test_client()
    client.get(f"/login?lang={lang}")
    if role:
        assert log_in(client, f"dates-{role}").status_code == 303
    return client


PAGES = {
    None: ["/reports", "/reports/2026-03", "/reports/2026-04"],
    "volunteer": ["/me", "/me/report", "/me/code"],
    "coordinator": [
        "/staff/incidents",
        "/staff/activities",
        "/staff/members",
        "/staff/corrections",
    ],
    "fund_officer": ["/staff/fund", "/staff/donations", "/staff/settlements"],
    "auditor": ["/staff/audit"],
    "admin": ["/staff/users"],
    "merchant": ["/shop", "/shop/statements/2026-03"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_write_dates_one_way(app, ledger_of_two_months, lang):
    problems, seen = [], []
    for role, paths in PAGES.items():
        client = reader(app, role, lang)
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (role, path, answer.status_code)
            text = visible(answer.get_data(as_text=True))
            problems += [f"{path} ({role or 'public'}, {lang}): {p}" for p in other_forms(text)]
            seen.append(text)
    assert not problems, "dates not in the glossary's format:\n  " + "\n  ".join(problems)
    everything = "\n".join(seen)
    if lang == "zh":
        assert ZH_MOMENT.search(everything) and ZH_DAY.search(everything)
        assert "2026年3月" in everything and not EN_DAY.search(everything)
    else:
        assert EN_MOMENT.search(everything) and EN_DAY.search(everything)
        assert "March 2026" in everything and not ZH_DAY.search(everything)


def test_the_volunteer_history_and_the_report_read_as_the_glossary_says(app, ledger_of_two_months):
    zh = visible(reader(app, "volunteer", "zh").get("/me").get_data(as_text=True))
    en = visible(reader(app, "volunteer", "en").get("/me").get_data(as_text=True))
    assert ZH_MOMENT.search(zh), zh
    assert EN_MOMENT.search(en), en
    report = visible(reader(app, None, "en").get("/reports/2026-04").get_data(as_text=True))
    assert "April 2026" in report and EN_DAY.search(report)


def test_pdfs_and_spreadsheets_write_dates_one_way(app, ledger_of_two_months):
    anonymous = reader(app, None, "zh")
    shop = reader(app, "merchant", "zh")
    texts = {
        "report pdf": pdf_text(anonymous.get("/reports/2026-04.pdf").get_data()),
        "notice pdf": pdf_text(anonymous.get("/reports/2026-04/notice.pdf").get_data()),
        "statement pdf": pdf_text(shop.get("/shop/statements/2026-03.pdf").get_data()),
    }
    for name, client, path in (
        ("report csv", anonymous, "/reports/2026-04.csv"),
        ("statement csv", shop, "/shop/statements/2026-03.csv"),
    ):
        rows = csv.reader(io.StringIO(client.get(path).get_data().decode("utf-8-sig")))
        texts[name] = "\n".join(cell for row in rows for cell in row)
    book = load_workbook(io.BytesIO(shop.get("/shop/statements/2026-03.xlsx").get_data()))
    texts["statement xlsx"] = "\n".join(
        str(cell)
        for sheet in book
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
    problems = [f"{name}: {p}" for name, text in texts.items() for p in other_forms(text)]
    assert not problems, "dates not in the glossary's format:\n  " + "\n  ".join(problems)
    assert "2026年4月" in texts["report pdf"] and "April 2026" in texts["report pdf"]
    assert ZH_DAY.search(texts["report pdf"])  # the days donations were received, paid
    assert "2026年4月" in texts["notice pdf"]
    assert "2026年3月" in texts["statement pdf"]
    assert ZH_DAY.search(texts["report csv"]) and ZH_MOMENT.search(texts["statement csv"])
    assert ZH_MOMENT.search(texts["statement xlsx"])
    english = anonymous.get("/reports/2026-04.csv?lang=en").get_data().decode("utf-8-sig")
    assert EN_DAY.search(english) and not other_forms(english)
