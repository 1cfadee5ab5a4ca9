"""Hostile input (issue 7): every operation of the served OpenAPI document, called by a
role it allows, with each body field, query parameter and path parameter replaced by
values an attacker or a broken client sends: negative and boundary numbers, numbers too
big for any column, floats, NaN, unicode and control characters, bidi overrides, very
long strings, SQL-looking strings, wrong JSON types and deeply nested JSON; and whole
bodies that are not what JSON parsers expect (a 10,000-digit number, ``1e999``, NaN
literals, invalid UTF-8, a BOM, 10,000 nested arrays).

Every answer must be a documented kind of answer, never a server error: 2xx when the
hostile value happens to be valid (an SQL-looking display name is just a name), else an
application/problem+json refusal. A refused request must change nothing: the ledger's
event log is the same length afterwards (the one refusal that records is a wrong PIN,
which counts towards the card's lock; see :data:`REFUSALS_THAT_RECORD`).

schemathesis' negative mode (tests/api/test_contract.py) explores the document's own
types at random; this table is the deliberate, repeatable list of the values that break
real systems, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from api.errors import PROBLEM_JSON
from tests.api.test_contract import OPENAPI, seeded, sign_in  # noqa: F401  (fixture)

NESTED: Any = 1
for _level in range(20):
    NESTED = [NESTED]
SQL = "'; DROP TABLE gb_proj_accounts; --"
HOSTILE_VALUES: list[Any] = [
    -1,
    0,
    2**31,
    2**63,
    10**30,
    -(10**30),
    1.5,
    1e308,
    True,
    None,
    "",
    " ",
    SQL,
    "1 OR 1=1",
    "\u202egnp.exe",  # right-to-left override
    "\x00\x01\x07\x1b[31m",  # NUL, bell, terminal escape
    "😀" * 50,
    "李" * 10_000,
    "<script>alert(1)</script>",
    "../../etc/passwd",
    [],
    {"$gt": ""},
    NESTED,
]

#: Whole bodies that JSON parsers and number parsers choke on.
RAW_BODIES: list[bytes] = [
    b'{"amount": ' + b"9" * 10_000 + b"}",
    b'{"amount": 1e999}',
    b'{"amount": NaN}',
    b'{"amount": -Infinity}',
    b'{"amount": 1, "amount": 2}',
    b"\xef\xbb\xbf{}",
    b'{"display_name": "\xff\xfe"}',
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"null",
    b'"just a string"',
    b"",
]

PATH_VALUES = [SQL, "%00", "..%2f..%2fetc", "李" * 500, "0" * 5_000, "-1", "9" * 40]

#: Refusal codes whose request records an event by design.
REFUSALS_THAT_RECORD = {"wrong_pin", "card_locked"}

ROLES = ("volunteer", "beneficiary", "merchant", "coordinator", "fund_officer", "auditor", "admin")


@pytest.fixture
def document(app) -> dict:
    return app.test_client().get(OPENAPI).get_json()


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = document["components"]["schemas"][name]
    return node


def operations(document: dict):
    """(method, path template, operation) for every documented operation."""
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])  # flask-smorest lists path parameters here
        for method, operation in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                parameters = [*shared, *operation.get("parameters", [])]
                yield method, path, {**operation, "parameters": parameters}


def allowed_role(app, method: str, path: str) -> str | None:
    """A role the route allows (None: anyone, or only a signed-in anybody)."""
    flask_path = path.replace("{", "<").replace("}", ">")
    for rule in app.url_map.iter_rules():
        if rule.rule == flask_path and method.upper() in (rule.methods or ()):
            view = app.view_functions[rule.endpoint]
            view_class = getattr(view, "view_class", None)
            handler = getattr(view_class, method, view) if view_class else view
            roles = getattr(handler, "_goldbean_roles", None)
            return roles[0] if roles else ("admin" if roles == () else None)
    raise AssertionError(f"{method.upper()} {path} is documented but not routed")


class Caller:
    def __init__(self, app, seeded) -> None:  # noqa: F811
        self.app, self.seeded, self.client = app, seeded, app.test_client()
        self.headers: dict[str, dict[str, str]] = {}
        self.ledger = app.extensions["goldbean.ledger"]
        self.sent = 0

    def headers_of(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        if role not in self.headers:
            self.headers[role] = sign_in(self.app, self.seeded, role)
        return self.headers[role]

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def call(self, role, method, path, *, body: bytes | None = None, query: str = "") -> Any:
        self.sent += 1
        headers = {**self.headers_of(role), "Idempotency-Key": f"hostile-{self.sent}"}
        before = self.head()
        url = path + (f"?{query}" if query else "")
        response = self.client.open(
            url,
            method=method.upper(),
            data=body,
            headers=headers,
            content_type="application/json" if body is not None else None,
        )
        shown = f"{method.upper()} {url[:200]} body {(body or b'')[:200]!r} as {role}"
        assert response.status_code < 500, (
            f"{shown}: {response.status_code} {response.data[:300]!r}"
        )
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM_JSON, f"{shown}: {response.mimetype}"
            code = response.get_json()["code"]
            if code not in REFUSALS_THAT_RECORD:
                assert self.head() == before, f"{shown}: refused ({code}) but recorded events"
        return response


def fill(path: str, seeded) -> str:  # noqa: F811
    """The path with each parameter replaced by a real, seeded id."""
    out = path
    for name, values in seeded.items():
        if "{" + name + "}" in out:
            out = out.replace("{" + name + "}", quote(str(values[0]), safe=""))
    return out


def example_body(document: dict, schema: dict, seeded) -> dict:  # noqa: F811
    """A body with every property a seeded value (or a plain one), for one field to spoil."""
    body = {}
    for name, prop in resolve(document, schema).get("properties", {}).items():
        prop = resolve(document, prop)
        if name in seeded:
            body[name] = seeded[name][0]
        elif prop.get("type") == "integer":
            body[name] = 1
        elif prop.get("type") == "boolean":
            body[name] = False
        elif prop.get("type") == "array":
            body[name] = []
        elif "enum" in prop:
            body[name] = prop["enum"][0]
        else:
            body[name] = "x"
    return body


def test_hostile_bodies_are_refused_cleanly_and_change_nothing(app, seeded, document):  # noqa: F811
    caller = Caller(app, seeded)
    calls = 0
    for method, path, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        role = allowed_role(app, method, path)
        url = fill(path, seeded)
        schema = content["application/json"]["schema"]
        base = example_body(document, schema, seeded)
        for name in base:
            for value in HOSTILE_VALUES:
                body = json.dumps({**base, name: value}).encode()
                caller.call(role, method, url, body=body)
                calls += 1
        for raw in RAW_BODIES:
            caller.call(role, method, url, body=raw)
            calls += 1
    assert calls > 500


def test_hostile_query_and_path_values_are_refused_cleanly(app, seeded, document):  # noqa: F811
    caller = Caller(app, seeded)
    calls = 0
    for method, path, operation in operations(document):
        role = allowed_role(app, method, path)
        has_body = "requestBody" in operation
        body = b"{}" if has_body else None
        for parameter in operation.get("parameters", []):
            parameter = resolve(document, parameter)
            for value in [*PATH_VALUES, "", "\x00", "1e999", SQL]:
                if parameter["in"] == "path":
                    url = fill(
                        path.replace("{" + parameter["name"] + "}", quote(value, safe="")), seeded
                    )
                    caller.call(role, method, url, body=body)
                elif parameter["in"] == "query":
                    query = f"{parameter['name']}={quote(value, safe='')}"
                    caller.call(role, method, fill(path, seeded), body=body, query=query)
                else:
                    continue
                calls += 1
    assert calls > 100
