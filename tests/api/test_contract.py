"""The API against its own OpenAPI document (issue 3): schemathesis, in process.

The document served at ``/api/v1/openapi.json`` is loaded from the Flask app through
schemathesis' WSGI support and must be a valid OpenAPI 3 document. Then every operation
it lists (whatever endpoints exist when the suite runs) is called with requests that
schemathesis generates from it, valid ones and invalid ones, once per caller: anonymous
and a signed-in user of each role. Every response must

* not be a server error (``not_a_server_error``),
* have a documented media type (``content_type_conformance``) and status code
  (``status_code_conformance``; flask-smorest documents a ``default`` error response on
  every operation, which covers every status, so this one only bites if that changes),
* match the schema documented for its status code (``response_schema_conformance``),
* and, when it is an error, be a problem: ``application/problem+json`` with ``type``,
  ``title``, ``status``, ``code`` and ``detail`` (SPEC §6, api/errors.py; the custom check
  :func:`problem_details`).

Requests reach real records too: a small community is seeded through the ledger (two
volunteers, one with beans, a beneficiary with beans and a card, beans in the pool, a
merchant with redemptions, submitted incidents, a running activity, a donation and a
prepared settlement), and path parameters and top-level body fields named like those
(``account_id``, ``merchant_id``, ``code``, ``amount``, ``username``, …) are drawn from
the generated value or the seeded ones.

Each operation runs as its own subtest and reports every distinct failure it met (check,
status), each with the exact request and response, rather than stopping at the first.

Bounded for CI: Hypothesis runs on fixed seeds (the same requests every run), without a
deadline, shrinking or example database, at most :data:`MAX_EXAMPLES` requests per
operation and caller (only :data:`PROBE` where the caller's role is refused), on SQLite.

schemathesis' own pytest loaders (``schemathesis.pytest.from_fixture``) set
``Node._nodeid``, which pytest 9.2 no longer has, so this module drives the operations'
Hypothesis strategies itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.errors import PROBLEM_JSON
from ledger.views import Actor
from tests.scenario import Community

OPENAPI = "/api/v1/openapi.json"
PASSWORD = "correct horse battery"

#: The callers: None is anonymous; the roles are those of api.auth.ROLES.
CALLERS = (
    None,
    "volunteer",
    "beneficiary",
    "merchant",
    "coordinator",
    "fund_officer",
    "auditor",
    "admin",
)

#: Generated requests per operation and caller: PROBE first, the rest unless every answer
#: to those refused the caller (REFUSALS).
MAX_EXAMPLES = 20
PROBE = 4
REFUSALS = {401, 403}

#: Every error answer must carry these members, of these types (SPEC §6, api/errors.py).
PROBLEM_MEMBERS = {"type": str, "title": str, "status": int, "code": str, "detail": str}

#: How much of a body a failure report shows.
SHOWN = 600


# --------------------------------------------------------------------------------------------
# The app, a small community in it, and the callers


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: one store is enough for the contract, and keeps the run short."""
    return sqlite_url


@pytest.fixture
def seeded(app, clock) -> dict[str, list[Any]]:
    """Seed a small community through the ledger; return its ids and codes by the names
    that parameters and body fields use."""
    ledger = app.extensions["goldbean.ledger"]
    town = Community(ledger, clock)
    li = town.volunteer("李伟")
    zhao = town.volunteer("赵敏")
    wang = town.beneficiary("王芳")
    card_code = town.card(wang)
    shop = town.merchant("金沙便民超市")
    town.earn(li, 200)
    town.give(li, wang, 30)
    town.give(li, "pool", 20)
    redemption = town.spend(li, shop, 20)
    incidents = [
        ledger.submit_incident(zhao, "other", f"loose paving stone no. {number}").id
        for number in range(1, 5)
    ]
    activity = ledger.create_activity(
        "clean the riverbank",
        town.now - timedelta(hours=1),
        town.now + timedelta(hours=2),
        10,
        by=Actor("coord-1"),
    )
    town.donate(50_000)
    tomorrow = town.today + timedelta(days=1)
    settlement = ledger.prepare_settlement(Actor("fo-1"), cutoff=tomorrow)
    town.spend(li, shop, 5)  # unsettled, so a new settlement has something to settle
    return {
        "account_id": [li, zhao, wang],
        "account_ids": [[li, zhao]],
        "to": [wang, "pool"],
        "merchant_id": [shop],
        "merchant_code": [ledger.get_merchant(shop).merchant_code],
        "code": [card_code],
        "redemption_id": [redemption.id],
        "incident_id": incidents[:3],
        "of": incidents[3:],
        "activity_id": [activity.id],
        "checkin_code": [activity.checkin_code],
        "settlement_id": [settlement.id],
        "cutoff": [tomorrow.isoformat()],
        "period": [town.today.strftime("%Y-%m")],
        "amount": [1, 5],  # small enough for the seeded balances
    }


def sign_in(app, seeded: dict[str, list[Any]], role: str | None) -> dict[str, str]:
    """Nothing for anonymous; else a bearer token of a new user of ``role``, linked to a
    seeded account or merchant where the role needs one (whose username and password
    join the seeded values, for signing in and for taken usernames)."""
    if role is None:
        return {}
    links = {
        "volunteer": {"account_id": seeded["account_id"][0]},
        "beneficiary": {"account_id": seeded["account_id"][2]},
        "merchant": {"merchant_id": seeded["merchant_id"][0]},
    }.get(role, {})
    auth = app.extensions["goldbean.auth"]
    username = f"contract-{role}"
    auth.create_user(username, PASSWORD, role, **links)
    token = auth.authenticate(username, PASSWORD, "127.0.0.1").token
    seeded.update(username=[username], password=[PASSWORD])
    return {"Authorization": f"Bearer {token}"}


def load_schema(app) -> schemathesis.BaseSchema:
    """The served document, as schemathesis loads it from the WSGI app."""
    config = schemathesis.Config.from_dict(
        {"generation": {"deterministic": True, "database": "none"}}
    )
    return schemathesis.openapi.from_wsgi(OPENAPI, app, config=config)


def seeded_or_generated(seeded: dict[str, list[Any]]) -> Callable[..., st.SearchStrategy]:
    """A flatmap hook: each value named like a seeded id is the generated value or one of
    the seeded ids (so requests hit real records as well as missing ones)."""

    def choose(context: Any, values: Any) -> st.SearchStrategy:
        if not isinstance(values, dict):
            return st.just(values)
        choices = {
            name: st.sampled_from([value, *seeded[name]])
            for name, value in values.items()
            if name in seeded
        }
        if not choices:
            return st.just(values)
        return st.fixed_dictionaries(choices).map(lambda chosen: {**values, **chosen})

    return choose


# --------------------------------------------------------------------------------------------
# The document itself


def test_the_document_is_valid_openapi_3(app) -> None:
    response = app.test_client().get(OPENAPI)
    assert response.status_code == 200
    document = response.get_json()
    assert str(document.get("openapi", "")).startswith("3."), document.get("openapi")
    assert document.get("paths"), "the document lists no operation"
    python_only = python_only_patterns(document)
    assert not python_only, (
        "OpenAPI patterns are ECMA-262 regular expressions; these use Python-only syntax "
        "(write ^...$ instead of \\A...\\Z):\n" + "\n".join(python_only)
    )
    errors = meta_schema_errors(document)
    assert not errors, "the document is not valid OpenAPI 3:\n" + "\n".join(errors)
    load_schema(app).validate()  # schemathesis' own verdict (the first violation)


#: Regular-expression syntax that Python has and ECMA-262 (OpenAPI's dialect) has not.
PYTHON_ONLY_REGEX = re.compile(r"(?<!\\)(?:\\\\)*\\[AZz]|\(\?P[<=]|\(\?#|\(\?[aiLmsux]+[:)]")


def python_only_patterns(node: Any, at: str = "") -> list[str]:
    """Every ``pattern`` in the document that uses Python-only regex syntax."""
    found = []
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and PYTHON_ONLY_REGEX.search(pattern):
            found.append(f"- {at or '/'}: {pattern!r}")
        for key, value in node.items():
            found += python_only_patterns(value, f"{at}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += python_only_patterns(value, f"{at}/{index}")
    return found


def meta_schema_errors(document: dict) -> list[str]:
    """Every violation of the OpenAPI 3.0 meta-schema (schemathesis' validator)."""
    try:
        from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR
    except ImportError:  # moved in another schemathesis: rely on schema.validate() alone
        return []
    return [
        f"- at {'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in OPENAPI_30_VALIDATOR.iter_errors(document)
    ]


# --------------------------------------------------------------------------------------------
# Every operation, every caller


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answer is application/problem+json with SPEC §6's members."""
    if response.status_code < 400:
        return None
    media_type = _media_type(response)
    if media_type != PROBLEM_JSON:
        raise AssertionError(
            f"a {response.status_code} answered as {media_type or 'no media type'}, "
            f"not {PROBLEM_JSON}"
        )
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"the problem is not JSON: {response.content[:SHOWN]!r}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"the problem is not a JSON object: {body!r}")
    for name, kind in PROBLEM_MEMBERS.items():
        if not isinstance(body.get(name), kind):
            raise AssertionError(
                f"the problem's {name!r} is missing or not a {kind.__name__}: {body!r}"
            )
    if body["status"] != response.status_code:
        raise AssertionError(
            f"status {body['status']} in the body of a {response.status_code} answer"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_details,
]


@pytest.mark.parametrize("role", CALLERS, ids=lambda role: role or "anonymous")
def test_every_operation_keeps_its_contract(app, seeded, role, subtests) -> None:
    headers = sign_in(app, seeded, role)
    schema = load_schema(app)
    choose = seeded_or_generated(seeded)
    schema.hook("flatmap_path_parameters")(choose)
    schema.hook("flatmap_body")(choose)
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        if not hasattr(result, "ok"):  # an Err: the document's definition is unusable
            error = result.err()
            with subtests.test(msg=getattr(error, "label", None) or "an operation"):
                raise error
            continue
        operation = result.ok()
        with subtests.test(msg=operation.label):
            found = exercise(schema, operation, headers)
            if found:
                pytest.fail(
                    f"{operation.label} as {role or 'anonymous'}: "
                    f"{len(found)} distinct failure(s)\n\n" + "\n\n".join(found.values()),
                    pytrace=False,
                )
    assert operations, "the document lists no operation"


def exercise(schema: Any, operation: Any, headers: dict[str, str]) -> dict[tuple, str]:
    """Call ``operation`` with generated requests (valid and invalid); return one report
    per distinct failure (check, status code).

    :data:`PROBE` requests first; if every answer was a refusal of the caller (401, 403),
    that is all (the refusals' contract is checked, and the role check comes before
    anything the body could reach); otherwise :data:`MAX_EXAMPLES` in all."""
    found: dict[tuple, str] = {}
    statuses: set[int] = set()
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, hooks=schema.hooks, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, hooks=schema.hooks, headers=headers),
    )

    def call(case: Any) -> None:
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except AssertionError as failure:  # one failed check (schemathesis' Failure)
            failures = [failure]
        else:
            return
        for failure in failures:
            key = (type(failure).__name__, getattr(failure, "title", ""), response.status_code)
            if key not in found:
                found[key] = report(case, response, failure, headers)

    for run_seed, examples in ((1, PROBE), (2, MAX_EXAMPLES - PROBE)):
        run = settings(
            max_examples=examples,
            derandomize=False,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(seed(run_seed)(given(case=strategy)(call)))
        run()
        if statuses <= REFUSALS:
            break
    return found


def report(case: Any, response: Any, failure: AssertionError, ours: dict[str, str]) -> str:
    """One failure: what was checked, the exact request and the response."""
    request = response.request
    sent = request.body
    if isinstance(sent, bytes):
        sent = sent.decode("utf-8", "replace")
    shown_headers = {
        name: ("Bearer <the caller's token>" if value == ours.get("Authorization") else value)
        for name, value in request.headers.items()
        if name.lower() in ("authorization", "content-type", "idempotency-key")
    }
    return "\n".join(
        [
            f"* {getattr(failure, 'title', 'Check failed')} [{getattr(failure, 'code', '?')}]",
            "  " + str(getattr(failure, "message", failure)).replace("\n", "\n  "),
            f"  request:  {request.method} {request.url}",
            f"            headers {shown_headers}",
            f"            body {(sent or '')[:SHOWN]!r}",
            f"  response: {response.status_code} {_media_type(response) or '(no media type)'}",
            f"            body {response.content[:SHOWN].decode('utf-8', 'replace')!r}",
            f"  generation: {case.meta.generation.mode.value if case.meta else '?'}",
        ]
    )


def _media_type(response: Any) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip().lower()
