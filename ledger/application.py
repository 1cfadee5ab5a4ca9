"""The Goldbean ledger: one event-sourced application with every command of SPEC §3–§5.

Each command follows DESIGN.md's flow: plain values in → aggregates check their rules
(``check_*``) and record events → one atomic ``save`` of every aggregate it touched →
a frozen view out. Clashing concurrent writes are retried by reloading (core.run);
commands that move beans or cash take an idempotency ``key`` and derive their record's
id from it, so a repeat returns the first result and records nothing new.
"""

from __future__ import annotations

from ledger.commands_approvals import ApprovalCommands
from ledger.commands_fund import FundCommands
from ledger.commands_giving import GivingCommands
from ledger.commands_payments import PaymentCommands
from ledger.commands_people import PeopleCommands
from ledger.commands_rules import RuleCommands
from ledger.commands_teams import TeamCommands
from ledger.credit_history import CreditQueries


class Ledger(
    PaymentCommands,
    TeamCommands,
    ApprovalCommands,
    GivingCommands,
    FundCommands,
    CreditQueries,
    PeopleCommands,
    RuleCommands,
):
    """Goldbean's ledger application. Construct it with ledger.persistence.open_ledger()."""

    name = "Goldbean"
