"""The ledger's events that neither recognition nor the notices read: money moving
(each has its own record event), cards, merchants, the fund, approvals and uniqueness
markers. Each of those projections ignores these and lists, beside them, the events about
incidents, activities and settlements that it leaves alone."""

from __future__ import annotations

from ledger.accounts import Beneficiary, Pool, Volunteer
from ledger.approvals import ApprovalRequest
from ledger.fund import Donation, Fund, PaymentReference
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
        Redemption.Made,
        Redemption.Refunded,
    }
)
