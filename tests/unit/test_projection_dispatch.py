"""A projection finds its handler by the stored event's topic, keyed by the event's class."""

from __future__ import annotations

import logging

import pytest
from eventsourcing.utils import get_topic, register_topic

from ledger.accounts import Volunteer
from ledger.records import Correction, Redemption
from projections.dispatch import Dispatch, topics


def test_a_handler_is_found_by_the_topic_of_its_event_class() -> None:
    dispatch = Dispatch({Redemption.Made: "count the redemption"}, ignored={Correction.Made})
    assert dispatch.handler("ledger.records:Redemption.Made") == "count the redemption"


def test_events_of_the_same_name_on_other_aggregates_are_told_apart() -> None:
    dispatch = Dispatch({Redemption.Made: "count the redemption"}, ignored={Correction.Made})
    assert dispatch.handler(get_topic(Correction.Made)) is None


def test_an_event_class_neither_handled_nor_ignored_has_no_handler() -> None:
    dispatch = Dispatch({Redemption.Made: "count the redemption"})
    assert dispatch.handler(get_topic(Volunteer.LeaderboardChoiceMade)) is None


def test_a_class_renamed_with_its_old_topic_registered_keeps_its_handler() -> None:
    # eventsourcing's way to rename an event class: the old topic, still in the log,
    # is registered for the renamed class.
    old_topic = "tests.unit.renamed_events:Redemption.Recorded"
    register_topic(old_topic, Redemption.Made)
    dispatch = Dispatch({Redemption.Made: "count the redemption"})
    assert dispatch.handler(old_topic) == "count the redemption"


def test_a_topic_of_no_class_has_no_handler_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatch = Dispatch({Redemption.Made: "count the redemption"})
    with caplog.at_level(logging.WARNING, logger="projections.dispatch"):
        for _ in range(3):
            assert dispatch.handler("ledger.records:Redemption.Vanished") is None
    assert len(caplog.records) == 1
    assert "ledger.records:Redemption.Vanished" in caplog.records[0].getMessage()


def test_an_event_type_both_handled_and_ignored_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ledger\.records:Redemption\.Made"):
        Dispatch({Redemption.Made: "count the redemption"}, ignored={Redemption.Made})


def test_topics_of_a_base_class_are_those_of_its_handled_subclasses() -> None:
    dispatch = Dispatch(
        {Redemption.Made: "made", Redemption.Refunded: "refunded", Correction.Made: "corrected"}
    )
    assert dispatch.topics_of(Redemption.Event) == topics([Redemption.Made, Redemption.Refunded])
