"""The event log for auditors over HTTP (SPEC §6, §8): who may read it, paging through it,
what each event carries, its audit chain against the published reports; and /readyz
showing how far the projections have read."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from projections.verifier import GENESIS, chain_step
from tests.api.helpers import problem_code
from tests.scenario import Community

EVENTS = "/api/v1/audit/events"
KUNMING = ZoneInfo("Asia/Shanghai")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def two_months(community: Community) -> None:
    """From 10 March: Li earns 30 and spends 12, a donation of ¥500.00; at 23:30 on 31
    March (local) Li earns 5 more; at 00:30 on 1 April (still 31 March in UTC) an
    anonymous donation of ¥200.00 and Li spends 3. The clock stays in April."""
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    community.earn(li, 30)
    community.spend(li, shop, 12)
    community.donate(50_000)
    community.move_to_local(2026, 3, 31, 23, 30)
    community.earn(li, 5)
    community.move_to_local(2026, 4, 1, 0, 30)
    community.ledger.record_donation(
        donor="",
        anonymous=True,
        amount_fen=20_000,
        received_on=date(2026, 4, 1),
        receipt_no="R-A1",
        by=community.officer,
    )
    community.spend(li, shop, 3)


def stored(community: Community):
    """Every stored event, as the recorder holds it, in position order."""
    return community.ledger.recorder.select_notifications(start=1, limit=100_000)


def page_through(auditor, limit: int) -> list[list[dict]]:
    """Every page of the log at ``limit`` events a page, following ``next_after``."""
    pages, after = [], 0
    while True:
        answer = auditor.get(f"{EVENTS}?after={after}&limit={limit}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert set(body) == {"items", "next_after"}
        pages.append(body["items"])
        if body["next_after"] is None:
            return pages
        assert body["next_after"] == body["items"][-1]["position"]
        after = body["next_after"]
        assert len(pages) < 1000, "next_after never ends"


def local_period(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(KUNMING).strftime("%Y-%m")


def test_nobody_but_an_auditor_reads_the_event_log(sign_in, anonymous, community):
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    answer = anonymous.get(EVENTS)
    assert answer.status_code == 401 and problem_code(answer) == "unauthenticated"
    others = [
        sign_in("volunteer", account_id=li),
        sign_in("beneficiary", account_id=community.beneficiary("Zhao")),
        sign_in("merchant", merchant_id=shop),
        *(sign_in(role) for role in ("coordinator", "fund_officer", "admin")),
    ]
    for other in others:
        answer = other.get(EVENTS)
        assert answer.status_code == 403 and problem_code(answer) == "forbidden"


def test_an_auditor_reads_the_event_log(sign_in, community):
    community.volunteer("Li Wei")
    answer = sign_in("auditor").get(EVENTS)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(answer.get_json()["items"]) == len(stored(community))


def test_an_auditor_pages_through_the_whole_log_without_gaps_or_repeats(sign_in, community):
    two_months(community)
    auditor = sign_in("auditor")
    positions = [n.id for n in stored(community)]
    assert len(positions) > 10
    for limit in (1, 3, 7, len(positions), 1000):
        pages = page_through(auditor, limit)
        seen = [item["position"] for page in pages for item in page]
        assert seen == positions, limit  # every event once, in order
        assert all(len(page) == limit for page in pages[:-1]), limit
        assert 0 < len(pages[-1]) <= limit, limit
    whole = auditor.get(f"{EVENTS}?limit={len(positions)}").get_json()
    assert whole["next_after"] is None  # exactly the whole log: nothing more
    default = auditor.get(EVENTS).get_json()  # after=0, limit=100
    assert [i["position"] for i in default["items"]] == positions
    assert default["next_after"] is None
    past_the_end = auditor.get(f"{EVENTS}?after={positions[-1]}").get_json()
    assert past_the_end == {"items": [], "next_after": None}
    from_the_middle = auditor.get(f"{EVENTS}?after={positions[4]}&limit=3").get_json()
    assert [i["position"] for i in from_the_middle["items"]] == positions[5:8]

    # Events recorded later follow on from where the auditor stopped.
    community.donate(1_000)
    later = auditor.get(f"{EVENTS}?after={positions[-1]}").get_json()
    new = [n.id for n in stored(community)][len(positions) :]
    assert new and [i["position"] for i in later["items"]] == new


def test_each_event_is_listed_as_stored_with_its_chain_value(sign_in, community):
    two_months(community)
    auditor = sign_in("auditor")
    items = [item for page in page_through(auditor, 5) for item in page]
    notifications = stored(community)
    assert len(items) == len(notifications)
    previous = GENESIS
    for item, n in zip(items, notifications, strict=True):
        assert set(item) == {"position", "at", "type", "originator_id", "version", "data", "chain"}
        assert item["position"] == n.id
        assert item["type"] == n.topic and ":" in item["type"]
        assert item["originator_id"] == str(n.originator_id)
        assert item["version"] == n.originator_version >= 1
        assert isinstance(item["data"], dict) and item["data"] == json.loads(n.state)
        at = datetime.fromisoformat(item["at"])
        assert at.utcoffset().total_seconds() == 0
        assert item["at"] == item["data"]["timestamp"]["_data_"]
        assert HEX64.match(item["chain"]), item["chain"]
        # sha256(previous || position || originator id || version || topic || state),
        # over the exact stored state bytes.
        previous = chain_step(
            previous, n.id, str(n.originator_id), n.originator_version, n.topic, n.state
        )
        assert item["chain"] == previous.hex(), n.id
    first = items[0]
    assert (first["type"], first["version"]) == ("ledger.accounts:Volunteer.Opened", 1)
    assert "Li Wei" not in json.dumps(first["data"], ensure_ascii=False)  # personal data
    assert datetime.fromisoformat(first["at"]) == datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def test_the_last_chain_of_a_month_is_that_months_report_chain_head(sign_in, anonymous, community):
    two_months(community)
    items = [item for page in page_through(sign_in("auditor"), 4) for item in page]
    by_month: dict[str, list[dict]] = {}
    for item in items:
        by_month.setdefault(local_period(item["at"]), []).append(item)
    assert list(by_month) == ["2026-03", "2026-04"]
    # The 00:30 events of 1 April are 31 March in UTC but April in Kunming.
    assert datetime.fromisoformat(by_month["2026-04"][0]["at"]).day == 31

    march = anonymous.get("/api/v1/public/fund-reports/2026-03").get_json()
    assert march["final"] is True
    assert march["chain_head"] == by_month["2026-03"][-1]["chain"]
    assert march["donations"]["total_fen"] == 50_000
    april = anonymous.get("/api/v1/public/fund-reports/2026-04").get_json()
    assert april["chain_head"] == items[-1]["chain"]
    assert april["donations"]["total_fen"] == 20_000


def test_bad_paging_parameters_are_validation_errors(sign_in, community):
    community.volunteer("Li Wei")
    auditor = sign_in("auditor")
    for query in ("limit=0", "limit=1001", "limit=-1", "limit=ten", "after=-1", "after=x"):
        answer = auditor.get(f"{EVENTS}?{query}")
        assert answer.status_code == 422 and problem_code(answer) == "validation_error", query


# --- /readyz --------------------------------------------------------------------------------------


def readiness(client) -> dict:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


#: every read model /readyz reports (projections/runner.py default_projections)
PROJECTIONS = ("books", "audit", "recognition", "notices")


def test_readyz_shows_each_projections_position_and_lag(anonymous, community):
    two_months(community)
    head = stored(community)[-1].id
    before = readiness(anonymous)
    assert (before["status"], before["database"], before["log_position"]) == ("ready", "ok", head)
    assert set(before["projections"]) == set(PROJECTIONS)
    for name in PROJECTIONS:
        projection = before["projections"][name]
        assert projection["lag"] == head - projection["position"] > 0, name

    anonymous.get("/api/v1/public/fund-reports")  # a read catches the projections up
    after = readiness(anonymous)
    assert after["log_position"] == head
    assert after["projections"] == {name: {"position": head, "lag": 0} for name in PROJECTIONS}

    community.donate(1_000)
    behind = readiness(anonymous)
    assert behind["log_position"] > head
    assert all(p["lag"] > 0 for p in behind["projections"].values())
    anonymous.get("/api/v1/public/leaderboard")
    caught_up = readiness(anonymous)
    assert all(p["lag"] == 0 for p in caught_up["projections"].values())
    assert caught_up["projections"]["audit"]["position"] == caught_up["log_position"]
