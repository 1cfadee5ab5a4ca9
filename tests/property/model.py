"""The reference model of the ledger state machine (see ledger_machine.py): SPEC §2–§5
written down again as plain dicts and counters, with no code borrowed from ledger/ but
the derived id of an allotment (DESIGN.md: beneficiary + period), which a correction names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from ledger.clock import FakeClock
from ledger.errors import (
    InsufficientBalance,
    LedgerError,
    LimitExceeded,
    MerchantNotAllowed,
    MerchantSuspended,
)
from ledger.ids import derived_id
from ledger.views import Actor

Errors = set[type[LedgerError]]

# --- SPEC §2, §4 and §5, written down again: the model must not borrow the ledger's rules

ZONE = ZoneInfo("Asia/Shanghai")
BEAN_FEN = 100
DAILY_AWARD_CAP = 200
MAX_SPEND = 500
CARD_DAILY_LIMIT = 50
CARD_CATEGORIES = ("grocery", "produce", "canteen")
MERCHANT_CATEGORIES = CARD_CATEGORIES + ("restaurant", "pharmacy", "services", "other")
INCIDENT_AWARDS = {"fire": 10, "public_security": 5, "dispute": 3, "sanitation": 2}
INCIDENT_AWARDS |= {"resident_need": 2, "other": 1}
HANDLER_AWARD = 5
ALLOTMENT = 100
DEFAULT_REBATE_BPS = 1000
REFUND_WINDOW = timedelta(days=30)
CODE_LIFETIME = timedelta(seconds=60)
# A payment code carries the last 5 digits of its issue second (ledger/codes.py); the
# verifier allows 5 s of clock skew.
CODE_CYCLE, CODE_SKEW = timedelta(seconds=100_000), timedelta(seconds=5)

# Four eyes above a threshold (programme settings; the machine runs with these, lower than
# the defaults, so that four-eyes paths come up in short runs): a correction of more than
# 30 beans, or an allotment batch of more than 250 beans in all, needs a second person.
CORRECTION_APPROVAL_ABOVE = 30
ALLOTMENT_BATCH_APPROVAL_ABOVE = 250

POOL = "pool"
COORDINATOR = Actor("coordinator")
OFFICERS = (Actor("officer-a"), Actor("officer-b"))
# The clock starts at BASE; the start_the_clock initializer moves it on to one of
# STARTS (initializers run in any order, and time never runs backwards).
BASE = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 local
STARTS = (
    BASE,
    datetime(2026, 3, 10, 2, 0, tzinfo=UTC),  # 10:00 local, mid-month
    datetime(2026, 1, 31, 15, 30, tzinfo=UTC),  # 23:30 local on the last day of January
    datetime(2026, 2, 28, 15, 59, tzinfo=UTC),  # 23:59 local on the last day of February
    datetime(2026, 12, 31, 15, 58, tzinfo=UTC),  # two minutes before the local new year
)
MAX_VOLUNTEERS, MAX_BENEFICIARIES, MAX_MERCHANTS = 5, 4, 4

AWARDS = st.none() | st.integers(0, 100) | st.sampled_from([0, 60, 99, 100])
DONATION_FEN = st.integers(1, 20_000) | st.integers(1, 2_000_000)
REBATE_BPS = st.none() | st.sampled_from([0, 1, 333, 1000, 1250, 10_000]) | st.integers(0, 10_000)
RARELY = st.sampled_from([False, False, False, True])
STEPS = [timedelta(seconds=30), timedelta(minutes=7), timedelta(hours=1), timedelta(hours=9)]
STEPS += [timedelta(days=1), timedelta(days=3), timedelta(days=11)]
CUTOFFS = ["default", "default", "today", "tomorrow", "tomorrow", "tomorrow", "previous month"]
CUTOFFS += ["too late"]

# How often each command ended which way, over the session (for tuning and reports).
OUTCOMES: Counter[tuple[str, str]] = Counter()


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def half_up_rebate(cash_fen: int, bps: int) -> int:
    return int((Decimal(cash_fen) * bps / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the reference model ---------------------------------------------------------------


@dataclass
class MerchantBook:
    """A merchant's beans: net redeemed beans by the local day they were recorded
    (refunds count on the day they are made), and the settlement lines that took some."""

    category: str
    rebate_bps: int
    code: str
    active: bool = True
    by_day: Counter[date] = field(default_factory=Counter)  # net redeemed, by day recorded
    lines: list[tuple[date, int]] = field(default_factory=list)  # (cutoff, beans) settled
    paid: int = 0  # beans of paid lines (retired)
    # cutoffs of cancelled settlements: their beans came back dated the day before
    released: list[date] = field(default_factory=list)

    def record(self, day: date, beans: int) -> None:
        self.by_day[day] += beans

    def net(self, before: date | None = None) -> int:
        return sum(n for day, n in self.by_day.items() if before is None or day < before)

    @property
    def promised(self) -> int:
        return sum(beans for _, beans in self.lines)

    @property
    def unsettled(self) -> int:
        return self.net() - self.promised

    def settled_up_to(self, cutoff: date) -> int:
        return sum(beans for day, beans in self.lines if day <= cutoff)

    def settleable(self, cutoff: date) -> int | None:
        """The beans a settlement with this cutoff takes (SPEC §4): those recorded
        before the cutoff and not settled yet, the earliest settled first, but never
        more than the merchant holds unsettled (later refunds may have spent some).
        None when an earlier settlement had a later cutoff: SPEC does not say which
        beans that one took (nor, after a cancelled one, on which day its beans came
        back)."""
        if any(day > cutoff for day, _ in self.lines) or any(d > cutoff for d in self.released):
            return None
        return max(0, min(self.net(before=cutoff) - self.promised, self.unsettled))


@dataclass
class Spend:
    payer: str
    merchant: str
    amount: int
    at: datetime
    card: bool
    refunded: int = 0


@dataclass
class Line:
    beans: int
    cash_fen: int
    rebate_fen: int
    paid: bool = False


@dataclass
class Batch:
    prepared_by: str
    lines: dict[str, Line]
    status: str = "prepared"
    cutoff: date | None = None


@dataclass
class Donated:
    """A donation as the model keeps it: its amount, and whether it was reversed."""

    amount_fen: int
    recorded_by: str
    receipt: str
    reversed: bool = False


@dataclass
class Request:
    """A correction or an allotment batch waiting for a second person."""

    kind: str  # "correction" or "allotments"
    prepared_by: str
    beans: int
    account: str = ""  # a correction's
    ref: str = ""  # a correction's credit
    period: str = ""  # a batch's
    targets: list[str] = field(default_factory=list)  # a batch's beneficiaries
    status: str = "pending"


class Model:
    """What the books must say, worked out from SPEC alone.

    Ids are random, so everything is kept in the order it happened (never sorted by
    id): the same choices must draw the same accounts when hypothesis replays them.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.kind: dict[str, str] = {POOL: "pool"}
        self.balance: dict[str, int] = {POOL: 0}
        self.issued = self.corrected = self.settled = 0
        self.donated_fen = self.paid_fen = 0
        self.awarded: Counter[tuple[str, date]] = Counter()
        # card spending per local day, less that day's refunds of that day's purchases
        self.card_spent: Counter[tuple[str, date]] = Counter()
        self.allotted: set[tuple[str, str]] = set()
        # (account, the crediting record's id) -> [credited, corrected], in order: what a
        # correction may name and take back
        self.credits: dict[tuple[str, str], list[int]] = {}
        self.cards: dict[str, str] = {}
        self.merchants: dict[str, MerchantBook] = {}
        self.spends: dict[str, Spend] = {}
        self.batches: dict[str, Batch] = {}
        self.donations: dict[str, Donated] = {}
        self.requests: dict[str, Request] = {}
        self.latest_cutoff: date | None = None  # of any settlement prepared

    @property
    def today(self) -> date:
        return local_day(self.clock.now())

    def ids(self, kind: str) -> list[str]:
        return [account for account, k in self.kind.items() if k == kind]

    def open(self, account: str, kind: str) -> None:
        assert account not in self.kind, f"{account} opened twice"
        self.kind[account], self.balance[account] = kind, 0

    # --- the flows of SPEC §3

    def credit(self, account: str, ref: str, beans: int) -> None:
        if beans > 0:
            self.credits.setdefault((account, ref), [0, 0])[0] += beans

    def left_to_correct(self, account: str, ref: str) -> int | None:
        """What is left of the credit ``ref`` gave ``account``; None if it gave nothing."""
        credited, corrected = self.credits.get((account, ref), (0, 0))
        return credited - corrected if credited else None

    def award(self, volunteers: list[str], beans: int, ref: str) -> None:
        for volunteer in volunteers:
            self.balance[volunteer] += beans
            self.awarded[volunteer, self.today] += beans
            self.issued += beans
            self.credit(volunteer, ref, beans)

    def allot(self, beneficiary: str, period: str, beans: int) -> None:
        self.balance[beneficiary] += beans
        self.allotted.add((beneficiary, period))
        self.issued += beans
        self.credit(beneficiary, str(derived_id("allotment", beneficiary, period)), beans)

    def move(self, source: str, target: str, beans: int, ref: str | None = None) -> None:
        """``ref``: the gift or allocation that credits a beneficiary (a correctable credit)."""
        assert 0 < beans <= self.balance[source], "the model moved beans it did not have"
        self.balance[source] -= beans
        self.balance[target] += beans
        if ref is not None:
            self.credit(target, ref, beans)

    def correct(self, account: str, beans: int, ref: str) -> None:
        self.balance[account] -= beans
        self.corrected += beans
        self.credits[account, ref][1] += beans

    def redeem(self, redemption: str, payer: str, merchant: str, amount: int, card: bool) -> None:
        self.move(payer, merchant, amount)
        self.merchants[merchant].record(self.today, amount)
        self.spends[redemption] = Spend(payer, merchant, amount, self.clock.now(), card)
        if card:
            self.card_spent[payer, self.today] += amount

    def refund(self, redemption: str, amount: int) -> None:
        spend = self.spends[redemption]
        # not move(): a shop may refund a sale already settled and owe the beans
        self.balance[spend.merchant] -= amount
        self.balance[spend.payer] += amount
        self.merchants[spend.merchant].record(self.today, -amount)
        spend.refunded += amount
        if spend.card and local_day(spend.at) == self.today:
            self.card_spent[spend.payer, self.today] -= amount

    def cancel(self, settlement: str) -> None:
        """A settlement cancelled before any line was paid: each merchant's beans are
        unsettled again."""
        batch = self.batches[settlement]
        assert batch.cutoff is not None
        for merchant, line in batch.lines.items():
            book = self.merchants[merchant]
            book.lines.remove((batch.cutoff, line.beans))
            book.released.append(batch.cutoff)
        batch.status = "cancelled"

    def pay_line(self, settlement: str, merchant: str) -> None:
        line = self.batches[settlement].lines[merchant]
        self.balance[merchant] -= line.beans
        self.merchants[merchant].paid += line.beans
        self.settled += line.beans
        self.paid_fen += line.cash_fen + line.rebate_fen
        line.paid = True

    # --- what refuses a command

    def cap_exceeded(self, volunteers: list[str], beans: int) -> bool:
        today = self.today
        return beans > 0 and any(
            self.awarded[v, today] + beans > DAILY_AWARD_CAP for v in volunteers
        )

    def card_allowance(self, beneficiary: str) -> int:
        return CARD_DAILY_LIMIT - self.card_spent[beneficiary, self.today]

    def spend_refusals(self, payer: str, merchant: str, amount: int, *, card: bool) -> Errors:
        """The errors one of which must refuse this spend (none: it must succeed)."""
        book, must = self.merchants[merchant], set()
        if amount > MAX_SPEND:
            must.add(LimitExceeded)
        if not book.active:
            must.add(MerchantSuspended)
        if card:
            if book.category not in CARD_CATEGORIES:
                must.add(MerchantNotAllowed)
            if self.card_spent[payer, self.today] + amount > CARD_DAILY_LIMIT:
                must.add(LimitExceeded)
        if amount > self.balance[payer]:
            must.add(InsufficientBalance)
        return must


class _Refused:
    def __repr__(self) -> str:
        return "REFUSED"


REFUSED: Any = _Refused()


@dataclass(frozen=True)
class Keyed:
    """A command that succeeded with an idempotency key (or a receipt number): ``again``
    repeats it exactly, ``other`` presents the key with different values."""

    what: str
    key: str
    again: Callable[[], Any] = field(repr=False)
    other: Callable[[], Any] = field(repr=False)
    first: Any = field(repr=False)
    facts: Callable[[Any], Any] = field(repr=False)


def same_result(result: Any) -> Any:
    return result


def redemption_facts(view: Any) -> tuple:
    """A redemption's facts; ``refunded`` changes as refunds come."""
    return (view.id, view.payer_id, view.merchant_id, view.amount, view.method, view.at)


def settlement_facts(view: Any) -> tuple:
    """A settlement's facts; its status and lines' payments change as it is paid."""
    lines = sorted(
        (line.merchant_id, line.beans, line.cash_fen, line.rebate_fen) for line in view.lines
    )
    return (view.id, view.period, view.cutoff, lines, view.total_fen, view.prepared_by)


# --- the machine -----------------------------------------------------------------------
