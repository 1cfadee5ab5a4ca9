"""Over real HTTP, against ``goldbean serve`` with 4 workers on PostgreSQL: tills fire
redemptions at one volunteer's account at once and retry each request with the same
Idempotency-Key, as a till does after a network failure. Every 201 must be exactly one
recorded redemption, every retry must get the first answer, and no bean may be lost."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from api.auth import Auth
from api.settings import Settings
from api.store import Store
from ledger.clock import FakeClock
from ledger.persistence import init_db, open_ledger
from ledger.views import Actor
from tests.e2e.test_serve import call, running_server

SECRET = "e2e-secret-key-0123456789abcdef"
TILLS, RETRIES, AMOUNT, START_BALANCE = 20, 3, 7, 100


@pytest.fixture
def community(postgres_url):
    """A volunteer holding 100 beans, a grocer and its till's sign-in, in PostgreSQL."""
    init_db(postgres_url)
    store = Store(postgres_url)
    store.create_tables()
    settings = Settings.load({"database_url": postgres_url, "secret_key": SECRET})
    ledger = open_ledger(postgres_url, keyring=settings.keyring(), rules=settings.rules())
    volunteer = ledger.open_volunteer("李伟")
    incident = ledger.submit_incident(volunteer.id, "fire", "smoke in stairwell 3")
    ledger.verify_incident(incident.id, Actor("coordinator"), award=START_BALANCE)
    grocer = ledger.register_merchant("社区便利店", "grocery")
    Auth(store, FakeClock(datetime.now(UTC))).create_user(
        "till", "lantern-copper-meadow-7", "merchant", merchant_id=grocer.id
    )
    store.close()
    yield ledger, volunteer, grocer
    ledger.close()


@pytest.fixture
def server(postgres_url, community):
    env = {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_DEMO": "0"}
    with running_server(postgres_url, env, "--workers", "4", "--threads", "4") as base:
        yield base


def test_concurrent_redemptions_with_retries_move_every_bean_exactly_once(server, community):
    ledger, volunteer, grocer = community
    status, signed = call(
        server + "/api/v1/auth/token", {"username": "till", "password": "lantern-copper-meadow-7"}
    )
    assert status == 200
    token = signed["token"]
    # Twenty codes shown within one second may repeat (a 2-digit nonce): a repeated code is
    # the same code, used once. Each till here gets a code of its own.
    distinct: set[str] = set()
    while len(distinct) < TILLS:
        distinct.add(ledger.issue_payment_code(volunteer.id).code)
    codes = sorted(distinct)
    answers: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    lock, barrier = threading.Lock(), threading.Barrier(TILLS * RETRIES)

    def till(number: int) -> None:
        key, code = f"till-{number % TILLS}", codes[number % TILLS]
        barrier.wait()
        answer = call(server + "/api/v1/redemptions", {"code": code, "amount": AMOUNT}, token, key)
        with lock:
            answers[key].append(answer)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(TILLS * RETRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Every retry of a key got the same answer as the first.
    for key, replies in answers.items():
        assert len(replies) == RETRIES
        assert all(reply == replies[0] for reply in replies), key
    outcomes = Counter(replies[0][0] for replies in answers.values())
    assert outcomes == {201: START_BALANCE // AMOUNT, 409: TILLS - START_BALANCE // AMOUNT}
    refused = {replies[0][1]["code"] for replies in answers.values() if replies[0][0] == 409}
    assert refused == {"insufficient_balance"}

    # Every 201 is one recorded redemption; the beans moved once each.
    ids = {replies[0][1]["id"] for replies in answers.values() if replies[0][0] == 201}
    assert len(ids) == START_BALANCE // AMOUNT
    for redemption_id in ids:
        recorded = ledger.get_redemption(redemption_id)
        assert (recorded.payer_id, recorded.amount) == (volunteer.id, AMOUNT)
    assert ledger.get_balance(volunteer.id) == START_BALANCE % AMOUNT
    assert ledger.get_merchant(grocer.id).balance == AMOUNT * len(ids)
