"""What the public sees names nobody it should not (SPEC §1, §7; docs/REPORTS.md): no
fund report, in any format, names a volunteer or a beneficiary, and donors who asked to
stay anonymous show as "匿名 / anonymous"; the leaderboard names only volunteers who
opted in. Merchants (public partners) and named donors do appear, which shows that the
searches below look at text that can hold names."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from pypdf import PdfReader

from tests.scenario import Community

OPTED_IN = ("隐私测试志愿者甲", "PublicHeroChen")
NEVER_OPTED_IN = ("隐私测试志愿者乙", "SecretVolunteerQian")
OPTED_OUT_AGAIN = "OptedOutVolunteerSun"
BENEFICIARIES = ("SecretBeneficiaryZhao", "隐私受益人李奶奶")
ANONYMOUS_DONORS = ("隐秘捐赠人王先生", "HiddenDonorWu", "AnonymousPatronXu")
NAMED_DONOR = "金沙居民委员会"
SHOPS = ("社区便利店", "Corner Grocery")

VOLUNTEERS = (*OPTED_IN, *NEVER_OPTED_IN, OPTED_OUT_AGAIN)
NEVER_PUBLIC = (*NEVER_OPTED_IN, OPTED_OUT_AGAIN, *BENEFICIARIES, *ANONYMOUS_DONORS)
NOT_IN_REPORTS = (*NEVER_PUBLIC, *OPTED_IN)


def build(community: Community, sign_in) -> dict[str, str]:
    """March and April 2026: every kind of volunteer earns, beneficiaries are granted,
    spend, and are named in free text (incident descriptions, gift messages, a correction
    reason); named and anonymous donations; a settlement of March paid in April.
    Returns the account ids by name."""
    ledger, coordinator = community.ledger, community.coordinator
    community.move_to_local(2026, 3, 2)
    ids = {name: community.volunteer(name) for name in VOLUNTEERS}
    ids |= {name: community.beneficiary(name) for name in BENEFICIARIES}
    ids |= {SHOPS[0]: community.merchant(SHOPS[0]), SHOPS[1]: community.merchant(SHOPS[1])}
    zhao, grandma_li = (ids[name] for name in BENEFICIARIES)

    community.move_to_local(2026, 3, 5)
    for number, name in enumerate(VOLUNTEERS, start=1):
        incident = ledger.submit_incident(
            ids[name], "resident_need", f"{BENEFICIARIES[number % 2]} needs help; {name} saw it"
        )
        ledger.verify_incident(incident.id, coordinator, award=10 * number)
    now = community.now
    walk = ledger.create_activity(
        f"Walk with {BENEFICIARIES[0]}",
        now - timedelta(hours=1),
        now + timedelta(hours=1),
        7,
        coordinator,
    )
    for name in VOLUNTEERS:
        ledger.check_in(walk.id, ids[name], walk.checkin_code)
    ledger.confirm_attendance(walk.id, coordinator)

    ledger.set_leaderboard_opt_in(ids[OPTED_IN[0]], True)
    owner = sign_in("volunteer", account_id=ids[OPTED_IN[1]])
    chosen = owner.patch(f"/api/v1/accounts/{ids[OPTED_IN[1]]}", json={"leaderboard_opt_in": True})
    assert chosen.status_code == 200
    ledger.set_leaderboard_opt_in(ids[OPTED_OUT_AGAIN], True)
    ledger.set_leaderboard_opt_in(ids[NEVER_OPTED_IN[0]], False)

    community.move_to_local(2026, 3, 10)
    ledger.grant_allotments("2026-03", coordinator)
    community.spend_card(zhao, ids[SHOPS[0]], 30)
    community.spend_card(grandma_li, ids[SHOPS[0]], 25)
    community.spend(ids[VOLUNTEERS[2]], ids[SHOPS[1]], 12)
    ledger.give(ids[VOLUNTEERS[3]], zhao, 5, message=f"for {BENEFICIARIES[0]}")
    ledger.give(ids[VOLUNTEERS[0]], "pool", 4, message=f"from {VOLUNTEERS[0]}")
    ledger.allocate_pool(grandma_li, 4, coordinator)
    ledger.correct(
        ids[NEVER_OPTED_IN[1]], 2, f"{NEVER_OPTED_IN[1]} was awarded twice", coordinator,
        corrects=community.credits(ids[NEVER_OPTED_IN[1]], "award")[0],
    )  # fmt: skip
    community.donate(80_000, "R-N1", donor=NAMED_DONOR)
    for number, donor in enumerate(ANONYMOUS_DONORS[:2], start=1):
        ledger.record_donation(
            donor=donor,
            anonymous=True,
            amount_fen=10_000 * number,
            received_on=community.today,
            receipt_no=f"R-A{number}",
            by=community.officer,
        )

    community.move_to_local(2026, 4, 2)
    ledger.set_leaderboard_opt_in(ids[OPTED_OUT_AGAIN], False)
    for name in VOLUNTEERS:
        community.earn(ids[name], 9)
    ledger.grant_allotments("2026-04", coordinator)
    ledger.record_donation(
        donor=ANONYMOUS_DONORS[2],
        anonymous=True,
        amount_fen=5_000,
        received_on=date(2026, 4, 1),
        receipt_no="R-A3",
        by=community.officer,
    )
    settlement = ledger.prepare_settlement(community.officer)
    ledger.approve_settlement(settlement.id, community.second_officer)
    for number, line in enumerate(settlement.lines, start=1):
        ledger.pay_settlement_line(
            settlement.id, line.merchant_id, f"PAY-{number}", community.officer
        )
    return ids


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def public_report_texts(anonymous) -> dict[str, str]:
    """Every public form of every month's report, as text, by where it came from."""
    listed = anonymous.get("/api/v1/public/fund-reports")
    texts = {"list": listed.get_data(as_text=True)}
    periods = [item["period"] for item in listed.get_json()["items"]]
    assert periods == ["2026-04", "2026-03"]
    for period in periods:
        answer = anonymous.get(f"/api/v1/public/fund-reports/{period}")
        assert answer.status_code == 200
        texts[f"json {period}"] = answer.get_data(as_text=True)
        texts[f"decoded json {period}"] = json.dumps(answer.get_json(), ensure_ascii=False)
        for suffix in ("", ".csv", ".pdf"):
            page = anonymous.get(f"/reports/{period}{suffix}")
            assert page.status_code == 200, (period, suffix)
            if suffix == ".pdf":
                texts[f"pdf {period}"] = pdf_text(page.get_data())
            else:
                texts[f"page{suffix} {period}"] = page.get_data(as_text=True)
        csv_rows = csv.reader(io.StringIO(texts[f"page.csv {period}"]))
        texts[f"csv cells {period}"] = "\n".join(cell for row in csv_rows for cell in row)
    return texts


def leaderboard_texts(anonymous) -> dict[str, str]:
    texts = {}
    for query in ("", "?period=2026-03", "?period=2026-04"):
        answer = anonymous.get(f"/api/v1/public/leaderboard{query}")
        assert answer.status_code == 200
        texts[f"leaderboard{query}"] = answer.get_data(as_text=True)
        texts[f"decoded leaderboard{query}"] = json.dumps(answer.get_json(), ensure_ascii=False)
    return texts


def occurrences(texts: dict[str, str], names) -> list[tuple[str, str]]:
    """(name, where) for every name found in any text, spaces and line breaks ignored."""
    found = []
    for where, text in texts.items():
        squeezed = "".join(text.split())
        for name in names:
            if name in text or "".join(name.split()) in squeezed:
                found.append((name, where))
    return found


def test_no_public_report_names_a_volunteer_a_beneficiary_or_an_anonymous_donor(
    sign_in, anonymous, community
):
    build(community, sign_in)
    texts = public_report_texts(anonymous)
    assert occurrences(texts, NOT_IN_REPORTS) == []

    # The searches can see names: public partners and the named donor are there, in
    # every format of the month they belong to, and anonymous donors show as such.
    for where in ("json", "decoded json", "page", "page.csv", "csv cells", "pdf"):
        march, april = texts[f"{where} 2026-03"], texts[f"{where} 2026-04"]
        if where != "json":  # the raw JSON may escape non-ASCII text
            assert NAMED_DONOR in march, where
            assert SHOPS[0] in april, where
        assert SHOPS[1] in april, where
        anonymous = "anonymous" if where == "json" else "匿名"  # the pages say it in Chinese
        assert anonymous in march and anonymous in april, where
    march = json.loads(texts["json 2026-03"])
    assert [d["donor"] for d in march["donations"]["items"]] == [
        NAMED_DONOR,
        "匿名 / anonymous",
        "匿名 / anonymous",
    ]
    april = json.loads(texts["json 2026-04"])
    assert [d["donor"] for d in april["donations"]["items"]] == ["匿名 / anonymous"]
    assert {p["merchant"] for p in april["payouts"]["items"]} == set(SHOPS)
    assert "匿名" in texts["pdf 2026-03"] and "匿名" in texts["page 2026-04"]


def test_the_leaderboard_names_only_volunteers_who_opted_in(sign_in, anonymous, community):
    build(community, sign_in)
    texts = leaderboard_texts(anonymous)
    assert occurrences(texts, NEVER_PUBLIC) == []
    for where, text in texts.items():
        if where.startswith("decoded"):
            assert all(name in text for name in OPTED_IN), where
    # March: volunteer n reported an incident worth 10 × n and attended the walk (7).
    march = anonymous.get("/api/v1/public/leaderboard?period=2026-03").get_json()["items"]
    assert march == [
        {"display_name": "PublicHeroChen", "beans_earned": 27},  # 20 + 7
        {"display_name": "隐私测试志愿者甲", "beans_earned": 17},  # 10 + 7
    ]
    april = anonymous.get("/api/v1/public/leaderboard").get_json()["items"]
    assert sorted(i["display_name"] for i in april) == sorted(OPTED_IN)
    assert {i["beans_earned"] for i in april} == {9}
