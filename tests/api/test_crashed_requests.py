"""A worker killed after its request committed but before it stored the answer (found by the
chaos run's review): the Idempotency-Key stays claimed, and once the claim is no longer
renewed by its worker's heartbeat (4 s) it is taken over and the request runs again.
Commands whose records the ledger derives from the key find the first result then, instead
of recording a second incident, activity, account or merchant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from api.store import idempotency


def crash_after_commit(app, key: str) -> None:
    """What a SIGKILL between the ledger's commit and storing the answer leaves behind."""
    store = app.extensions["goldbean.store"]
    with store.write() as conn:
        conn.execute(
            update(idempotency)
            .where(idempotency.c.key == key)
            .values(status=None, response_body=None, completed_at=None)
        )


def count(ledger, kind: str) -> int:
    """How many events of this kind the log holds."""
    return sum(
        1
        for n in ledger.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith(kind)
    )


@pytest.mark.parametrize(
    "role, path, body, created",
    [
        (
            "volunteer",
            "/api/v1/incidents",
            {"category": "fire", "description": "smoke"},
            "Incident.Submitted",
        ),
        ("coordinator", "/api/v1/activities", None, "Activity.Created"),
        (
            "coordinator",
            "/api/v1/accounts",
            {"kind": "volunteer", "display_name": "李伟"},
            "Volunteer.Opened",
        ),
        (
            "admin",
            "/api/v1/merchants",
            {"name": "小店", "category": "grocery"},
            "Merchant.Registered",
        ),
    ],
)
def test_a_request_run_again_after_a_crash_records_once(
    app, sign_in, community, clock, role, path, body, created
):
    ledger = app.extensions["goldbean.ledger"]
    if body is None:
        starts = community.now + timedelta(hours=1)
        body = {
            "title": "clean the riverbank",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "beans": 10,
        }
    links = {"volunteer": {"account_id": community.volunteer("张三")}}.get(role, {})
    caller = sign_in(role, **links)
    before = count(ledger, created)
    headers = {"Idempotency-Key": "crash-1"}
    first = caller.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    crash_after_commit(app, "crash-1")
    clock.advance(minutes=2, seconds=1)
    again = caller.post(path, json=body, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert count(ledger, created) == before + 1


def test_a_card_issued_again_after_a_crash_is_the_same_card(app, sign_in, community, clock):
    """The re-run answers the first card's code: the card printed from the first answer
    (or from card.pdf) is the one the beneficiary can spend with."""
    ledger = app.extensions["goldbean.ledger"]
    grandma = ledger.open_beneficiary("王奶奶").id
    coordinator = sign_in("coordinator")
    path, headers = f"/api/v1/accounts/{grandma}/card", {"Idempotency-Key": "crash-card"}
    first = coordinator.post(path, json={"pin": "1234"}, headers=headers)
    assert first.status_code == 201, first.get_json()
    crash_after_commit(app, "crash-card")
    clock.advance(minutes=2, seconds=1)
    again = coordinator.post(path, json={"pin": "1234"}, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert count(ledger, "Beneficiary.CardIssued") == 1
    assert str(ledger.beneficiary_for_card(first.get_json()["card_code"]).id) == grandma
