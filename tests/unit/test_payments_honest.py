"""Payments that say what happened (issue 14): resolving an incident with no handlers is
refused unless nobody is to be awarded, and a bank transfer's reference pays one
settlement line of the fund. Every refusal records nothing."""

from __future__ import annotations

import pytest

from ledger.errors import NoHandlers, PaymentReferenceUsed, ValidationError
from tests.scenario import Community


def test_resolving_with_no_handlers_is_refused_unless_nobody_is_to_be_awarded(community):
    ledger, coordinator = community.ledger, community.coordinator
    li = community.volunteer("Li Wei")
    incident = ledger.submit_incident(li, "sanitation", "rubbish by the gate")
    ledger.verify_incident(incident.id, coordinator)

    community.refuses(NoHandlers, ledger.resolve_incident, incident.id, coordinator)
    community.refuses(
        ValidationError, ledger.resolve_incident, incident.id, coordinator, 5, no_award=True
    )

    resolved = ledger.resolve_incident(incident.id, coordinator, no_award=True)
    assert (resolved.status, resolved.handler_ids, resolved.award_per_handler) == (
        "resolved", [], 0,
    )  # fmt: skip
    assert community.balance(li) == 2  # the reporter's award only


def test_resolving_says_what_each_handler_was_awarded(community):
    ledger, coordinator = community.ledger, community.coordinator
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    incident = ledger.submit_incident(li, "dispute", "noise at night")
    ledger.verify_incident(incident.id, coordinator)
    ledger.assign_handlers(incident.id, coordinator, [wang])

    quiet = ledger.resolve_incident(incident.id, coordinator, no_award=True)

    assert (quiet.handler_ids, quiet.award_per_handler) == ([wang], 0)
    assert community.balance(wang) == 0


@pytest.fixture
def two_lines(community: Community):
    """Two merchants, each with a line of an approved settlement, and a funded fund."""
    li = community.volunteer("Li Wei")
    grocer, canteen = community.merchant("Grocer"), community.merchant("Canteen", "canteen")
    community.earn(li, 50)
    community.spend(li, grocer, 20)
    community.spend(li, canteen, 10)
    community.donate(100_000)
    community.move_to_local(2026, 4, 2)
    settlement = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(settlement.id, community.second_officer)
    return settlement.id, grocer, canteen


@pytest.mark.parametrize("again", ["BANK-0402-1", "bank-0402-1", " Bank-0402-1 ", "BANK -0402-1"])
def test_a_payment_reference_pays_one_line_of_the_fund(community, two_lines, again):
    settlement, grocer, canteen = two_lines
    pay = community.ledger.pay_settlement_line
    pay(settlement, grocer, "BANK-0402-1", community.officer)

    community.refuses(PaymentReferenceUsed, pay, settlement, canteen, again, community.officer)

    pay(settlement, canteen, "BANK-0402-2", community.officer)
    assert community.ledger.get_settlement(settlement).status == "paid"
