"""The glossary's words and its one date format, as people read them in a browser
(issue 17, item 13; docs/GLOSSARY.md).

李伟 reports a quarrel between neighbours and it is verified; a second report waits; a
donation comes in. Then, in Chinese and in English:

- the volunteer, on a phone, reads their history on /me and their reports on /me/report:
  each time written 2026年12月8日 14:05 / 8 Dec 2026, 14:05, the kind named 邻里纠纷 /
  Dispute between neighbours;
- the coordinator, on a desktop, reads the incident queue: the same kind name and format;
- a resident, on a phone, reads this month's public fund report: the month as 2026年12月 /
  December 2026, the donation's day as 2026年12月8日 / 8 Dec 2026.

No page shows a retired word of the glossary (read from docs/GLOSSARY.md by
tests/unit/test_glossary.py) or a date written another way (2026/12/8, 12/8/26, Dec 8,
2026, 2:05 PM). axe-core checks every page.
"""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from api.dates import day_text, month_text
from ledger.views import Actor
from tests.e2e.browser import DESKTOP, PHONE, sign_in
from tests.unit.test_glossary import retired_in

ZH_MOMENT = re.compile(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d")
EN_MOMENT = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d\b")
OTHER_DATES = re.compile(
    r"\b\d{4}/\d{1,2}/\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b20\d\d-\d\d-\d\d\b"
    r"|\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b|\b\d{1,2}:\d\d ?[AP]M\b|[上下]午\d"
)
QUARREL = "6栋2单元楼上楼下因漏水争吵"
WAITING = "小区北门路灯不亮"


def read(page, site, path: str, lang: str, axe) -> str:
    """Open ``path`` in ``lang`` and return what the reader sees, after checking that it
    holds no retired word and no other date form."""
    page.goto(f"{site.url}{path}{'&' if '?' in path else '?'}lang={lang}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    axe.check(page)
    text = page.locator("main").inner_text()
    assert not retired_in(text, lang), (path, lang, retired_in(text, lang))
    assert not OTHER_DATES.search(text), (path, lang, OTHER_DATES.search(text))
    return text


def test_pages_use_the_glossary_words_and_one_date_format(site, open_as, axe):
    ledger = site.ledger
    quarrel = ledger.submit_incident(site.volunteer_id, "dispute", QUARREL, "6栋")
    ledger.verify_incident(quarrel.id, Actor("coordinator"), award=3)
    ledger.submit_incident(site.volunteer_id, "sanitation", WAITING, "北门")
    ledger.record_donation(
        donor="金沙社区居委会",
        anonymous=False,
        amount_fen=20_000,
        received_on=site.today(),
        receipt_no="R-WORDS-1",
        by=Actor("officer1"),
    )

    volunteer = open_as(PHONE)
    sign_in(volunteer, site, "liwei", axe=axe)
    coordinator = open_as(DESKTOP)
    sign_in(coordinator, site, "coordinator")
    resident = open_as(PHONE)

    for lang, moment, dispute, month, day in (
        ("zh", ZH_MOMENT, "邻里纠纷", month_text(site.period(), "zh"), day_text(site.today())),
        ("en", EN_MOMENT, "Dispute between neighbours", month_text(site.period(), "en"), ""),
    ):
        day = day or day_text(site.today(), "en")

        # the volunteer's history: the award with its time, the glossary's way
        history = read(volunteer, site, "/me", lang, axe)
        assert moment.search(history), history
        first = volunteer.locator("td.when time").first
        expect(first).to_have_text(moment)
        assert datetime.fromisoformat(first.get_attribute("datetime"))  # the machine's copy

        # their reports: the kind's one name, and when each was sent
        reports = read(volunteer, site, "/me/report", lang, axe)
        assert dispute in reports and QUARREL in reports
        assert len(moment.findall(reports)) >= 2, reports

        # the coordinator's queue
        queue = read(coordinator, site, "/staff/incidents", lang, axe)
        assert dispute in queue and moment.search(queue), queue

        # the public report of this month
        report = read(resident, site, f"/reports/{site.period()}", lang, axe)
        expect(resident.get_by_role("heading", level=1)).to_contain_text(month)
        assert day in report, report

    axe.assert_clean()
