"""The public fund reports, merchant statements, report pages and the leaderboard over
HTTP (SPEC §6, §7, §10; docs/REPORTS.md defines every figure).

Most tests tell one worked accounting story over March and April 2026 in Kunming and
check the published figures against the arithmetic written out beside them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import zxingcpp
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from projections.verifier import GENESIS, chain_step, compare_reports, compute_reports
from tests.api.helpers import problem_code
from tests.projection_helpers import named
from tests.scenario import Community

REPORTS = "/api/v1/public/fund-reports"
LEADERBOARD = "/api/v1/public/leaderboard"
MERCHANTS = "/api/v1/merchants"
ANONYMOUS = "匿名 / anonymous"
KUNMING = ZoneInfo("Asia/Shanghai")
STAFF = ("coordinator", "fund_officer", "auditor", "admin")


# --- the story --------------------------------------------------------------------------------


@dataclass
class Story:
    """Ids of the people and shops of the story, and the settlement once prepared."""

    li: str
    wang: str
    zhao: str
    grocery: str
    canteen: str
    settlement_id: str | None = None


def march(community: Community) -> Story:
    """March 2026.

    * 2 March: volunteers Li Wei and Wang Fang, beneficiary Grandma Zhao, merchants
      Corner Grocery (12.55 % rebate) and Noodle Canteen (default 10 %).
    * 5 March: Li reports an incident verified with 30 beans; Wang reports a dispute
      (3 beans by default) that Li and Wang then handle (5 beans each).
    * 12 March: a river clean-up worth 8 beans; Li and Wang check in and are confirmed.
    * 15 March: Zhao's monthly allotment of 100 beans.
    * 18 March: Li spends 20 at the grocery; Zhao spends 15 at the canteen by card.
    * 19 March: the grocery refunds 6 of Li's 20.
    * 20 March: Wang gives 4 beans to Zhao; Li gives 2 to the pool.
    * 22 March: the coordinator corrects 3 beans of Wang's (the dispute award in error).
    * 25 March: the Jinsha Residents Committee donates ¥1,000.00.
    """
    ledger, coordinator = community.ledger, community.coordinator
    community.move_to_local(2026, 3, 2, 9)
    li = community.volunteer("Li Wei")
    wang = community.volunteer("Wang Fang")
    zhao = community.beneficiary("Grandma Zhao")
    grocery = community.merchant("Corner Grocery", rebate_bps=1255)
    canteen = community.merchant("Noodle Canteen", category="canteen")

    community.move_to_local(2026, 3, 5)
    community.earn(li, 30)
    dispute = ledger.submit_incident(wang, "dispute", "neighbours quarrel over parking")
    ledger.verify_incident(dispute.id, coordinator)
    ledger.assign_handlers(dispute.id, coordinator, [li, wang])
    ledger.resolve_incident(dispute.id, coordinator)

    community.move_to_local(2026, 3, 12, 14)
    now = community.now
    clean_up = ledger.create_activity(
        "River clean-up", now - timedelta(minutes=30), now + timedelta(hours=2), 8, coordinator
    )
    for volunteer in (li, wang):
        ledger.check_in(clean_up.id, volunteer, clean_up.checkin_code)
    ledger.confirm_attendance(clean_up.id, coordinator)

    community.move_to_local(2026, 3, 15)
    ledger.grant_allotments("2026-03", coordinator)

    community.move_to_local(2026, 3, 18)
    lunch = community.spend(li, grocery, 20)
    community.spend_card(zhao, canteen, 15)
    community.move_to_local(2026, 3, 19)
    community.refund(lunch, 6)

    community.move_to_local(2026, 3, 20)
    community.give(wang, zhao, 4)
    community.give(li, "pool", 2)

    community.move_to_local(2026, 3, 22)
    ledger.correct(wang, 3, "dispute award given in error", coordinator, corrects=dispute.id)

    community.move_to_local(2026, 3, 25)
    community.donate(100_000, "R-0301", donor="Jinsha Residents Committee")
    return Story(li, wang, zhao, grocery, canteen)


def april(community: Community, story: Story) -> None:
    """April 2026, up to the settlement.

    * 2 April: Li reports an incident verified with 16 beans, then pays 10 at the canteen
      by scanning its counter code.
    * 3 April: an anonymous donation of ¥500.50 (received on 1 April); the coordinator
      allocates the 2 beans of the pool to Zhao.
    """
    community.move_to_local(2026, 4, 2)
    community.earn(story.li, 16)
    community.move_to_local(2026, 4, 2, 11)
    community.pay(story.li, story.canteen, 10)

    community.move_to_local(2026, 4, 3, 9)
    community.ledger.record_donation(
        donor="Mr Hidden Donor",
        anonymous=True,
        amount_fen=50_050,
        received_on=date(2026, 4, 1),
        receipt_no="R-0401",
        by=community.officer,
    )
    community.move_to_local(2026, 4, 3, 10)
    community.ledger.allocate_pool(story.zhao, 2, community.coordinator)


def prepare_settlement(community: Community, story: Story) -> None:
    """6 April: fund officer 1 prepares the settlement of March (cutoff 1 April): the
    grocery's 20 - 6 = 14 beans and the canteen's 15 (its April sale comes after the
    cutoff); fund officer 2 approves it."""
    community.move_to_local(2026, 4, 6)
    ledger = community.ledger
    prepared = ledger.prepare_settlement(community.officer)
    assert prepared.period == "2026-03"
    lines = {
        line.merchant_id: (line.beans, line.cash_fen, line.rebate_fen) for line in prepared.lines
    }
    # 14 beans = ¥14.00, rebate 1400 × 12.55 % = 175.7 -> 176; 15 beans, 10 % of 1500 = 150.
    assert lines == {story.grocery: (14, 1400, 176), story.canteen: (15, 1500, 150)}
    ledger.approve_settlement(prepared.id, community.second_officer)
    story.settlement_id = prepared.id


def pay_the_grocery(community: Community, story: Story) -> None:
    """7 April 15:00: the grocery's line is paid (¥14.00 + ¥1.76); the canteen's is not."""
    community.move_to_local(2026, 4, 7, 15)
    community.ledger.pay_settlement_line(
        story.settlement_id, story.grocery, "BANK-0407-1", community.officer
    )


def tell(community: Community) -> Story:
    """The whole story; the clock ends on 7 April 2026, 15:00 in Kunming."""
    story = march(community)
    april(community, story)
    prepare_settlement(community, story)
    pay_the_grocery(community, story)
    return story


def chain_heads(community: Community) -> dict[str, str]:
    """The chain value after the last event of each local month, recomputed here from the
    stored events (SPEC §8) with the auditor's own chain step."""
    heads, previous = {}, GENESIS
    for n in community.ledger.recorder.select_notifications(start=1, limit=100_000):
        previous = chain_step(
            previous, n.id, str(n.originator_id), n.originator_version, n.topic, n.state
        )
        stamp = json.loads(n.state)["timestamp"]["_data_"]
        heads[datetime.fromisoformat(stamp).astimezone(KUNMING).strftime("%Y-%m")] = previous.hex()
    return heads


def report(client, period: str) -> dict:
    answer = client.get(f"{REPORTS}/{period}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


# --- the reports, figure by figure -------------------------------------------------------------


def march_report(final: bool, head: str) -> dict:
    return {
        "period": "2026-03",
        "final": final,
        "donations": {
            "count": 1,
            "total_fen": 100_000,
            "items": [
                {
                    "received_on": "2026-03-25",
                    "donor": "Jinsha Residents Committee",
                    "amount_fen": 100_000,
                    "receipt_no": "R-0301",
                }
            ],
        },
        "payouts": {"cash_fen": 0, "rebate_fen": 0, "items": []},  # paid in April
        "beans": {
            "issued": {
                # Li 30 (own report) + Wang 3 (dispute report) + Li 5 + Wang 5 (handlers)
                "incident_awards": 43,
                # the clean-up: Li 8 + Wang 8
                "activity_awards": 16,
                "allotments": 100,  # Zhao
                "total": 159,  # 43 + 16 + 100
            },
            "redeemed": 35,  # Li 20 at the grocery + Zhao 15 at the canteen
            "refunded": 6,
            "gifted": 6,  # Wang 4 to Zhao + Li 2 to the pool
            "retired": 0,
            "corrected": 3,
            # 159 - 3 corrected - 0 retired; held: Li 30+5+8-20+6-2 = 27, Wang
            # 3+5+8-4-3 = 9, Zhao 100-15+4 = 89, pool 2, grocery 14, canteen 15: 156
            "outstanding_end": 156,
        },
        "fund": {
            "balance_start_fen": 0,
            "balance_end_fen": 100_000,
            # paying them, rebates included: the grocery's 14 at its 12.55 % (1400 + 176),
            # the canteen's 15 at 10 % (1500 + 150), and the 127 not yet spent at the
            # highest rate, 12.55 % (12700 + 1593.85 -> 1594): 1576 + 1650 + 14294
            "liability_end_fen": 17_520,
            "coverage_end": "5.7078",  # 100000 / 17520 = 5.707762...
        },
        "activity": {
            "active_volunteers": 2,  # Li and Wang were awarded
            "incidents_verified": 2,
            "redemptions": 2,
            "merchants_paid": 0,
        },
        "rule_changes": [],
        "chain_head": head,
    }


def april_report(final: bool, head: str) -> dict:
    return {
        "period": "2026-04",
        "final": final,
        "donations": {
            "count": 1,
            "total_fen": 50_050,
            "items": [
                {
                    "received_on": "2026-04-01",  # as received, though recorded on the 3rd
                    "donor": ANONYMOUS,
                    "amount_fen": 50_050,
                    "receipt_no": "R-0401",
                }
            ],
        },
        "payouts": {
            "cash_fen": 1400,
            "rebate_fen": 176,
            "items": [
                {
                    "merchant": "Corner Grocery",
                    "beans": 14,
                    "cash_fen": 1400,
                    "rebate_fen": 176,
                    "paid_on": "2026-04-07",
                    "payment_ref": "BANK-0407-1",
                }
            ],
        },
        "beans": {
            "issued": {
                "incident_awards": 16,
                "activity_awards": 0,
                "allotments": 0,
                "total": 16,
            },
            "redeemed": 10,  # Li at the canteen
            "refunded": 0,
            "gifted": 0,  # the pool allocation is not a gift
            "retired": 14,  # the grocery's paid line
            "corrected": 0,
            # 156 + 16 - 14; held: Li 27+16-10 = 33, Wang 9, Zhao 89+2 = 91, pool 0,
            # grocery 0, canteen 15+10 = 25: 158
            "outstanding_end": 158,
        },
        "fund": {
            "balance_start_fen": 100_000,
            "balance_end_fen": 148_474,  # 100000 + 50050 - (1400 + 176)
            # the canteen's 25 at 10 % (2500 + 250) and the 133 not yet spent at 12.55 %
            # (13300 + 1669.15 -> 1669): 2750 + 14969
            "liability_end_fen": 17_719,
            "coverage_end": "8.3794",  # 148474 / 17719 = 8.379366...
        },
        "activity": {
            "active_volunteers": 1,
            "incidents_verified": 1,
            "redemptions": 1,
            "merchants_paid": 1,
        },
        "rule_changes": [],
        "chain_head": head,
    }


def test_the_march_and_april_reports_have_the_figures_worked_by_hand(anonymous, community):
    story = march(community)
    heads = chain_heads(community)
    assert report(anonymous, "2026-03") == march_report(final=False, head=heads["2026-03"])
    listed = anonymous.get(REPORTS)
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [{"period": "2026-03", "final": False}]}

    april(community, story)
    prepare_settlement(community, story)
    pay_the_grocery(community, story)
    heads = chain_heads(community)
    assert heads["2026-03"] != heads["2026-04"]
    assert report(anonymous, "2026-03") == march_report(final=True, head=heads["2026-03"])
    assert report(anonymous, "2026-04") == april_report(final=False, head=heads["2026-04"])
    assert anonymous.get(REPORTS).get_json() == {
        "items": [{"period": "2026-04", "final": False}, {"period": "2026-03", "final": True}]
    }
    community.check_books()


def test_april_becomes_final_at_local_midnight_and_quiet_months_carry_the_balances(
    anonymous, community
):
    tell(community)
    community.move_to_local(2026, 4, 30, 23, 59)
    assert report(anonymous, "2026-04")["final"] is False
    community.move_to_local(2026, 5, 1, 0, 0)  # still 30 April in UTC
    assert report(anonymous, "2026-04")["final"] is True
    assert anonymous.get(REPORTS).get_json()["items"][:2] == [
        {"period": "2026-05", "final": False},
        {"period": "2026-04", "final": True},
    ]

    community.move_to_local(2026, 6, 15)
    assert anonymous.get(REPORTS).get_json() == {
        "items": [
            {"period": "2026-06", "final": False},
            {"period": "2026-05", "final": True},
            {"period": "2026-04", "final": True},
            {"period": "2026-03", "final": True},
        ]
    }
    april_head = chain_heads(community)["2026-04"]
    assert report(anonymous, "2026-04") == april_report(final=True, head=april_head)
    may = report(anonymous, "2026-05")
    assert may == {
        "period": "2026-05",
        "final": True,
        "donations": {"count": 0, "total_fen": 0, "items": []},
        "payouts": {"cash_fen": 0, "rebate_fen": 0, "items": []},
        "beans": {
            "issued": {"incident_awards": 0, "activity_awards": 0, "allotments": 0, "total": 0},
            "redeemed": 0,
            "refunded": 0,
            "gifted": 0,
            "retired": 0,
            "corrected": 0,
            "outstanding_end": 158,  # nothing moved since April
        },
        "fund": {
            "balance_start_fen": 148_474,
            "balance_end_fen": 148_474,
            "liability_end_fen": 17_719,
            "coverage_end": "8.3794",
        },
        "activity": {
            "active_volunteers": 0,
            "incidents_verified": 0,
            "redemptions": 0,
            "merchants_paid": 0,
        },
        "rule_changes": [],
        "chain_head": april_head,  # no event since April's last
    }
    june = report(anonymous, "2026-06")
    assert june["final"] is False
    assert june["fund"] == may["fund"] and june["chain_head"] == april_head


def test_the_auditors_verifier_recomputes_the_published_reports_from_the_log(anonymous, community):
    tell(community)
    community.move_to_local(2026, 5, 3)
    events = [
        {
            "position": n.id,
            "originator_id": str(n.originator_id),
            "version": n.originator_version,
            "topic": n.topic,
            "state": n.state.decode("utf-8"),
        }
        for n in community.ledger.recorder.select_notifications(start=1, limit=100_000)
    ]
    header = {"time_zone": "Asia/Shanghai", "bean_value_fen": 100}
    recomputed = compute_reports(header, events, now=community.now)
    periods = [item["period"] for item in anonymous.get(REPORTS).get_json()["items"]]
    assert periods == ["2026-05", "2026-04", "2026-03"]
    published = {period: report(anonymous, period) for period in periods}
    assert not compare_reports(recomputed, published)
    assert {p: named(r, published[p]) for p, r in recomputed.items()} == published


def test_months_outside_the_history_are_not_found_and_bad_periods_are_invalid(anonymous, community):
    assert anonymous.get(REPORTS).get_json() == {"items": []}
    empty = anonymous.get(f"{REPORTS}/2026-03")  # the current month, but nothing happened yet
    assert empty.status_code == 404 and problem_code(empty) == "not_found"

    march(community)
    community.move_to_local(2026, 4, 10)
    for period in ("2026-02", "2025-12", "2026-05", "2027-03"):
        answer = anonymous.get(f"{REPORTS}/{period}")
        assert answer.status_code == 404 and problem_code(answer) == "not_found", period
    for bad in ("2026-13", "abc", "2026-00", "2026-3", "26-03"):
        answer = anonymous.get(f"{REPORTS}/{bad}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad
    assert report(anonymous, "2026-04")["beans"]["outstanding_end"] == 156


def test_a_month_is_the_programmes_local_month(anonymous, community):
    """Li earns 50 and spends 20 at 20:00 on 31 March; the line of March is paid at 00:10
    on 1 April in Kunming, which is still 31 March in UTC: the payout, the retired beans
    and the fund's cash out belong to April."""
    community.move_to_local(2026, 3, 31, 20)
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    community.earn(li, 50)
    community.spend(li, shop, 20)
    community.donate(100_000, "R-1")
    community.move_to_local(2026, 4, 1, 0, 10)
    assert community.now.day == 31
    settled = community.settle()
    assert settled.period == "2026-03"

    march = report(anonymous, "2026-03")
    assert march["payouts"] == {"cash_fen": 0, "rebate_fen": 0, "items": []}
    assert (march["beans"]["retired"], march["beans"]["outstanding_end"]) == (0, 50)
    assert march["fund"]["balance_end_fen"] == 100_000
    april = report(anonymous, "2026-04")
    assert april["payouts"]["items"] == [
        {
            "merchant": "Corner Grocery",
            "beans": 20,
            "cash_fen": 2000,
            "rebate_fen": 200,  # 10 % of ¥20.00
            "paid_on": "2026-04-01",  # the local date, not the UTC one
            "payment_ref": "BANK-2026-03-1",
        }
    ]
    assert (april["beans"]["retired"], april["beans"]["outstanding_end"]) == (20, 30)
    assert april["fund"] == {
        "balance_start_fen": 100_000,
        "balance_end_fen": 97_800,  # 100000 - (2000 + 200)
        "liability_end_fen": 3300,  # Li's 30 beans, cash and the 10 % rebate
        "coverage_end": "29.6364",  # 97800 / 3300 = 29.63636...
    }
    assert april["activity"]["merchants_paid"] == 1


# --- merchant statements ------------------------------------------------------------------------


def statement(client, merchant_id: str, period: str, suffix: str = ""):
    return client.get(f"{MERCHANTS}/{merchant_id}/statements/{period}{suffix}")


def test_a_statement_shows_the_merchants_month_before_and_after_its_line_is_paid(
    sign_in, community
):
    story = march(community)

    def grocery():  # signed in anew as the clock moves on (tokens expire)
        return sign_in("merchant", merchant_id=story.grocery)

    # The grocery redeemed Li's 20 and refunded 6: net 14 beans, ¥14.00, rebate at
    # 12.55 %: 1400 × 1255 / 10000 = 175.7 -> 176 fen.
    march_figures = {
        "period": "2026-03",
        "redeemed": 20,
        "refunded": 6,
        "net": 14,
        "cash_fen": 1400,
        "rebate_fen": 176,
        "settled": 0,
        "paid": False,
    }
    answer = statement(grocery(), story.grocery, "2026-03")
    assert answer.status_code == 200 and answer.get_json() == march_figures

    april(community, story)
    prepare_settlement(community, story)
    reserved = {**march_figures, "settled": 14}
    assert statement(grocery(), story.grocery, "2026-03").get_json() == reserved
    pay_the_grocery(community, story)
    paid = {**reserved, "paid": True}
    assert statement(grocery(), story.grocery, "2026-03").get_json() == paid
    # Nothing of April is settled yet; the grocery did no business in April.
    assert statement(grocery(), story.grocery, "2026-04").get_json() == {
        **march_figures,
        "period": "2026-04",
        "redeemed": 0,
        "refunded": 0,
        "net": 0,
        "cash_fen": 0,
        "rebate_fen": 0,
    }

    canteen = sign_in("merchant", merchant_id=story.canteen)
    # The canteen (10 %): Zhao's 15 in March, settled but not paid; Li's 10 in April.
    assert statement(canteen, story.canteen, "2026-03").get_json() == {
        "period": "2026-03",
        "redeemed": 15,
        "refunded": 0,
        "net": 15,
        "cash_fen": 1500,
        "rebate_fen": 150,
        "settled": 15,
        "paid": False,
    }
    assert statement(canteen, story.canteen, "2026-04").get_json() == {
        "period": "2026-04",
        "redeemed": 10,
        "refunded": 0,
        "net": 10,
        "cash_fen": 1000,
        "rebate_fen": 100,
        "settled": 0,
        "paid": False,
    }


def test_a_statement_is_paid_only_when_every_net_bean_of_the_month_is_paid(sign_in, community):
    """Issue 14: a month with net 283 and 263 settled and paid showed paid: true. The
    grocery takes 263 by 10 March, a settlement with cutoff 11 March pays them, and it
    takes 20 more on 11 March; the April settlement pays those too."""
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    shop = community.merchant("Corner Grocery")
    community.earn(li, 200)
    community.earn(wang, 200)
    community.spend(li, shop, 200)
    community.spend(wang, shop, 63)
    community.donate(1_000_000)
    community.settle(cutoff=community.today + timedelta(days=1))
    community.next_day()
    community.spend(wang, shop, 20)

    grocery = sign_in("merchant", merchant_id=shop)
    march_figures = statement(grocery, shop, "2026-03").get_json()
    assert (march_figures["net"], march_figures["settled"]) == (283, 263)
    assert march_figures["paid"] is False

    community.move_to_local(2026, 4, 2)
    settlement = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(settlement.id, community.second_officer)
    grocery = sign_in("merchant", merchant_id=shop)
    assert statement(grocery, shop, "2026-03").get_json()["paid"] is False  # approved, unpaid
    community.ledger.pay_settlement_line(settlement.id, shop, "BANK-0402", community.officer)
    figures = statement(grocery, shop, "2026-03").get_json()
    assert (figures["net"], figures["settled"], figures["paid"]) == (283, 283, True)


def download_name(answer) -> str:
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=", 1)[1].strip('"')


def test_a_statement_as_csv_and_pdf_carries_the_same_figures(sign_in, community):
    story = tell(community)
    grocery = sign_in("merchant", merchant_id=story.grocery)
    figures = statement(grocery, story.grocery, "2026-03").get_json()
    assert (figures["net"], figures["cash_fen"], figures["rebate_fen"]) == (14, 1400, 176)

    as_csv = statement(grocery, story.grocery, "2026-03", ".csv")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    name = download_name(as_csv)
    assert name.endswith("-2026-03.csv") and name.startswith("statement-")
    assert as_csv.get_data().startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(as_csv.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["field", "value"]
    values = dict(rows[1:])
    assert values.pop("merchant") == "Corner Grocery"
    expected = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in figures.items()}
    assert values == expected
    assert values["paid"] == "true" and values["rebate_fen"] == "176"

    as_pdf = statement(grocery, story.grocery, "2026-03", ".pdf")
    assert as_pdf.status_code == 200 and as_pdf.mimetype == "application/pdf"
    assert download_name(as_pdf).endswith("-2026-03.pdf")
    body = as_pdf.get_data()
    assert body.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    for shown in ("Corner Grocery", "2026年3月 / March 2026", "14.00", "1.76"):
        assert shown in text, shown


def test_statements_in_every_format_are_for_the_merchant_itself_and_staff(
    sign_in, anonymous, community
):
    story = march(community)
    readers = [sign_in("merchant", merchant_id=story.grocery)]
    readers += [sign_in(role) for role in STAFF]
    intruders = [
        sign_in("merchant", merchant_id=story.canteen),
        sign_in("volunteer", account_id=story.li),
        sign_in("beneficiary", account_id=story.zhao),
    ]
    for suffix in ("", ".csv", ".pdf"):
        for reader in readers:
            answer = statement(reader, story.grocery, "2026-03", suffix)
            assert answer.status_code == 200, (suffix, answer.get_data(as_text=True))
        for intruder in intruders:
            answer = statement(intruder, story.grocery, "2026-03", suffix)
            assert answer.status_code == 403 and problem_code(answer) == "forbidden", suffix
        answer = statement(anonymous, story.grocery, "2026-03", suffix)
        assert answer.status_code == 401 and problem_code(answer) == "unauthenticated", suffix


# --- the report pages ---------------------------------------------------------------------------


def csv_figures(body: str) -> dict[tuple[str, str, str], str]:
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "item", "field", "value"]
    return {(section, item, field): value for section, item, field, value in rows[1:]}


def json_leaves(value, path=()):
    """(section, item, field) -> the value as CSV text, for every leaf of a report."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from json_leaves(inner, (*path, key))
    elif isinstance(value, list):
        for number, inner in enumerate(value, start=1):
            yield from json_leaves(inner, (*path, str(number)))
    else:
        text = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
        if len(path) == 1:
            yield ("report", "", path[0]), text
        else:
            item = ".".join(p for p in path[1:-1] if p != "items")
            yield (path[0], item, path[-1]), text


def test_the_report_page_shows_the_figures_formatted(anonymous, community):
    tell(community)
    march_page = anonymous.get("/reports/2026-03")
    assert march_page.status_code == 200 and march_page.mimetype == "text/html"
    html = march_page.get_data(as_text=True)
    for shown in (
        "基金报告：2026年3月",
        "¥1,000.00",  # the donation total, 100000 fen
        "Jinsha Residents Committee",
        "R-0301",
        "¥175.20",  # the liability at the month's end, rebates included
        "570.8%",  # coverage 5.7078, as a percentage
        "159",  # beans issued
        report(anonymous, "2026-03")["chain_head"],
        'class="brand"',  # inside the site's layout, with its language switch
        'href="/reports/2026-03?lang=en"',
    ):
        assert shown in html, shown
    assert "/api/v1" not in html  # the JSON stays in the API

    april_html = anonymous.get("/reports/2026-04").get_data(as_text=True)
    for shown in (
        "¥500.50",
        "匿名",
        "Corner Grocery",
        "BANK-0407-1",
        "¥14.00",
        "¥1.76",
        "¥1,484.74",  # the balance at the end of April
        "837.9%",
        "2026年3月的消费",  # April's payouts pay for March's spending
    ):
        assert shown in april_html, shown
    assert "Mr Hidden Donor" not in april_html and "anonymous" not in april_html

    english = anonymous.get("/reports/2026-04?lang=en").get_data(as_text=True)
    for shown in ("Fund report: April 2026", "For spending in March 2026", "anonymous", "837.9%"):
        assert shown in english, shown
    assert "匿名" not in english and "基金" not in english


def test_the_report_as_csv_xlsx_and_pdf_has_the_same_figures(anonymous, community):
    tell(community)
    for period in ("2026-03", "2026-04"):
        figures = report(anonymous, period)
        as_csv = anonymous.get(f"/reports/{period}.csv")
        assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
        assert download_name(as_csv) == f"goldbean-fund-report-{period}.csv"
        body = as_csv.get_data()
        assert body.startswith("\ufeff".encode())  # Excel reads it as UTF-8
        header, values = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[:2]
        summary = dict(zip(header, values, strict=True))
        assert summary["月份"] == f"{int(period[:4])}年{int(period[5:])}月"  # as people write it
        assert summary["捐款（元）"] == yuan_text(figures["donations"]["total_fen"])
        assert summary["支付商户（元）"] == yuan_text(figures["payouts"]["cash_fen"])
        assert summary["月底余额（元）"] == yuan_text(figures["fund"]["balance_end_fen"])

        as_xlsx = anonymous.get(f"/reports/{period}.xlsx")
        assert as_xlsx.status_code == 200
        assert download_name(as_xlsx) == f"goldbean-fund-report-{period}.xlsx"
        book = load_workbook(io.BytesIO(as_xlsx.get_data()))
        assert book.sheetnames == ["概要", "捐款", "支付给商户", "金豆", "规则变更"]
        donations = list(book["捐款"].iter_rows(min_row=2, values_only=True))
        assert sum(Decimal(str(row[2])) for row in donations) * 100 == Decimal(
            figures["donations"]["total_fen"]
        )
        payouts = list(book["支付给商户"].iter_rows(min_row=2, values_only=True))
        assert sum(Decimal(str(row[3])) for row in payouts) * 100 == Decimal(
            figures["payouts"]["cash_fen"]
        )

        as_pdf = anonymous.get(f"/reports/{period}.pdf")
        assert as_pdf.status_code == 200 and as_pdf.mimetype == "application/pdf"
        assert download_name(as_pdf) == f"goldbean-fund-report-{period}.pdf"
        assert as_pdf.get_data().startswith(b"%PDF")

    pdf = anonymous.get("/reports/2026-03.pdf").get_data()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for shown in (
        "2026年3月 / March 2026",
        "1,000.00",
        "Jinsha Residents Committee",
        "570.8%",
        "175.20",
    ):
        assert shown in text, shown
    english = anonymous.get("/reports/2026-04.csv?lang=en").get_data().decode("utf-8-sig")
    assert english.startswith("Month,") and "anonymous" in english and "匿名" not in english


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def test_the_report_pages_of_an_unknown_month_are_not_found_pages(anonymous, community):
    march(community)
    unknown = ("/reports/2026-02", "/reports/2026-04.csv", "/reports/2025-12.pdf")
    unknown += ("/reports/2026-13",)
    for path in unknown:
        answer = anonymous.get(path)
        assert answer.status_code == 404 and answer.mimetype == "text/html", path
        assert "此地址没有内容" in answer.get_data(as_text=True)
    english = anonymous.get("/reports/2001-01?lang=en")
    assert english.status_code == 404 and "There is nothing at this address" in english.get_data(
        as_text=True
    )
    # the API keeps problem+json
    answer = anonymous.get(f"{REPORTS}/2026-02")
    assert answer.status_code == 404 and problem_code(answer) == "not_found"


# --- the leaderboard ----------------------------------------------------------------------------


def board(client, period: str | None = None) -> list[tuple[str, int]]:
    answer = client.get(LEADERBOARD + (f"?period={period}" if period else ""))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [(i["display_name"], i["beans_earned"]) for i in answer.get_json()["items"]]


def test_the_leaderboard_lists_opted_in_volunteers_by_beans_earned_in_awards(
    sign_in, anonymous, community
):
    """March: Li earns 30 + 16 (two incidents) and spends 20, Bai 12 + 8 at the clean-up,
    Zhou 20 and then gives 15 away, Qian 40 but never opts in. Gifts and spending change
    balances, not what was earned."""
    ledger = community.ledger
    li, bai, zhou, qian = (community.volunteer(n) for n in ("Li", "Bai", "Zhou", "Qian"))
    shop = community.merchant("Corner Grocery")
    zhao = community.beneficiary("Zhao")
    community.earn(li, 30)
    community.earn(li, 16)
    community.spend(li, shop, 20)
    community.earn(bai, 12)
    community.earn(zhou, 20)
    community.give(zhou, zhao, 15)
    community.earn(qian, 40)
    now = community.now
    clean_up = ledger.create_activity(
        "Clean-up", now - timedelta(hours=1), now + timedelta(hours=1), 8, community.coordinator
    )
    ledger.check_in(clean_up.id, bai, clean_up.checkin_code)
    ledger.confirm_attendance(clean_up.id, community.coordinator)

    assert board(anonymous) == []  # nobody has opted in
    for volunteer in (li, bai):
        owner = sign_in("volunteer", account_id=volunteer)
        answer = owner.patch(f"/api/v1/accounts/{volunteer}", json={"leaderboard_opt_in": True})
        assert answer.status_code == 200
        assert answer.get_json() == {"id": volunteer, "leaderboard_opt_in": True}
    ledger.set_leaderboard_opt_in(zhou, True)
    # Bai and Zhou both earned 20: ties go by display name.
    march_board = [("Li", 46), ("Bai", 20), ("Zhou", 20)]
    assert board(anonymous) == march_board
    assert board(anonymous, "2026-03") == march_board
    default = anonymous.get(LEADERBOARD).get_json()
    assert default["period"] == "2026-03"

    owner = sign_in("volunteer", account_id=bai)
    answer = owner.patch(f"/api/v1/accounts/{bai}", json={"leaderboard_opt_in": False})
    assert answer.status_code == 200 and answer.get_json()["leaderboard_opt_in"] is False
    assert board(anonymous, "2026-03") == [("Li", 46), ("Zhou", 20)]

    community.move_to_local(2026, 4, 2)
    community.earn(zhou, 5)
    community.earn(bai, 50)  # opted out: not listed
    community.earn(qian, 60)  # never opted in
    assert board(anonymous) == [("Zhou", 5)]  # the current month, April
    assert anonymous.get(LEADERBOARD).get_json()["period"] == "2026-04"
    assert board(anonymous, "2026-03") == [("Li", 46), ("Zhou", 20)]
    assert board(anonymous, "2026-02") == []
    ledger.set_leaderboard_opt_in(bai, True)
    assert board(anonymous) == [("Bai", 50), ("Zhou", 5)]


def test_the_leaderboard_counts_awards_less_their_corrections(anonymous, community):
    """Issue 14: a volunteer awarded 180 and corrected by 180 headed the month. Li: 100 +
    80, all taken back (in April: it counts against March, the awards' month); Bai: 100
    + 50, 30 of the 50 taken back; Zhou 60."""
    ledger, coordinator = community.ledger, community.coordinator
    li, bai, zhou = (community.volunteer(n) for n in ("Li", "Bai", "Zhou"))
    li_awards = community.earn(li, 100) + community.earn(li, 80)
    bai_awards = community.earn(bai, 100) + community.earn(bai, 50)
    community.earn(zhou, 60)
    for volunteer in (li, bai, zhou):
        ledger.set_leaderboard_opt_in(volunteer, True)
    assert board(anonymous) == [("Li", 180), ("Bai", 150), ("Zhou", 60)]

    ledger.correct(bai, 30, "counted twice", coordinator, corrects=bai_awards[1])
    community.move_to_local(2026, 4, 2)
    for award, beans in zip(li_awards, (100, 80), strict=True):
        ledger.correct(li, beans, "never happened", coordinator, corrects=award)
    community.earn(bai, 5)

    assert board(anonymous, "2026-03") == [("Bai", 120), ("Zhou", 60)]
    assert board(anonymous, "2026-04") == [("Bai", 5)]


def test_a_bad_leaderboard_period_is_a_validation_error(anonymous):
    for bad in ("2026-13", "abc", "2026-3"):
        answer = anonymous.get(f"{LEADERBOARD}?period={bad}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", bad


def test_the_leaderboard_lists_at_most_fifty(anonymous, community):
    """55 opted-in volunteers earn 1 to 55 beans: the 50 who earned most are listed."""
    ledger = community.ledger
    for beans in range(1, 56):
        volunteer = community.volunteer(f"Volunteer {beans:02d}")
        community.earn(volunteer, beans)
        ledger.set_leaderboard_opt_in(volunteer, True)
    assert board(anonymous) == [(f"Volunteer {b:02d}", b) for b in range(55, 5, -1)]


# --- the notice for the notice board ------------------------------------------------------------


def poppler(tool: str, *args: str) -> str:
    """Run one of poppler's tools (pdftotext, pdffonts, pdftoppm) and return its output."""
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def test_the_notice_is_one_a4_page_with_the_figures_and_an_embedded_font(
    anonymous, community, tmp_path
):
    tell(community)
    figures = report(anonymous, "2026-04")
    answer = anonymous.get("/reports/2026-04/notice.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert download_name(answer) == "goldbean-notice-2026-04.pdf"
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(answer.get_data())
    assert len(PdfReader(pdf).pages) == 1

    text = poppler("pdftotext", str(pdf), "-")
    assert "金豆基金 2026年4月 收支公示" in text
    assert "￥500.50" in text  # the month's donation total
    assert "2026年3月" in text  # April paid for March's spending
    assert "837.9%" in text and figures["chain_head"] in text.replace("\n", "")
    assert "http://localhost/reports/2026-04" in text  # under the QR code

    fonts = [line.split() for line in poppler("pdffonts", str(pdf)).splitlines()[2:]]
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # every font embedded
    assert any("NotoSansSC" in row[0] for row in fonts)

    poppler("pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "notice"))
    with Image.open(tmp_path / "notice.png") as image:
        width, height = image.size
        assert abs(height / width - 297 / 210) < 0.01  # A4, upright
    assert zxingcpp.read_barcodes(Image.open(tmp_path / "notice.png"))[0].text == (
        "http://localhost/reports/2026-04"
    )


# --- the shop's own pages -----------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def shop_owner(app, merchant_id: str):
    """A test client signed in to the pages as the shop's owner (a ``merchant`` user)."""
    app.extensions["goldbean.auth"].create_user(
        "grocer", "correct horse battery", "merchant", merchant_id=merchant_id
    )
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"username": "grocer", "password": "correct horse battery", "csrf_token": token}
    assert client.post("/login", data=form).status_code == 303
    return client


def test_a_shop_owner_reads_last_months_statement_with_every_sale(app, sign_in, community):
    """March at the Corner Grocery: Li spent 20 on 18 March and got 6 back; April's
    settlement paid 14 beans (¥14.00) and a ¥1.76 rebate under BANK-0407-1."""
    story = tell(community)
    terminal = sign_in("merchant", merchant_id=story.grocery)
    figures = statement(terminal, story.grocery, "2026-03").get_json()
    owner = shop_owner(app, story.grocery)

    home = owner.get("/shop").get_data(as_text=True)
    assert "Corner Grocery" in home and 'href="/shop/statements/2026-03"' in home
    assert 'href="/shop"' in home  # in the merchant's menu

    page = owner.get("/shop/statements/2026-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for shown in ("对账单：2026年3月", "¥14.00", "¥1.76", "BANK-0407-1", "兑换明细"):
        assert shown in html, shown
    sales = re.findall(r'<time datetime="([^"]+)">[^<]+</time></td><td[^>]*>(\d+)</td>', html)
    assert [amount for _, amount in sales] == ["20"]
    assert sales[0][0].startswith("2026-03-18")  # the sale's time (UTC in the markup)
    assert sum(int(amount) for _, amount in sales) == figures["redeemed"]

    as_xlsx = owner.get("/shop/statements/2026-03.xlsx")
    book = load_workbook(io.BytesIO(as_xlsx.get_data()))
    assert book.sheetnames == ["对账单", "兑换明细", "付款"]
    summary = dict(zip(*list(book["对账单"].iter_rows(values_only=True)), strict=True))
    assert summary["净收金豆"] == figures["net"] == 14
    assert Decimal(str(summary["应付款（元）"])) * 100 == figures["cash_fen"]
    assert Decimal(str(summary["返利（元）"])) * 100 == figures["rebate_fen"]
    as_csv = owner.get("/shop/statements/2026-03.csv").get_data()
    assert as_csv.startswith("\ufeff商户,月份".encode())
    assert owner.get("/shop/statements/2026-03.pdf").get_data().startswith(b"%PDF")

    # another shop's owner sees only their own shop, whatever the address
    canteen = community.ledger.get_merchant(story.canteen)
    assert "Corner Grocery" not in shop_owner_of(app, canteen.id).get("/shop").get_data(
        as_text=True
    )
    assert owner.get("/shop/statements/not-a-month").status_code == 404


def shop_owner_of(app, merchant_id: str):
    auth = app.extensions["goldbean.auth"]
    auth.create_user("cook", "correct horse battery", "merchant", merchant_id=merchant_id)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"username": "cook", "password": "correct horse battery", "csrf_token": token}
    assert client.post("/login", data=form).status_code == 303
    return client
