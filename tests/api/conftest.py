"""Fixtures of the API tests: an app on each database, and signed-in clients."""

from __future__ import annotations

import json as json_module

import pytest

from api.app import create_app
from api.store import Store
from ledger.clock import FakeClock
from ledger.persistence import open_ledger
from tests.scenario import START, Community


class Client:
    """The Flask test client plus a bearer token."""

    def __init__(self, flask_client, token: str | None = None) -> None:
        self.flask, self.token = flask_client, token

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def get(self, path, headers=None, **kw):
        return self.flask.get(path, headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        return self.flask.post(path, headers=self._headers(headers), **_body(json, kw))

    def patch(self, path, json=None, headers=None, **kw):
        return self.flask.patch(path, headers=self._headers(headers), **_body(json, kw))

    def put(self, path, json=None, headers=None, **kw):
        return self.flask.put(path, headers=self._headers(headers), **_body(json, kw))


def _body(value, kw: dict) -> dict:
    """A JSON body as clients send it: ASCII with escapes, so that tests can send any
    string (Flask's own encoder would fail on a lone surrogate)."""
    if value is None:
        return kw
    return {**kw, "data": json_module.dumps(value), "content_type": "application/json"}


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def app(database_url, clock):
    ledger = open_ledger(database_url, clock=clock, create_tables=True)
    if not database_url.startswith("memory:"):
        store = Store(database_url)
        store.create_tables()
        store.close()
    app = create_app({"database_url": database_url, "demo": True}, ledger=ledger)
    yield app
    app.extensions["goldbean.jobs"].join()  # a background job still using the store
    app.extensions["goldbean.store"].close()
    ledger.close()


@pytest.fixture
def anonymous(app):
    return Client(app.test_client())


@pytest.fixture
def sign_in(app):
    """sign_in(role, **ids) -> a Client signed in as a new user of that role."""
    auth = app.extensions["goldbean.auth"]
    made = iter(range(1, 10_000))

    def make(role: str, **ids) -> Client:
        name = f"{role}-{next(made)}"
        auth.create_user(name, "correct horse battery", role, **ids)
        token = auth.authenticate(name, "correct horse battery", "127.0.0.1").token
        return Client(app.test_client(), token)

    return make


@pytest.fixture
def admin(sign_in):
    return sign_in("admin")


@pytest.fixture
def community(app, clock):
    """The app's own ledger, with story-sized steps, to set up state quickly."""
    return Community(app.extensions["goldbean.ledger"], clock)
