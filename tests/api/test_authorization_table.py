"""Who may call what: every route of the API against every role, from one table.

``RULES`` has one row per operation of the served OpenAPI document (SPEC §6, docs/API.md)
with the roles it allows; ``"owner"`` means only the person or merchant the path names
(the test then calls it as that owner and as another user of the same role, who is
refused). ``UNDOCUMENTED_PUBLIC`` lists the routes outside the document (health, docs,
pages), all public. A route added without a row fails
``test_every_documented_route_has_a_row``.

``test_roles_are_enforced`` calls each row as each role on a small community (memory
store only: authorization does not depend on the store) with a minimal plausible body.
Validation or state errors are fine for an allowed caller; the point is who gets past the
door. A refused caller gets ``401 unauthenticated`` (anonymous) or ``403 forbidden``, and a
refused POST records no event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from ledger.views import Actor
from tests.api.helpers import problem_code
from tests.scenario import Community

ROLES = (
    "anonymous",
    "volunteer",
    "beneficiary",
    "merchant",
    "coordinator",
    "fund_officer",
    "auditor",
    "admin",
)
STAFF = ("coordinator", "fund_officer", "auditor", "admin")
SIGNED_IN = ROLES[1:]
PERIOD = "2026-03"  # the month of tests.scenario.START
PASSWORD = "correct horse battery"

World = dict[str, str]
Value = Any  # a constant, or a function of the World


@dataclass(frozen=True)
class Rule:
    method: str
    path: str  # exactly as in the OpenAPI document
    allowed: Mapping[str, str]  # role -> "yes" | "owner"
    body: Value = None  # JSON body (None: no body)
    query: Value = None
    ids: Mapping[str, str] = field(default_factory=dict)  # path parameter -> world key
    # what another user of an "owner" role gets (docs may name a code other than 403)
    other_refusal: tuple[int, str] = (403, "forbidden")
    note: str = ""


def allow(*roles: str, **owners: str) -> dict[str, str]:
    """The allowed roles: ``allow("coordinator", volunteer="owner")``."""
    unknown = (set(roles) | set(owners)) - set(ROLES)
    assert not unknown, unknown
    return {**dict.fromkeys(roles, "yes"), **owners}


A = "/api/v1"
OWN_ACCOUNT = allow(*STAFF, volunteer="owner", beneficiary="owner")
MERCHANT_ITSELF = allow(*STAFF, merchant="owner")
BENEFICIARY = {"account_id": "beneficiary"}
TEAM = {"team_id": "team"}
GRID = {"grid_id": "grid"}

RULES: tuple[Rule, ...] = (
    # --- sign-in and users
    Rule(
        "POST",
        f"{A}/auth/token",
        allow(*ROLES),
        body=lambda w: {"username": w["token_user"], "password": PASSWORD},
    ),
    Rule("GET", f"{A}/me", allow(*SIGNED_IN)),
    Rule(
        "POST",
        f"{A}/users",
        allow("admin"),
        body=lambda w: {"username": "new-auditor", "password": PASSWORD, "role": "auditor"},
    ),
    # --- accounts and cards
    Rule(
        "POST",
        f"{A}/accounts",
        allow("coordinator", "admin"),
        body={"kind": "volunteer", "display_name": "Sun Li"},
    ),
    Rule(
        "GET",
        f"{A}/accounts",
        allow("coordinator", "admin", "auditor"),
        query={"q": "a", "kind": "volunteer"},
        note="phones, buildings, grids and teams are shown to coordinators and admins only",
    ),
    Rule("GET", f"{A}/accounts/{{account_id}}", OWN_ACCOUNT),
    Rule(
        "PATCH",
        f"{A}/accounts/{{account_id}}",
        allow(volunteer="owner"),
        body={"leaderboard_opt_in": True},
    ),
    Rule("GET", f"{A}/accounts/{{account_id}}/entries", OWN_ACCOUNT),
    Rule("POST", f"{A}/accounts/{{account_id}}/payment-code", allow(volunteer="owner")),
    Rule(
        "POST", f"{A}/accounts/{{account_id}}/card", allow("coordinator"), body={}, ids=BENEFICIARY
    ),
    Rule("GET", f"{A}/accounts/{{account_id}}/card.pdf", allow("coordinator"), ids=BENEFICIARY),
    Rule(
        "GET",
        f"{A}/cards.pdf",
        allow("coordinator"),
        query=lambda w: {"account_id": w["beneficiary"]},
    ),
    Rule("POST", f"{A}/accounts/{{account_id}}/card/unlock", allow("coordinator"), ids=BENEFICIARY),
    # --- the inbox (a till's token has none; tests/api/test_inbox.py)
    Rule("GET", f"{A}/me/notifications", allow("volunteer", "beneficiary", "merchant")),
    Rule(
        "POST",
        f"{A}/me/notifications/{{notification_id}}/read",
        allow("volunteer", "beneficiary", "merchant"),
        ids={"notification_id": "volunteer"},
        note="another's notice or an unknown id: 404 not_found",
    ),
    Rule("POST", f"{A}/me/notifications/read", allow("volunteer", "beneficiary", "merchant")),
    # --- recognition
    Rule("GET", f"{A}/accounts/{{account_id}}/recognition", allow(*STAFF, volunteer="owner")),
    Rule("GET", f"{A}/public/honours", allow(*ROLES), query={"quarter": "2026-Q1"}),
    # --- activities
    Rule(
        "POST",
        f"{A}/activities",
        allow("coordinator"),
        body={
            "title": "Park clean-up",
            "starts_at": "2026-03-10T14:00:00+08:00",
            "ends_at": "2026-03-10T16:00:00+08:00",
            "beans": 5,
        },
    ),
    Rule(
        "GET",
        f"{A}/activities/{{activity_id}}",
        allow("coordinator", "auditor"),
        note="not in SPEC §6's table; as the code declares",
    ),
    Rule("GET", f"{A}/activities/{{activity_id}}/code.svg", allow("coordinator")),
    Rule("GET", f"{A}/activities/{{activity_id}}/code.png", allow("coordinator")),
    Rule(
        "POST",
        f"{A}/activities/{{activity_id}}/checkins",
        allow("volunteer"),
        body=lambda w: {"checkin_code": w["checkin_code"]},
    ),
    Rule(
        "POST",
        f"{A}/activities/{{activity_id}}/confirm",
        allow("coordinator", volunteer="owner"),
        body={},
        note="a volunteer: only a leader of the activity's team (issue 18)",
    ),
    Rule(
        "POST",
        f"{A}/activities/{{activity_id}}/manual-checkins",
        allow("coordinator", volunteer="owner"),
        body=lambda w: {"number": w["number2"]},
        note="a volunteer: only a leader of the activity's team (issue 18)",
    ),
    Rule(
        "POST",
        f"{A}/activities/{{activity_id}}/team",
        allow("coordinator"),
        body=lambda w: {"team_id": w["team"]},
    ),
    # --- teams and grids (issue 18)
    Rule("POST", f"{A}/teams", allow("coordinator"), body={"name": "巾帼志愿队"}),
    Rule("GET", f"{A}/teams", allow("coordinator", "admin", "auditor")),
    Rule("PATCH", f"{A}/teams/{{team_id}}", allow("coordinator"), body={"public": True}, ids=TEAM),
    Rule(
        "PUT",
        f"{A}/teams/{{team_id}}/leaders",
        allow("coordinator"),
        body=lambda w: {"account_ids": [w["volunteer"], w["volunteer2"]]},
        ids=TEAM,
    ),
    Rule("POST", f"{A}/grids", allow("coordinator"), body={"name": "二网格"}),
    Rule("GET", f"{A}/grids", allow("coordinator", "admin", "auditor")),
    Rule(
        "PUT",
        f"{A}/grids/{{grid_id}}/heads",
        allow("coordinator"),
        body=lambda w: {"account_ids": [w["volunteer2"]]},
        ids=GRID,
    ),
    Rule(
        "GET",
        f"{A}/grids/{{grid_id}}/incidents",
        allow("coordinator", "auditor", volunteer="owner"),
        ids=GRID,
        note="a volunteer: only a head of the grid",
    ),
    Rule("GET", f"{A}/public/teams", allow(*ROLES)),
    # --- audit
    Rule("GET", f"{A}/audit/events", allow("auditor")),
    # --- the fund and settlements
    Rule(
        "POST",
        f"{A}/fund/donations",
        allow("fund_officer"),
        body={
            "donor": "Jinsha Residents",
            "anonymous": False,
            "amount_fen": 10_000,
            "received_on": "2026-03-10",
            "receipt_no": "R-9001",
        },
    ),
    Rule(
        "POST",
        f"{A}/fund/donations/{{donation_id}}/reverse",
        allow("fund_officer"),
        body={"reason": "typed twice"},
        note="another fund officer than the one who recorded it",
    ),
    Rule("GET", f"{A}/fund", allow(*STAFF)),
    Rule("POST", f"{A}/settlements", allow("fund_officer"), body={}),
    Rule(
        "GET",
        f"{A}/settlements/{{settlement_id}}",
        allow("fund_officer", "auditor"),
        note="not in SPEC §6's table; as the code declares",
    ),
    Rule(
        "POST",
        f"{A}/settlements/{{settlement_id}}/approve",
        allow("fund_officer"),
        note="another fund officer than the preparer: see test_the_preparer_may_not_approve",
    ),
    Rule(
        "POST",
        f"{A}/settlements/{{settlement_id}}/cancel",
        allow("fund_officer"),
        body={"reason": "wrong cutoff"},
    ),
    Rule(
        "POST",
        f"{A}/settlements/{{settlement_id}}/lines/{{merchant_id}}/paid",
        allow("fund_officer"),
        body={"payment_ref": "BANK-2026-03-1"},
    ),
    # --- giving
    Rule("POST", f"{A}/gifts", allow("volunteer"), body={"to": "pool", "amount": 1}),
    Rule(
        "POST",
        f"{A}/pool/allocations",
        allow("coordinator"),
        body=lambda w: {"to": w["beneficiary"], "amount": 1},
    ),
    Rule(
        "POST",
        f"{A}/corrections",
        allow("coordinator"),
        body=lambda w: {"account_id": w["volunteer"], "amount": 1, "reason": "typo"},
    ),
    Rule(
        "POST",
        f"{A}/corrections/{{request_id}}/approve",
        allow("coordinator"),
        ids={"request_id": "correction_request"},
        note="another coordinator than the preparer: see tests/api/test_approvals.py",
    ),
    Rule(
        "POST",
        f"{A}/corrections/{{request_id}}/withdraw",
        allow("coordinator"),
        body={},
        ids={"request_id": "correction_request"},
    ),
    Rule("POST", f"{A}/allotments", allow("coordinator"), body={"period": PERIOD, "amount": 1}),
    Rule(
        "POST",
        f"{A}/allotments/{{request_id}}/approve",
        allow("coordinator"),
        ids={"request_id": "allotment_request"},
        note="another coordinator than the preparer: see tests/api/test_approvals.py",
    ),
    Rule(
        "POST",
        f"{A}/allotments/{{request_id}}/withdraw",
        allow("coordinator"),
        body={},
        ids={"request_id": "allotment_request"},
    ),
    Rule("GET", f"{A}/approval-requests", allow("coordinator", "auditor")),
    # --- the programme's rules on the record
    Rule("GET", f"{A}/rules", allow(*ROLES)),
    Rule("GET", f"{A}/rules/changes", allow("admin", "auditor")),
    Rule("POST", f"{A}/rules/changes", allow("admin"), body={"changes": {"max_redemption": 300}}),
    Rule(
        "POST",
        f"{A}/rules/changes/{{change_id}}/approve",
        allow("admin"),
        ids={"change_id": "rule_change"},
        note="another admin than the proposer: see tests/api/test_rules_api.py",
    ),
    Rule(
        "POST",
        f"{A}/rules/changes/{{change_id}}/withdraw",
        allow("admin"),
        ids={"change_id": "rule_change"},
    ),
    # --- incidents
    Rule("GET", f"{A}/incidents", allow("coordinator", "auditor")),
    Rule(
        "POST",
        f"{A}/incidents",
        allow("volunteer"),
        body={"category": "other", "description": "a broken street lamp"},
    ),
    Rule("POST", f"{A}/incidents/{{incident_id}}/verify", allow("coordinator"), body={"award": 1}),
    Rule(
        "POST", f"{A}/incidents/{{incident_id}}/reject", allow("coordinator"), body={"reason": "no"}
    ),
    Rule(
        "POST",
        f"{A}/incidents/{{incident_id}}/duplicate",
        allow("coordinator"),
        body=lambda w: {"of": w["incident2"]},
    ),
    Rule(
        "POST",
        f"{A}/incidents/{{incident_id}}/handlers",
        allow("coordinator"),
        body=lambda w: {"account_ids": [w["volunteer"]]},
    ),
    Rule("POST", f"{A}/incidents/{{incident_id}}/resolve", allow("coordinator"), body={}),
    Rule(
        "POST",
        f"{A}/incidents/{{incident_id}}/grid",
        allow("coordinator"),
        body=lambda w: {"grid_id": w["grid"]},
    ),
    # --- merchants
    Rule(
        "POST", f"{A}/merchants", allow("admin"), body={"name": "Tea House", "category": "grocery"}
    ),
    Rule("GET", f"{A}/merchants/{{merchant_id}}", MERCHANT_ITSELF),
    Rule("POST", f"{A}/merchants/{{merchant_id}}/suspend", allow("admin")),
    Rule("POST", f"{A}/merchants/{{merchant_id}}/reactivate", allow("admin")),
    Rule(
        "POST", f"{A}/merchants/{{merchant_id}}/terminals", allow("admin"), body={"label": "till"}
    ),
    Rule(
        "POST",
        f"{A}/merchants/{{merchant_id}}/terminals/{{terminal_id}}/token",
        allow("admin"),
        ids={"terminal_id": "terminal"},
    ),
    Rule(
        "POST",
        f"{A}/terminals/pair",
        allow(*ROLES),
        body={"pairing_code": "12345678"},
        note="public: a till that has no token yet presents the admin's pairing code",
    ),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/redemptions", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/statements/{{period}}", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/statements/{{period}}.csv", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/statements/{{period}}.pdf", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/code.svg", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/code.png", MERCHANT_ITSELF),
    Rule("GET", f"{A}/merchants/{{merchant_id}}/sign.pdf", MERCHANT_ITSELF),
    Rule(
        "GET",
        f"{A}/merchants/{{merchant_id}}/payee",
        allow("fund_officer", "admin", merchant="owner"),
        note="the merchant reads its account number masked; other staff not at all",
    ),
    Rule(
        "PUT",
        f"{A}/merchants/{{merchant_id}}/payee",
        allow("admin", merchant="owner"),
        body={"payee_name": "Lin Mei", "bank": "ICBC", "account_number": "6222 0212 3456 7890"},
    ),
    # --- paying
    Rule("POST", f"{A}/redemptions", allow("merchant"), body={"code": "12345678", "amount": 1}),
    Rule(
        "GET",
        f"{A}/redemptions/{{redemption_id}}",
        allow(*STAFF, merchant="owner", volunteer="owner", beneficiary="owner"),
        note="merchant itself, payer, staff",
    ),
    Rule(
        "POST",
        f"{A}/redemptions/{{redemption_id}}/refunds",
        allow(merchant="owner"),
        body={"amount": 1},
        other_refusal=(404, "not_found"),
        note="docs: another merchant's redemption is not_found (ids are not probed)",
    ),
    Rule("POST", f"{A}/payments", allow("volunteer"), body={"merchant_code": "0000", "amount": 1}),
    Rule("POST", f"{A}/pos/decode", allow("merchant")),
    # --- public
    Rule("GET", f"{A}/public/fund-reports", allow(*ROLES)),
    Rule("GET", f"{A}/public/fund-reports/{{period}}", allow(*ROLES)),
    Rule("GET", f"{A}/public/leaderboard", allow(*ROLES)),
    Rule("GET", f"{A}/public/audit/export", allow(*ROLES)),
)

#: Routes the OpenAPI document does not list (health, the document itself, pages): public.
UNDOCUMENTED_PUBLIC: tuple[Rule, ...] = tuple(
    Rule("GET", path, allow(*ROLES))
    for path in (
        "/healthz",
        "/readyz",
        f"{A}/openapi.json",
        "/api/docs",
        "/pos",
    )
)

#: Endpoints outside this table: static files, and the demo's cookie-session web pages
#: (``/``, ``/login``, ``/logout``, ``/me``, ``/staff``), which take no bearer token.
NOT_IN_TABLE = ("static", "web.")

#: Known contradictions with SPEC §6: (method, path, role, who) -> reason. None so far.
CONTRADICTIONS: dict[tuple[str, str, str, str], str] = {}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Hundreds of users are made here: hash their passwords cheaply (authorization
    does not depend on the hash's cost)."""
    monkeypatch.setattr(
        "api.auth.default_password_hasher",
        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def documented_operations(app) -> set[tuple[str, str]]:
    document = app.test_client().get(f"{A}/openapi.json").get_json()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_every_documented_route_has_a_row(app):
    documented = documented_operations(app)
    rows = [(rule.method, rule.path) for rule in RULES]
    assert len(rows) == len(set(rows)), "a (method, path) has two rows"
    missing = sorted(documented - set(rows))
    stale = sorted(set(rows) - documented)
    assert not missing and not stale, (
        f"operations without a row in RULES: {missing}; rows not in the document: {stale}"
    )


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_every_other_route_is_listed_as_public(app):
    """Routes outside the document (pages, health) are in UNDOCUMENTED_PUBLIC."""
    documented = {path for _, path in documented_operations(app)}
    listed = {rule.path for rule in UNDOCUMENTED_PUBLIC}
    served = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.endswith(NOT_IN_TABLE[0])
        and not rule.endpoint.startswith(NOT_IN_TABLE[1])
    }
    assert sorted(served - documented - listed) == []
    assert sorted(listed - served) == []


# --- the cases ------------------------------------------------------------------------------


def is_public(rule: Rule) -> bool:
    return all(rule.allowed.get(role) == "yes" for role in ROLES)


def cases():
    """(rule, role, who) for every row and role; who is "allowed", "refused", or for an
    "owner" grant both "owner" and "other". A row that every role may call is one case
    with role "every" (one app for the eight calls: an app costs ~0.1 s to build)."""
    for rule in RULES + UNDOCUMENTED_PUBLIC:
        if is_public(rule):
            yield pytest.param(rule, "every", "allowed", id=f"{rule.method} {rule.path} every")
            continue
        for role in ROLES:
            grant = rule.allowed.get(role)
            whos = ("owner", "other") if grant == "owner" else ("allowed" if grant else "refused",)
            for who in whos:
                marks = []
                reason = CONTRADICTIONS.get((rule.method, rule.path, role, who))
                if reason:
                    marks.append(pytest.mark.xfail(strict=True, reason=reason))
                yield pytest.param(
                    rule, role, who, id=f"{rule.method} {rule.path} {role}-{who}", marks=marks
                )


def build_world(community: Community, app) -> World:
    """A small community to name in paths: two of each person and merchant, beans, a card
    redemption and a code redemption, two pending incidents, a running activity and a
    prepared settlement, a correction and an allotment batch waiting for approval."""
    c, ledger = community, community.ledger
    world = {
        "volunteer": c.volunteer("Li Wei"),
        "volunteer2": c.volunteer("Wang Fang"),
        "beneficiary": c.beneficiary("Zhao Nainai"),
        "beneficiary2": c.beneficiary("Qian Yeye"),
        "merchant": c.merchant("Corner Grocery"),
        "merchant2": c.merchant("Noodle Canteen", "canteen"),
    }
    c.card(world["beneficiary2"])
    c.earn(world["volunteer"], 50)
    c.give(world["volunteer"], world["beneficiary"], 10)
    world["redemption"] = c.spend(world["volunteer"], world["merchant"], 5).id
    world["card_redemption"] = c.spend_card(world["beneficiary"], world["merchant"], 3).id
    # Li Wei leads the team whose activity it is, and heads the grid of the incidents
    world["team"] = ledger.create_team("安全小红帽", c.coordinator).id
    ledger.appoint_leader(world["team"], world["volunteer"], c.coordinator)
    world["grid"] = ledger.create_grid("一网格", c.coordinator).id
    ledger.appoint_head(world["grid"], world["volunteer"], c.coordinator)
    world["number2"] = ledger.get_account(world["volunteer2"]).number or ""
    world["incident"] = ledger.submit_incident(
        world["volunteer"], "other", "a lamp is out", grid_id=world["grid"]
    ).id
    world["incident2"] = ledger.submit_incident(world["volunteer"], "other", "the same lamp").id
    activity = ledger.create_activity(
        "Park clean-up",
        c.now - timedelta(hours=1),
        c.now + timedelta(hours=2),
        5,
        c.coordinator,
        team_id=world["team"],
    )
    world["activity"], world["checkin_code"] = activity.id, activity.checkin_code
    world["donation"] = c.donate(100_000).id
    world["settlement"] = ledger.prepare_settlement(
        c.officer, cutoff=c.today + timedelta(days=1)
    ).id
    world["correction_request"] = ledger.prepare_correction(
        world["volunteer"], 1, "typo", c.coordinator, corrects=c.credits(world["volunteer"])[0]
    ).id
    world["allotment_request"] = ledger.prepare_allotments(PERIOD, c.coordinator).id
    world["rule_change"] = ledger.propose_rule_change(
        {"refund_window_days": 20}, Actor("another-admin")
    ).id
    world["token_user"] = "probe-auditor"
    app.extensions["goldbean.auth"].create_user(world["token_user"], PASSWORD, "auditor")
    world["terminal"], _ = app.extensions["goldbean.auth"].create_terminal(
        world["merchant"], "probe till"
    )
    return world


def path_of(rule: Rule, role: str, world: World) -> str:
    """The rule's path with the world's ids; a beneficiary caller names its own account
    and its own (card) redemption."""
    ids = {
        "account_id": world["beneficiary" if role == "beneficiary" else "volunteer"],
        "redemption_id": world["card_redemption" if role == "beneficiary" else "redemption"],
        "merchant_id": world["merchant"],
        "incident_id": world["incident"],
        "activity_id": world["activity"],
        "settlement_id": world["settlement"],
        "donation_id": world["donation"],
        "period": PERIOD,
    }
    ids.update({name: world[key] for name, key in rule.ids.items()})
    return rule.path.format(**ids)


def identity(role: str, who: str, world: World) -> dict[str, str]:
    """The ids a signed-in user of ``role`` carries: the people and merchant that the
    paths name, or (``who == "other"``) the second of each."""
    suffix = "2" if who == "other" else ""
    if role in ("volunteer", "beneficiary"):
        return {"account_id": world[role + suffix]}
    if role == "merchant":
        return {"merchant_id": world["merchant" + suffix]}
    return {}


def resolve(value: Value, world: World) -> Any:
    return value(world) if callable(value) else value


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
@pytest.mark.parametrize(("rule", "role", "who"), list(cases()))
def test_roles_are_enforced(app, community, sign_in, anonymous, rule, role, who):
    world = build_world(community, app)
    for each in ROLES if role == "every" else (role,):
        client = anonymous if each == "anonymous" else sign_in(each, **identity(each, who, world))
        check_call(app, world, client, rule, each, who)


def check_call(app, world: World, client, rule: Rule, role: str, who: str) -> None:
    recorder = app.extensions["goldbean.ledger"].recorder
    events_before = recorder.max_notification_id()
    path, body = path_of(rule, role, world), resolve(rule.body, world)
    kwargs = {"query_string": resolve(rule.query, world)} if rule.query else {}
    if rule.method == "GET":
        answer = client.get(path, **kwargs)
    elif rule.method == "POST":
        answer = client.post(path, json=body, **kwargs)
    elif rule.method == "PUT":
        answer = client.put(path, json=body, **kwargs)
    else:
        answer = client.patch(path, json=body, **kwargs)
    seen = f"{rule.method} {path} as {role} ({who}): {answer.status_code} {answer.get_data()[:300]}"

    if who in ("allowed", "owner"):
        assert answer.status_code not in (401, 403), seen
        return
    if role == "anonymous":
        expected = (401, "unauthenticated")
    elif who == "other":
        expected = rule.other_refusal
    else:
        expected = (403, "forbidden")
    assert (answer.status_code, problem_code(answer)) == expected, seen
    if rule.method != "GET":
        assert recorder.max_notification_id() == events_before, f"a refusal recorded: {seen}"


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_the_preparer_may_not_approve(app, community, sign_in):
    """Four eyes (SPEC §1): the fund officer who prepared a settlement is refused its
    approval with 403 four_eyes_required; another fund officer approves it."""
    world = build_world(community, app)
    preparer, other = sign_in("fund_officer"), sign_in("fund_officer")
    tomorrow = (community.today + timedelta(days=1)).isoformat()
    # the world's settlement reserved the beans so far: redeem more to settle again
    community.spend(world["volunteer"], world["merchant"], 2)
    prepared = preparer.post(f"{A}/settlements", json={"cutoff": tomorrow})
    assert prepared.status_code == 201, prepared.get_json()
    settlement_id = prepared.get_json()["id"]
    recorder = app.extensions["goldbean.ledger"].recorder
    before = recorder.max_notification_id()

    refused = preparer.post(f"{A}/settlements/{settlement_id}/approve")
    assert (refused.status_code, problem_code(refused)) == (403, "four_eyes_required")
    assert recorder.max_notification_id() == before
    approved = other.post(f"{A}/settlements/{settlement_id}/approve")
    assert approved.status_code == 200, approved.get_json()
