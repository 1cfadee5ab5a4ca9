"""Fixtures of the in-memory worked scenarios."""

from __future__ import annotations

import pytest

from tests.scenario import Community


@pytest.fixture
def community():
    """A fresh community in memory, Tuesday 2026-03-10 at 10:00 in Kunming."""
    community = Community.in_memory()
    yield community
    community.close()


@pytest.fixture
def ledger(community):
    return community.ledger
