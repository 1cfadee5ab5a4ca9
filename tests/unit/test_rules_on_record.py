"""The programme's rules on the record (issue 18): an admin proposes a change, a second
admin approves it, and it is in force from its stated time; every decision reads the
rules in force at its own time, and the verifier recomputes the month's report, with its
rule changes, across the change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import (
    FourEyesRequired,
    IdempotencyKeyReused,
    InvalidState,
    LimitExceeded,
    MerchantNotAllowed,
    NotFound,
    ValidationError,
)
from ledger.rules import Rules
from ledger.views import Actor
from projections.verifier import compare_reports, compute_reports
from tests.projection_helpers import (
    assert_reports_match,
    export_header,
    export_lines,
    open_store,
    runner_for,
)
from tests.scenario import Community

ADMIN, SECOND_ADMIN = Actor("admin"), Actor("admin-2")
EATERIES_TOO = {"beneficiary_categories": ["grocery", "produce", "canteen", "restaurant"]}


@pytest.fixture
def community():
    community = Community.in_memory()
    yield community
    community.close()


def elder_with_card(community: Community) -> tuple[str, str]:
    elder = community.beneficiary("王奶奶")
    code = community.card(elder)
    community.ledger.grant_allotments(community.ledger.calendar.period(community.now), ADMIN)
    return elder, code


def test_a_card_sale_at_an_eatery_is_refused_before_the_change_and_accepted_after(community):
    ledger = community.ledger
    elder, code = elder_with_card(community)
    noodles = community.merchant("老街面馆", "restaurant")
    with pytest.raises(MerchantNotAllowed):
        ledger.redeem(noodles, code, 8)

    at_noon = community.now + timedelta(hours=2)
    change = ledger.propose_rule_change(EATERIES_TOO, ADMIN, effective_at=at_noon)
    assert change.status == "pending"
    with pytest.raises(FourEyesRequired):
        ledger.approve_rule_change(change.id, ADMIN)  # not the proposer's own
    with pytest.raises(MerchantNotAllowed):
        ledger.redeem(noodles, code, 8)  # proposed is not in force

    approved = ledger.approve_rule_change(change.id, SECOND_ADMIN)
    assert (approved.status, approved.decided_by, approved.in_force_from) == (
        "approved",
        "admin-2",
        at_noon,
    )
    community.advance(hours=1, minutes=59)
    with pytest.raises(MerchantNotAllowed):
        ledger.redeem(noodles, code, 8)  # approved, but its time has not come
    community.advance(minutes=1)
    sale = ledger.redeem(noodles, code, 8)
    assert sale.amount == 8 and community.balance(elder) == 92
    assert "restaurant" in ledger.rules.beneficiary_categories
    # and the past keeps its rules: before noon the eatery was not allowed
    assert (
        "restaurant" not in ledger.rules_at(at_noon - timedelta(seconds=1)).beneficiary_categories
    )


def test_the_first_proposal_records_the_settings_as_the_first_rules(community):
    ledger = community.ledger
    assert ledger.rule_book() is None  # until then the settings are the rules
    ledger.propose_rule_change({"max_redemption": 300}, ADMIN)
    book = ledger.rule_book()
    assert book is not None and book.initial == Rules().record()
    topics = [e.topic.rpartition(".")[2] for e in ledger.read_log(0, 100)]
    assert topics[-2:] == ["Established", "ChangeProposed"]


def test_a_change_approved_after_its_time_takes_effect_when_approved(community):
    ledger = community.ledger
    change = ledger.propose_rule_change({"max_redemption": 300}, ADMIN)  # "when approved"
    community.advance(hours=3)
    approved = ledger.approve_rule_change(change.id, SECOND_ADMIN)
    assert approved.in_force_from == community.now
    volunteer = community.volunteer("李伟")
    community.earn(volunteer, 200)
    shop = community.merchant("幸福超市")
    with pytest.raises(LimitExceeded):
        community.spend(volunteer, shop, 301)
    assert community.spend(volunteer, shop, 150).amount == 150


def test_proposals_are_bounded(community):
    ledger = community.ledger
    for values in (
        {"handler_award": -1},
        {"daily_award_cap": 0},
        {"max_redemption": 1_000_000},
        {"incident_awards": {"fire": 5}},
        {"beneficiary_categories": []},
        {"beneficiary_categories": ["casino"]},
        {"default_rebate_bps": 9_000},
        {"bean_value_fen": 1},  # not a rule on the record: a setting
        {"community_name": "金沙" * 40},
        {"handler_award": 200},  # more than the largest award (100)
        {},
    ):
        with pytest.raises(ValidationError):
            ledger.propose_rule_change(values, ADMIN)
    with pytest.raises(ValidationError):
        ledger.propose_rule_change(
            {"max_redemption": 300}, ADMIN, effective_at=community.now - timedelta(minutes=1)
        )
    assert ledger.rule_changes() == []


def test_a_change_that_no_longer_fits_is_refused_at_approval(community):
    ledger = community.ledger
    lower = ledger.propose_rule_change({"max_award": 20}, ADMIN)
    higher = ledger.propose_rule_change({"handler_award": 30}, ADMIN)
    ledger.approve_rule_change(lower.id, SECOND_ADMIN)
    with pytest.raises(ValidationError):
        ledger.approve_rule_change(higher.id, SECOND_ADMIN)
    assert ledger.rules.max_award == 20 and ledger.rules.handler_award == 5


def test_a_waiting_change_may_be_withdrawn_once(community):
    ledger = community.ledger
    change = ledger.propose_rule_change({"allotment_beans": 80}, ADMIN)
    withdrawn = ledger.withdraw_rule_change(change.id, SECOND_ADMIN)
    assert withdrawn.status == "withdrawn"
    with pytest.raises(InvalidState):
        ledger.approve_rule_change(change.id, SECOND_ADMIN)
    with pytest.raises(InvalidState):
        ledger.withdraw_rule_change(change.id, ADMIN)
    with pytest.raises(NotFound):
        ledger.approve_rule_change("no-such-change", SECOND_ADMIN)
    assert ledger.rules.allotment_beans == 100


def test_a_proposal_with_a_key_is_made_once(community):
    ledger = community.ledger
    first = ledger.propose_rule_change({"refund_window_days": 14}, ADMIN, key="k1")
    again = ledger.propose_rule_change({"refund_window_days": 14}, ADMIN, key="k1")
    assert again.id == first.id and len(ledger.rule_changes()) == 1
    with pytest.raises(IdempotencyKeyReused):
        ledger.propose_rule_change({"refund_window_days": 7}, ADMIN, key="k1")


def test_awards_caps_and_the_allotment_follow_the_rules_in_force(community):
    ledger = community.ledger
    change = ledger.propose_rule_change(
        {
            "incident_awards": {
                "fire": 20,
                "public_security": 5,
                "dispute": 3,
                "sanitation": 2,
                "resident_need": 2,
                "other": 1,
            },
            "allotment_beans": 120,
            "allotment_max": 120,
        },
        ADMIN,
    )
    ledger.approve_rule_change(change.id, SECOND_ADMIN)
    volunteer = community.volunteer("李伟")
    incident = ledger.submit_incident(volunteer, "fire", "楼道堆放杂物")
    assert ledger.verify_incident(incident.id, community.coordinator).award == 20
    elder = community.beneficiary("王奶奶")
    ledger.grant_allotments(ledger.calendar.period(community.now), community.coordinator)
    assert community.balance(elder) == 120


def test_the_verifier_recomputes_the_month_across_a_rule_change(sqlite_url):
    community = Community.on(sqlite_url)
    try:
        ledger = community.ledger
        elder, code = elder_with_card(community)
        noodles = community.merchant("老街面馆", "restaurant")
        grocer = community.merchant("幸福超市")
        community.spend_card(elder, grocer, 10)
        noon = community.now + timedelta(hours=2)
        change = ledger.propose_rule_change(EATERIES_TOO, ADMIN, effective_at=noon)
        ledger.approve_rule_change(change.id, SECOND_ADMIN)
        with pytest.raises(MerchantNotAllowed):
            ledger.redeem(noodles, code, 8)
        community.advance(hours=2)
        ledger.redeem(noodles, code, 8)
        community.advance(days=30)  # into April: March is final

        store = open_store(sqlite_url)
        try:
            runner_for(store, ledger).catch_up()
            published = assert_reports_match(store, ledger, community.now)
            lines = export_lines(ledger, store)
        finally:
            store.close()
        march = published["2026-03"]
        assert march["beans"]["redeemed"] == 18 and march["activity"]["redemptions"] == 2
        assert march["rule_changes"] == [
            {"effective_at": "2026-03-10T04:00:00+00:00", "changes": EATERIES_TOO}
        ]
        assert published["2026-04"]["rule_changes"] == []

        # A published report that leaves the change out does not pass the verifier.
        computed = compute_reports(export_header(ledger, community.now, len(lines)), lines)
        hidden = {p: dict(r) for p, r in published.items()}
        hidden["2026-03"]["rule_changes"] = []
        assert compare_reports(computed, hidden) == [
            "2026-03 rule_changes: published 0 items, recomputed 1"
        ]
    finally:
        community.close()


def test_first_rules_from_settings_beyond_a_proposal_s_bounds_still_hold():
    """A rebate of 60 % set by the server's settings is recorded as it is; a proposal
    could not set it (at most 50 %), but the record keeps working."""
    community = Community.in_memory(rules=Rules(default_rebate_bps=6_000))
    try:
        ledger = community.ledger
        ledger.propose_rule_change({"max_redemption": 300}, ADMIN)
        assert ledger.rules.default_rebate_bps == 6_000
        with pytest.raises(ValidationError):
            ledger.propose_rule_change({"default_rebate_bps": 6_000}, ADMIN)
    finally:
        community.close()
