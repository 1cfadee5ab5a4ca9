"""What commands and queries return: plain frozen values, never aggregates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """Who gives a staff command: a user name, and their own bean account if they have
    one (used by the four-eyes rules). The account id is kept in canonical form (a
    lower-case UUID, as the ledger writes every id), so no spelling of it slips past a
    comparison."""

    name: str
    account_id: str | None = None

    def __post_init__(self) -> None:
        if self.account_id is not None:
            object.__setattr__(self, "account_id", canonical_id(self.account_id))

    def owns(self, account_id: object) -> bool:
        """Whether ``account_id`` is this actor's own account."""
        return self.account_id is not None and canonical_id(account_id) == self.account_id


def canonical_id(value: object) -> str:
    """An id as the ledger writes it: a UUID in lower case (other text trimmed, as is)."""
    text = str(value).strip()
    try:
        return str(UUID(text))
    except ValueError:
        return text


@dataclass(frozen=True)
class AccountView:
    id: str
    kind: str
    display_name: str
    balance: int
    number: str | None = None
    leaderboard_opt_in: bool = False
    erasure_requested_by: str | None = None  # a person's data awaits a second person
    erased: bool = False  # a person's personal data was erased on request


@dataclass(frozen=True)
class MerchantView:
    id: str
    name: str
    category: str
    rebate_bps: int
    status: str
    unsettled_beans: int
    balance: int
    number: str
    merchant_code: str


@dataclass(frozen=True)
class CardView:
    account_id: str
    card_code: str
    has_pin: bool


@dataclass(frozen=True)
class CardStatusView:
    """A beneficiary's current card as staff see it: printable code, PIN and lock-out."""

    account_id: str
    display_name: str
    number: str
    card_code: str | None  # None: no card issued yet
    has_pin: bool
    locked: bool
    failures: int


@dataclass(frozen=True)
class IncidentView:
    id: str
    status: str
    category: str
    reporter_id: str
    description: str
    location: str | None
    urgent: bool
    handler_ids: list[str]
    award: int | None
    award_per_handler: int | None
    reason: str | None
    duplicate_of: str | None
    at: datetime
    grid_id: str | None = None


@dataclass(frozen=True)
class ActivityView:
    id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    beans: int
    checkin_code: str
    checked_in: list[str]
    confirmed: list[str]
    team_id: str | None = None


@dataclass(frozen=True)
class CheckinView:
    activity_id: str
    account_id: str
    new: bool


@dataclass(frozen=True)
class ConfirmationView:
    id: str
    awarded: int
    account_ids: list[str]


@dataclass(frozen=True)
class RedemptionView:
    id: str
    payer_id: str
    merchant_id: str
    amount: int
    refunded: int
    method: str
    at: datetime


@dataclass(frozen=True)
class RefundView:
    id: str
    redemption_id: str
    amount: int


@dataclass(frozen=True)
class PaymentCodeState:
    """What became of a volunteer's payment code: ``live``, ``used`` (and the redemption),
    ``expired`` or ``unknown``."""

    state: str
    redemption: RedemptionView | None = None


@dataclass(frozen=True)
class GiftView:
    id: str
    from_id: str
    to: str  # an account id, or "pool"
    amount: int


@dataclass(frozen=True)
class AllocationView:
    id: str
    to: str
    amount: int


@dataclass(frozen=True)
class CorrectionView:
    id: str
    account_id: str
    amount: int
    corrects: str | None = None  # the id of the credit corrected


@dataclass(frozen=True)
class AllotmentRun:
    period: str
    granted: int
    skipped: int
    total: int
    granted_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AllotmentPlan:
    """What an allotment batch would grant now: ``beneficiaries`` not yet granted the
    period, ``total`` beans, and whether that is above the programme's threshold, so a
    second coordinator must approve it (``needs_approval``)."""

    period: str
    amount: int  # beans per beneficiary
    beneficiaries: int
    total: int
    needs_approval: bool


@dataclass(frozen=True)
class ApprovalRequestView:
    """A correction or allotment batch prepared by one coordinator for another to
    approve. ``kind`` is ``correction`` or ``allotments``; ``status`` ``pending``,
    ``approved`` or ``withdrawn``; ``beans`` what it moves in all. A correction's request
    carries ``account_id``, ``amount``, ``reason`` and ``corrects``; a batch's
    ``period``, ``amount`` (per beneficiary) and ``account_ids``."""

    id: str
    kind: str
    status: str
    beans: int
    prepared_by: str
    prepared_at: datetime
    decided_by: str | None = None  # who approved or withdrew it
    amount: int | None = None
    account_id: str | None = None
    reason: str | None = None
    corrects: str | None = None
    period: str | None = None
    account_ids: list[str] = field(default_factory=list)
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CreditView:
    """One credit of an account that a correction may name: the record that credited it
    (``id``: an incident, activity, allotment, gift or pool allocation), its ``flow``
    and a short ``label`` (an incident's category, an activity's title, an allotment's
    period), what it ``credited`` the account, what is ``left`` to correct, and when."""

    id: str
    kind: str  # incident, activity, allotment, gift, pool_allocation
    flow: str
    label: str
    credited: int
    left: int
    at: datetime


@dataclass(frozen=True)
class DonationView:
    id: str
    amount_fen: int
    receipt_no: str
    received_on: date
    reversed: bool = False
    recorded_by: str | None = None  # four eyes: another officer reverses it


@dataclass(frozen=True)
class SettlementLine:
    merchant_id: str
    beans: int
    cash_fen: int
    rebate_fen: int
    paid_at: datetime | None = None
    payment_ref: str | None = None


@dataclass(frozen=True)
class SettlementView:
    id: str
    period: str
    cutoff: datetime
    status: str
    lines: list[SettlementLine]
    total_fen: int
    prepared_by: str
    approved_by: str | None


@dataclass(frozen=True)
class LinePaidView:
    settlement_id: str
    merchant_id: str
    paid_at: datetime
    payment_ref: str


@dataclass(frozen=True)
class FundPosition:
    balance_fen: int
    liability_fen: int
    coverage: Decimal | None  # balance / liability, 4 places; None while nothing is owed
    outstanding_beans: int


@dataclass(frozen=True)
class LoggedEvent:
    """One event of the log as the auditor reads it: its position, the record it belongs
    to, its type (topic) and its stored state (JSON text)."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: str


@dataclass(frozen=True)
class TeamView:
    """A team (issue 18): its name, its leaders' accounts, and whether its figures are
    on the public site."""

    id: str
    name: str
    leader_ids: list[str]
    public: bool
    activity_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GridView:
    """A grid (网格): its name, its heads' accounts, and the incidents placed in it."""

    id: str
    name: str
    head_ids: list[str]
    incident_ids: list[str] = field(default_factory=list)
