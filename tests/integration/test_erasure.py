"""Erasing a person's personal data on request (issue 15): ``goldbean people erase`` with
two people, on SQLite and PostgreSQL. The name, number, card and PIN verifier go; the
account, its entries and the books stay and still verify."""

from __future__ import annotations

import pytest

from ledger.errors import CardRevoked, FourEyesRequired, InvalidCode
from ledger.views import Actor
from tests.projection_helpers import (
    assert_reports_match,
    cli,
    open_store,
    runner_for,
)
from tests.scenario import Community


@pytest.fixture
def url(database_url, tmp_path):
    if database_url.startswith("memory:"):
        return f"sqlite:///{tmp_path}/erasure.sqlite3"  # the command needs a lasting store
    return database_url


def test_an_erased_person_keeps_their_beans_in_the_books_and_loses_their_data(url):
    community = Community.on(url)
    zhao = community.beneficiary("赵秀英")
    li = community.volunteer("李伟")
    code = community.card(zhao, pin="4821")
    community.earn(li, 12)
    community.give(li, zhao, 5)
    shop = community.merchant("幸福超市")
    community.spend_card(zhao, shop, 3, pin="4821")
    balance = community.balance(zhao)
    community.close()

    same = cli("people", "erase", zhao, "--requested-by", "admin", "--approved-by", "admin",
               "--database-url", url)  # fmt: skip
    assert same[0] == 1 and "another" in same[1]
    done = cli("people", "erase", zhao, "--requested-by", "admin", "--approved-by", "coord",
               "--database-url", url)  # fmt: skip
    assert done[0] == 0, done[1]
    assert "Erased the personal data of beneficiary account" in done[1]

    community = Community.on(url)
    try:
        ledger = community.ledger
        assert ledger.personal.get(zhao) == {} and ledger.personal.erased(zhao)
        assert ledger.get_balance(zhao) == balance
        assert ledger.get_account(zhao).display_name == ""
        with pytest.raises((CardRevoked, InvalidCode)):
            ledger.beneficiary_for_card(code)
        assert ledger.personal.get(li)["display_name"] == "李伟"  # nobody else's
        store = open_store(url)
        try:
            runner_for(store, ledger).catch_up()
            from projections import queries

            with store.read() as conn:
                assert queries.account(conn, zhao)["display_name"] == ""
            assert_reports_match(store, ledger, community.now)
        finally:
            store.close()
    finally:
        community.close()


def test_an_erasure_needs_a_request_and_a_second_person(url):
    community = Community.on(url)
    try:
        li = community.volunteer("李伟")
        ledger = community.ledger
        with pytest.raises(Exception, match="nobody asked"):
            ledger.approve_erasure(li, Actor("coord"))
        ledger.request_erasure(li, Actor("admin"))
        with pytest.raises(FourEyesRequired):
            ledger.approve_erasure(li, Actor("admin"))
        assert ledger.personal.get(li)["display_name"] == "李伟"
        ledger.approve_erasure(li, Actor("coord"))
        assert ledger.personal.get(li) == {}
    finally:
        community.close()
