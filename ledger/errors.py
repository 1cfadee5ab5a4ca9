"""The ledger's errors: one hierarchy rooted at :class:`LedgerError`.

Every refusal of a command is one of these classes. The HTTP layer maps each class to
one status and one stable ``code`` word in a single table (SPEC §6); subclasses inherit
their parent's mapping unless the table names them.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Raised when the ledger refuses a command; the base of every ledger error."""


class NotFound(LedgerError):
    """Raised when an account, merchant, incident, activity, redemption or settlement
    named by a command does not exist."""


class ValidationError(LedgerError):
    """Raised when a command's values are malformed or out of range (a non-positive
    amount, an unknown category, an award outside 0..100, a bad period or PIN format)."""


class PeriodNotOpen(ValidationError):
    """Raised when an allotment is granted for a period that is not open to it: not the
    current month (nor, in the first days of a month when the rules allow it, the
    previous one), or a month before the beneficiary's account was opened."""


class InvalidState(LedgerError):
    """Raised when a command does not fit the current state of its subject (verifying
    a rejected incident, approving a paid settlement, paying an unapproved line)."""


class NothingToSettle(ValidationError):
    """Raised when a settlement is prepared but no merchant holds unsettled beans
    recorded before the cutoff."""


class InsufficientBalance(LedgerError):
    """Raised when the debited account holds fewer beans than the movement needs
    (for a merchant: fewer unsettled beans than a refund needs)."""


class PaymentReferenceUsed(LedgerError):
    """Raised when a settlement line is paid with a payment reference (a bank transfer's)
    that already paid another line of the fund."""


class InsufficientFund(LedgerError):
    """Raised when the fund's cash balance does not cover a settlement line's cash plus
    rebate."""


class InvalidCode(LedgerError):
    """Raised when a payment code, card code, merchant code or check-in code is
    malformed, fails its signature or check value, or names nothing known."""


class CodeExpired(LedgerError):
    """Raised when a payment code is older than its lifetime (60 s by default)."""


class ActivityNotRunning(CodeExpired):
    """Raised when an activity's check-in code is used before the activity starts or
    after it ends."""


class CodeUsed(LedgerError):
    """Raised when a volunteer payment code that was already accepted once is presented
    again (including a concurrent second use)."""


class CardRevoked(LedgerError):
    """Raised when a beneficiary card that was replaced by a reissued card is presented."""


class WrongPin(LedgerError):
    """Raised when the PIN given for a beneficiary card does not match."""


class PinRequired(LedgerError):
    """Raised when a card that has a PIN is presented without one; it is not a wrong try
    (nothing is recorded, the card's tries are untouched)."""


class PinLocked(WrongPin):
    """Raised when a card is locked after too many wrong PINs; a coordinator unlocks it."""


class MerchantNotAllowed(LedgerError):
    """Raised when a beneficiary card is used at a merchant whose category is not one
    beneficiaries may spend at (grocery, produce, canteen by default)."""


class MerchantSuspended(LedgerError):
    """Raised when a suspended merchant tries to redeem or receive a payment."""


class LimitExceeded(LedgerError):
    """Raised when a redemption exceeds the per-transaction limit, a beneficiary's
    spending would exceed the daily limit, or an allotment exceeds the programme's
    maximum per beneficiary and period; the message names the limit and what is left.

    ``facts`` says the same to a machine, for the till to word it: ``limit`` (which one:
    ``per_transaction`` or ``card_daily``), ``limit_beans`` (its size) and, for a card's
    daily limit, ``left_today`` (beans the card may still spend today). Never a balance."""

    def __init__(self, message: str, **facts: str | int) -> None:
        super().__init__(message)
        self.facts = facts


class AwardCapExceeded(LedgerError):
    """Raised when an award would take a volunteer past the daily award cap (200 beans
    per calendar day by default); the message names the accounts."""


class SelfVerification(LedgerError):
    """Raised when staff would reward their own linked account: verifying or resolving an
    incident that they reported or handled, confirming their own attendance, granting
    an allotment or allocating the pool to their own account."""


class NotTeamLeader(LedgerError):
    """Raised when a volunteer who does not lead an activity's team confirms its
    attendance or checks someone in by number (a leader acts only for their own teams'
    activities), or asks for a grid's queue they do not head."""


class NoHandlers(LedgerError):
    """Raised when an incident with no handlers is resolved without saying that nobody
    is to be awarded (``no_award``)."""


class FourEyesRequired(LedgerError):
    """Raised when one person would do what needs two: the fund officer who prepared a
    settlement approves it, the one who recorded a donation reverses it, the person who
    asked for an erasure approves it, the coordinator who prepared a correction or an
    allotment batch approves it, or one coordinator alone makes a correction or grants
    an allotment batch above the programme's threshold."""


class UnknownCredit(ValidationError):
    """Raised when a correction does not name (``corrects``) an award, allotment, gift or
    pool allocation that credited the corrected account."""


class CorrectionExceedsCredit(LedgerError):
    """Raised when a correction would take back more than is left of the credit it
    corrects (what it credited, less earlier corrections of it)."""


class RefundExceedsRedemption(LedgerError):
    """Raised when a refund is larger than what is left unrefunded of its redemption."""


class RefundWindowClosed(LedgerError):
    """Raised when a refund is asked for more than 30 days (by default) after its
    redemption."""


class IdempotencyKeyReused(LedgerError):
    """Raised when an idempotency key that already produced a result is presented with
    different values."""


class DuplicateReceipt(IdempotencyKeyReused):
    """Raised when a donation repeats a receipt number already recorded with different
    values."""


class Conflict(LedgerError):
    """Raised when a command kept clashing with concurrent writes to the same aggregates
    after its bounded retries; the caller may try again."""
