"""The ledger's events that neither recognition nor the notices read: money moving
(each has its own record event), cards, merchants, the fund, approvals, uniqueness
markers, the rules, teams and grids. Each of those projections ignores these and lists,
beside them, the events about incidents, activities and settlements that it leaves
alone."""

from __future__ import annotations

from ledger.accounts import Beneficiary, Pool, Volunteer
from ledger.activities import Activity
from ledger.approvals import ApprovalRequest
from ledger.fund import Donation, Fund, PaymentReference
from ledger.incidents import Incident
from ledger.merchants import Merchant
from ledger.records import (
    AccountNumberClaimed,
    Allotment,
    CardRegistered,
    CheckinCodeClaimed,
    Correction,
    Gift,
    PaymentCodeUsed,
    PoolAllocation,
    Redemption,
)
from ledger.rulebook import RuleBook
from ledger.teams import Grid, Team

QUIET: frozenset[type] = frozenset(
    {
        Volunteer.Opened,  # names come from the books' accounts
        Beneficiary.Opened,
        Pool.Opened,
        Volunteer.BeansCredited,  # awards are read from their records (incident, activity)
        Volunteer.BeansDebited,
        Beneficiary.BeansCredited,
        Beneficiary.BeansDebited,
        Pool.BeansCredited,
        Pool.BeansDebited,
        Volunteer.LeaderboardChoiceMade,  # the choice is the books' (accounts)
        Volunteer.ErasureRequested,
        Volunteer.PersonalDataErased,
        Beneficiary.ErasureRequested,
        Beneficiary.PersonalDataErased,
        Beneficiary.CardIssued,
        Beneficiary.WrongPinEntered,
        Beneficiary.CardUnlocked,
        Merchant.Registered,
        Merchant.BeansCredited,
        Merchant.BeansDebited,
        Merchant.Suspended,
        Merchant.Reactivated,
        Merchant.SettlementReserved,
        Merchant.SettlementReleased,
        Fund.Opened,
        Fund.DonationReceived,
        Fund.DonationReversed,
        Fund.SettlementLinePaid,
        Donation.Received,
        Donation.Reversed,
        PaymentReference.Used,
        ApprovalRequest.Prepared,
        ApprovalRequest.Approved,
        ApprovalRequest.Withdrawn,
        AccountNumberClaimed.Claimed,
        CardRegistered.Registered,
        CheckinCodeClaimed.Claimed,
        PaymentCodeUsed.Used,
        Correction.Made,
        Allotment.Granted,
        Allotment.CreditCorrected,  # not an award
        Gift.Given,
        Gift.CreditCorrected,
        PoolAllocation.Allocated,
        PoolAllocation.CreditCorrected,
        RuleBook.Established,  # the rules: read by the books (the monthly report)
        RuleBook.ChangeProposed,
        RuleBook.ChangeApproved,
        RuleBook.ChangeWithdrawn,
        Team.Created,  # teams and grids: no award, no time, nobody to tell
        Team.LeaderAppointed,
        Team.LeaderRemoved,
        Team.PublicChoiceMade,
        Grid.Created,
        Grid.HeadAppointed,
        Grid.HeadRemoved,
        Activity.AssignedToTeam,
        Activity.CheckedInManually,  # counts once confirmed
        Incident.PlacedInGrid,
        Redemption.Made,
        Redemption.Refunded,
    }
)
