"""The auditor's event log page (issue 17, item 11): the newest first, filtered by kind of
record, account (number or id) and days, the filters kept by the page links; each event
named in words, its details labelled and written for a person (no class names, no JSON)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask_babel import gettext
from markupsafe import escape

from api.web.audit_words import describe, event_name
from api.web.auditor import MAX_PAGE_SIZE
from ledger.views import Actor
from tests.api.test_web_staff_pages import PASSWORD, text
from tests.projection_helpers import tell_story

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def auditor_client(app):
    app.extensions["goldbean.auth"].create_user("auditor-1", PASSWORD, "auditor")
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"username": "auditor-1", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 303
    return client


def zh(app, msgid: str, **values) -> str:
    with app.test_request_context("/?lang=zh_CN"):
        return str(escape(gettext(msgid, **values)))


def positions(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'data-position="(\d+)"', html)]


def types(html: str) -> list[str]:
    return re.findall(r'data-type="([^"]+)"', html)


def test_the_log_reads_the_newest_first_in_words(app, community):
    li = community.volunteer("李伟")
    shop = community.merchant("幸福便民超市")
    community.earn(li, 12)
    community.spend(li, shop, 5)
    community.donate(500_000)
    auditor = auditor_client(app)
    html = text(auditor.get("/staff/audit"))
    shown = positions(html)
    assert shown == sorted(shown, reverse=True) and len(shown) > 5
    assert types(html)[0] == "Fund.DonationReceived"  # the last thing done comes first
    payment = html[html.index('data-type="Redemption.Made"') :]
    payment = payment[: payment.index("</tr>")]
    number = community.ledger.get_account(li).number
    for words in (
        zh(app, "Payment at a shop"),
        zh(app, "Payer"),
        zh(app, "%(name)s (account %(number)s)", name="李伟", number=number),
        "幸福便民超市",
        "5 金豆",
        zh(app, "Payment code"),
    ):
        assert words in payment, (words, payment)
    assert "¥5,000.00" in html  # the donation, in yuan with a thousands separator
    for raw in ("_type_", "Redemption.Made<", "payer_id", "{&#34;", '{"'):
        assert raw not in html.split("<main", 1)[1].replace('data-type="', ""), raw


def test_the_log_filters_by_kind_account_and_days_and_pages_keep_the_filters(app, community):
    li = community.volunteer("李伟")
    wang = community.volunteer("王芳")
    shop = community.merchant("幸福便民超市")
    community.earn(li, 12)
    first_day = community.today
    community.next_day()
    for _ in range(3):
        community.spend(li, shop, 1)
    community.earn(wang, 4)
    second_day = community.today
    auditor = auditor_client(app)
    number = community.ledger.get_account(li).number

    mine = text(auditor.get(f"/staff/audit?kind=Redemption&account={number}&limit=2"))
    assert types(mine) == ["Redemption.Made", "Redemption.Made"]
    assert 'value="Redemption" selected' in mine and f'value="{number}"' in mine
    older = re.search(r'href="([^"]+)" id="events-next"', mine).group(1).replace("&amp;", "&")
    assert f"account={number}" in older and "kind=Redemption" in older and "before=" in older
    rest = text(auditor.get(older))
    assert types(rest) == ["Redemption.Made"]
    assert positions(rest)[0] < positions(mine)[-1]

    wangs = text(auditor.get(f"/staff/audit?account={wang}"))  # by id: only Wang's events
    assert "王芳" in wangs and "Volunteer.BeansCredited" in types(wangs)
    assert "Redemption.Made" not in types(wangs)

    day_one = text(auditor.get(f"/staff/audit?from={first_day}&to={first_day}"))
    assert "Incident.Verified" in types(day_one) or "Activity.AttendanceConfirmed" in types(day_one)
    assert "Redemption.Made" not in types(day_one)
    day_two = text(auditor.get(f"/staff/audit?from={second_day}&to={second_day}"))
    assert types(day_two).count("Redemption.Made") == 3
    later = second_day + timedelta(days=1)
    assert 'id="no-events"' in text(auditor.get(f"/staff/audit?from={later}"))

    unknown = text(auditor.get("/staff/audit?account=99999999"))
    assert 'id="account-error"' in unknown and 'id="no-events"' in unknown


def test_names_and_details_are_words_in_chinese(app):
    with app.test_request_context("/?lang=zh_CN"):
        assert event_name("Redemption.Made") == "消费"
        assert event_name("Volunteer.BeansCredited") == event_name("Merchant.BeansCredited")
        shown = dict(
            describe(
                "Redemption.Made",
                {"payer_id": "p", "amount": 1500, "method": "card", "note": None},
                lambda account_id: f"<{account_id}>",
            )
        )
        assert shown == {
            gettext("Payer"): "<p>",
            gettext("Amount"): "1,500 " + gettext("beans"),
            gettext("Paid with"): gettext("Card"),
        }
        assert all(re.search("[\u4e00-\u9fff]", label) for label in shown)


def test_odd_filters_never_break_the_page(app, community):
    community.earn(community.volunteer("李伟"), 3)
    auditor = auditor_client(app)
    for query in (
        "from=yesterday&to=2026-13-40",
        "from=2026-03-12&to=2026-03-01",  # the wrong way round: read as 1 to 12 March
        "account=%00%27%22<script>",
        "account=" + "9" * 200,
        "before=-5&limit=abc",
        "before=99999999999999999999999",
        "kind=Nothing&account=&from=&to=",
    ):
        answer = auditor.get(f"/staff/audit?{query}")
        assert answer.status_code == 200, query
        assert "<script>" not in text(answer).split("<main", 1)[1], query
    swapped = text(auditor.get("/staff/audit?from=2026-03-12&to=2026-03-01"))
    assert 'value="2026-03-01"' in swapped and positions(swapped)


def test_every_event_of_three_months_reads_in_words(app, community):
    """The worked three months (every kind of record: settlements, approvals, refunds,
    gifts, corrections...) and an erased member: each event has its words, no field is
    shown by its stored name, and an erased person is named as erased."""
    story = tell_story(community, date(2026, 3, 1))
    zhao = community.beneficiary("赵秀英")
    community.ledger.request_erasure(zhao, community.coordinator)
    community.ledger.approve_erasure(zhao, Actor("admin"))
    auditor = auditor_client(app)
    seen: set[str] = set()
    before = None
    while True:
        page = text(
            auditor.get(
                f"/staff/audit?limit={MAX_PAGE_SIZE}" + (f"&before={before}" if before else "")
            )
        )
        seen |= set(types(page))
        main = page.split("<main", 1)[1]
        for name in re.findall(r'<td class="event-name">([^<]+)</td>', main):
            assert "." not in name and not re.fullmatch(r"[A-Za-z]+", name), name
        assert "_id<" not in main and "_type_" not in main and "{&#34;" not in main
        found = re.search(r'href="[^"]*before=(\d+)[^"]*" id="events-next"', page)
        if not found:
            break
        before = found.group(1)
    assert {"Settlement.Prepared", "Redemption.Refunded", "Gift.Given"} <= seen
    assert story and len(seen) > 25
    erased = text(auditor.get(f"/staff/audit?account={zhao}"))
    assert zh(app, "(personal data erased)") in erased and "赵秀英" not in erased
