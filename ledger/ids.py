"""Deterministic aggregate ids (DESIGN.md: idempotency and uniqueness).

An aggregate whose id is derived from a natural key cannot be created twice: the second
save of the same id fails with IntegrityError, and the command returns the first result.
"""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2b0e-8d55-5a3e-9a61-6f6c6462656e")  # fixed forever: ids depend on it


def derived_id(kind: str, *parts: object) -> UUID:
    """The id of the ``kind`` aggregate named by ``parts`` (e.g. an allotment's
    beneficiary and period)."""
    return uuid5(NAMESPACE, "/".join([kind, *(str(part) for part in parts)]))


FUND_ID = derived_id("fund")
POOL_ID = derived_id("pool")
RULES_ID = derived_id("rules")
