"""The programme's rules over HTTP (issue 18): GET /rules, a change proposed by one admin
(POST /rules/changes), refused for the proposer's own approval, approved by another, in
force from its time; a card sale at an eatery refused before and accepted after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import status_and_code

A = "/api/v1"
EATERIES_TOO = ["grocery", "produce", "canteen", "restaurant"]


@pytest.fixture
def admins(sign_in):
    return sign_in("admin"), sign_in("admin")


def test_the_rules_in_force_are_public(anonymous):
    rules = anonymous.get(f"{A}/rules").get_json()
    assert rules["beneficiary_categories"] == ["grocery", "produce", "canteen"]
    assert rules["max_redemption"] == 500 and rules["incident_awards"]["fire"] == 10
    assert rules["bean_value_fen"] == 100


def test_a_change_needs_a_second_admin_and_takes_effect_at_its_time(
    community, admins, sign_in, anonymous, clock
):
    proposer, second = admins
    elder = community.beneficiary("王奶奶")
    code = community.card(elder)
    community.ledger.grant_allotments("2026-03", community.coordinator)
    noodles = community.merchant("老街面馆", "restaurant")
    till = sign_in("merchant", merchant_id=noodles)
    sale = {"code": code, "amount": 6}
    assert status_and_code(till.post(f"{A}/redemptions", json=sale)) == (
        403,
        "merchant_not_allowed",
    )

    noon = (clock.now() + timedelta(hours=2)).isoformat()
    asked = proposer.post(
        f"{A}/rules/changes",
        json={"changes": {"beneficiary_categories": EATERIES_TOO}, "effective_at": noon},
    )
    assert asked.status_code == 201, asked.get_json()
    change = asked.get_json()
    assert (change["status"], change["changes"]) == (
        "pending",
        {"beneficiary_categories": EATERIES_TOO},
    )
    own = proposer.post(f"{A}/rules/changes/{change['id']}/approve")
    assert status_and_code(own) == (403, "four_eyes_required")
    approved = second.post(f"{A}/rules/changes/{change['id']}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert status_and_code(second.post(f"{A}/rules/changes/{change['id']}/approve")) == (
        409,
        "invalid_state",
    )
    assert status_and_code(till.post(f"{A}/redemptions", json=sale)) == (
        403,
        "merchant_not_allowed",
    )
    clock.advance(hours=2)
    assert till.post(f"{A}/redemptions", json=sale).status_code == 201
    assert anonymous.get(f"{A}/rules").get_json()["beneficiary_categories"] == EATERIES_TOO
    listed = second.get(f"{A}/rules/changes").get_json()["items"]
    assert [c["id"] for c in listed] == [change["id"]]


def test_proposals_out_of_bounds_or_in_the_past_are_refused(admins, clock):
    proposer, _ = admins
    for body in (
        {"changes": {"handler_award": -5}},
        {"changes": {"max_redemption": 10**9}},
        {"changes": {"bean_value_fen": 1}},
        {"changes": {}},
        {"changes": {"allotment_beans": 80}, "effective_at": "2020-01-01T00:00:00+08:00"},
    ):
        answer = proposer.post(f"{A}/rules/changes", json=body)
        assert status_and_code(answer) == (422, "validation_error"), body
    assert proposer.get(f"{A}/rules/changes").get_json()["items"] == []


def test_a_waiting_change_is_withdrawn(admins):
    proposer, second = admins
    change = proposer.post(f"{A}/rules/changes", json={"changes": {"allotment_beans": 80}})
    change_id = change.get_json()["id"]
    answer = second.post(f"{A}/rules/changes/{change_id}/withdraw")
    assert answer.status_code == 200 and answer.get_json()["status"] == "withdrawn"
    assert status_and_code(second.post(f"{A}/rules/changes/{change_id}/approve")) == (
        409,
        "invalid_state",
    )
    assert status_and_code(second.post(f"{A}/rules/changes/nope/approve")) == (404, "not_found")
