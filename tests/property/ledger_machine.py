"""A hypothesis state machine that drives random sequences of commands against the
ledger and against a tiny reference model of SPEC §3–§5, and checks after every step
that the two agree (DESIGN.md, house style 11).

The model is plain dicts and counters: each account's beans; what was issued, corrected
and retired; the fund's cash; each volunteer's awards per local day; each beneficiary's
card spending per local day; which allotments were granted; which redemptions, refunds,
settlements and settlement lines exist, and each merchant's net redeemed beans by day.
It predicts each command's outcome exactly: success, or the named errors that must
refuse it. When several rules refuse the same command the ledger may name any one of
them (SPEC does not order its checks). A refused command must record nothing at all.

Undo and four eyes: a donation is reversed by another fund officer, once, while the fund
holds its cash; a settlement none of whose lines is paid is cancelled and its beans are
unsettled again; a correction or an allotment batch above the programme's threshold
(here 30 and 250 beans, lower than the defaults so that they come up) is refused to one
coordinator alone, prepared instead, and approved (then run as alone) by the other
coordinator, or withdrawn; the preparer's approval and a second one are refused.

Where SPEC leaves a choice the model follows docs/LEDGER.md: a refund of one of the same
day's card purchases gives that much of the day's allowance back. A settlement takes
each merchant's net beans recorded before its cutoff and not taken yet, earliest first,
never more than the merchant holds unsettled. After a settlement with a later cutoff
SPEC does not say which beans that one took, so a line is then only checked to be
within the unsettled beans, and all lines up to a cutoff within the net beans recorded
before it (the model cannot tell whether NothingToSettle or a refusal to settle an
earlier period again is due).

Use :func:`machine_for` with a store: a function returning a context manager that
yields a database URL for one example and cleans up after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ledger.accounts import Flow
from ledger.activities import Activity
from ledger.clock import FakeClock
from ledger.codes import Keyring
from ledger.errors import (
    AwardCapExceeded,
    CardRevoked,
    CodeExpired,
    CodeUsed,
    CorrectionExceedsCredit,
    FourEyesRequired,
    IdempotencyKeyReused,
    InsufficientBalance,
    InsufficientFund,
    InvalidCode,
    InvalidState,
    LedgerError,
    LimitExceeded,
    MerchantSuspended,
    NotFound,
    NothingToSettle,
    PaymentReferenceUsed,
    PeriodNotOpen,
    RefundExceedsRedemption,
    RefundWindowClosed,
    SelfVerification,
    UnknownCredit,
    ValidationError,
)
from ledger.incidents import Incident
from ledger.money import liability_fen
from ledger.persistence import open_ledger
from ledger.records import Allotment
from ledger.rules import Rules
from ledger.views import Actor
from tests.property.model import (
    ALLOTMENT,
    ALLOTMENT_BATCH_APPROVAL_ABOVE,
    AWARDS,
    BASE,
    BEAN_FEN,
    CARD_CATEGORIES,
    CARD_DAILY_LIMIT,
    CODE_CYCLE,
    CODE_LIFETIME,
    CODE_SKEW,
    COORDINATOR,
    CORRECTION_APPROVAL_ABOVE,
    CUTOFFS,
    DEFAULT_REBATE_BPS,
    DONATION_FEN,
    HANDLER_AWARD,
    INCIDENT_AWARDS,
    MAX_BENEFICIARIES,
    MAX_MERCHANTS,
    MAX_SPEND,
    MAX_VOLUNTEERS,
    MERCHANT_CATEGORIES,
    OFFICERS,
    OUTCOMES,
    POOL,
    RARELY,
    REBATE_BPS,
    REFUND_WINDOW,
    REFUSED,
    STARTS,
    STEPS,
    Batch,
    Donated,
    Errors,
    Keyed,
    Line,
    MerchantBook,
    Model,
    Request,
    half_up_rebate,
    local_midnight,
    redemption_facts,
    same_result,
    settlement_facts,
)

Store = Callable[[], AbstractContextManager[str]]
RULES = Rules(
    correction_approval_above=CORRECTION_APPROVAL_ABOVE,
    allotment_batch_approval_above=ALLOTMENT_BATCH_APPROVAL_ABOVE,
)
#: coordinators who prepare and approve four-eyes requests (the first is COORDINATOR)
COORDINATORS = (COORDINATOR, Actor("coordinator-b"))


class LedgerMachine(RuleBasedStateMachine):
    """Random command sequences against a fresh ledger per example (see module doc)."""

    store: Store  # set by machine_for()
    durable = False  # whether the store outlives a Ledger object (the reopen rule)

    volunteers = Bundle("volunteers")
    beneficiaries = Bundle("beneficiaries")
    merchants = Bundle("merchants")
    redemptions = Bundle("redemptions")
    settlements = Bundle("settlements")
    verified_incidents = Bundle("verified_incidents")
    donations = Bundle("donations")
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self._store = type(self).store()
        self.url = self._store.__enter__()
        try:
            self.clock = FakeClock(BASE)
            self.keyring = Keyring.generate()
            self.ledger = self._open()
        except BaseException:
            self._store.__exit__(None, None, None)
            raise
        self.model = Model(self.clock)
        self.keyed: list[Keyed] = []
        self.used_codes: list[tuple[str, datetime]] = []  # accepted payment codes, issued at
        self.replaced_cards: list[tuple[str, str]] = []  # (beneficiary, old card code)
        self.used_references: list[str] = []  # payment references that paid a line
        self.credits_seen = 0  # the log's position up to which credits were checked
        self._numbers = itertools.count(1)

    def _open(self):
        return open_ledger(
            self.url, create_tables=True, clock=self.clock, keyring=self.keyring, rules=RULES
        )

    def teardown(self) -> None:
        try:
            self.ledger.close()
        finally:
            self._store.__exit__(None, None, None)

    def new_key(self, prefix: str = "key") -> str:
        return f"{prefix}-{next(self._numbers)}"

    def attempt(
        self,
        what: str,
        call: Callable[[], Any],
        must: Errors | None = None,
        may: Errors | None = None,
    ) -> Any:
        """Run a command the model has judged: refused with one of ``must`` if any, else
        succeeding or (where the model cannot tell) refused with one of ``may``. A
        refused command records nothing. Returns the command's result, or REFUSED."""
        must, may = must or set(), may or set()
        position = self.ledger.recorder.max_notification_id()
        try:
            result = call()
        except LedgerError as error:
            allowed = tuple(must | may)
            if not allowed or not isinstance(error, allowed):
                expected = " or ".join(sorted(e.__name__ for e in allowed)) or "success"
                raise AssertionError(f"{what}: expected {expected}, got {error!r}") from error
            assert self.ledger.recorder.max_notification_id() == position, (
                f"{what} was refused ({type(error).__name__}) but recorded events"
            )
            OUTCOMES[what, type(error).__name__] += 1
            return REFUSED
        if must:
            expected = " or ".join(sorted(e.__name__ for e in must))
            raise AssertionError(f"{what}: expected {expected}, but it succeeded: {result!r}")
        OUTCOMES[what, "ok"] += 1
        return result

    def remember(self, what: str, key: str, again, other, first, facts=same_result) -> None:
        self.keyed.append(Keyed(what, key, again, other, facts(first), facts))

    @staticmethod
    def amount(data: st.DataObject, affordable: int, *edges: int) -> int:
        """Mostly an amount the payer can afford, else one of the rules' edges."""
        choices = st.integers(1, max(1, affordable))
        positive = sorted({edge for edge in edges if edge > 0})
        if positive:
            choices |= st.sampled_from(positive)
        return data.draw(choices, label="amount")

    # --- time ------------------------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS))
    def start_the_clock(self, start: datetime) -> None:
        self.move_clock_to(start)

    def move_clock_to(self, when: datetime) -> None:
        if when > self.clock.now():
            self.clock.set(when)

    @rule(step=st.sampled_from(STEPS))
    def time_passes(self, step: timedelta) -> None:
        self.clock.advance(seconds=step.total_seconds())

    @rule(offset=st.sampled_from([-60, -1, 0, 1, 60]))
    def cross_local_midnight(self, offset: int) -> None:
        midnight = local_midnight(self.model.today + timedelta(days=1))
        self.move_clock_to(midnight + timedelta(seconds=offset))

    @rule(offset=st.sampled_from([-60, -1, 0, 1, 3600]))
    def cross_month_end(self, offset: int) -> None:
        first_of_next = (self.model.today.replace(day=28) + timedelta(days=4)).replace(day=1)
        self.move_clock_to(local_midnight(first_of_next) + timedelta(seconds=offset))

    @rule(redemption=redemptions, extra=st.sampled_from([0, 1]))
    def reach_refund_deadline(self, redemption: str, extra: int) -> None:
        at = self.model.spends[redemption].at
        self.move_clock_to(at + REFUND_WINDOW + timedelta(seconds=extra))

    @precondition(lambda self: self.durable)
    @rule()
    def reopen_ledger(self) -> None:
        """A new Ledger object on the same store reads the same books (snapshots, index)."""
        self.ledger.close()
        self.ledger = self._open()

    # --- members ---------------------------------------------------------------------------

    def _open_volunteer(self) -> str:
        view = self.ledger.open_volunteer(f"Volunteer {next(self._numbers)}")
        assert (view.kind, view.balance) == ("volunteer", 0)
        self.model.open(view.id, "volunteer")
        return view.id

    def _open_beneficiary(self) -> str:
        view = self.ledger.open_beneficiary(f"Grandma {next(self._numbers)}")
        assert (view.kind, view.balance) == ("beneficiary", 0)
        self.model.open(view.id, "beneficiary")
        self.model.cards[view.id] = self.ledger.issue_card(view.id, by=COORDINATOR).card_code
        return view.id

    def _register_merchant(self, category: str, rebate_bps: int | None) -> str:
        name = f"Shop {next(self._numbers)}"
        view = self.ledger.register_merchant(name, category, rebate_bps, by=COORDINATOR)
        bps = DEFAULT_REBATE_BPS if rebate_bps is None else rebate_bps
        assert (view.category, view.rebate_bps, view.status) == (category, bps, "active")
        assert (view.balance, view.unsettled_beans) == (0, 0)
        self.model.open(view.id, "merchant")
        self.model.merchants[view.id] = MerchantBook(category, bps, view.merchant_code)
        return view.id

    @initialize(target=volunteers, beans=st.integers(0, 100))
    def first_volunteers_at_an_activity(self, beans: int):
        volunteers = [self._open_volunteer(), self._open_volunteer()]
        self.award_by_activity(volunteers, beans)
        return multiple(*volunteers)

    @initialize(target=beneficiaries)
    def first_beneficiary_with_an_allotment(self):
        beneficiary = self._open_beneficiary()
        period = self.model.today.strftime("%Y-%m")
        run = self.ledger.grant_allotments(period, COORDINATOR, account_ids=[beneficiary])
        assert run.granted_ids == [beneficiary]
        self.model.allot(beneficiary, period, ALLOTMENT)
        return beneficiary

    @initialize(
        target=merchants,
        food=st.sampled_from(CARD_CATEGORIES),
        other=st.sampled_from(MERCHANT_CATEGORIES),
    )
    def first_merchants(self, food: str, other: str):
        return multiple(self._register_merchant(food, None), self._register_merchant(other, 1250))

    @precondition(lambda self: len(self.model.ids("volunteer")) < MAX_VOLUNTEERS)
    @rule(target=volunteers)
    def open_volunteer(self) -> str:
        return self._open_volunteer()

    @precondition(lambda self: len(self.model.ids("beneficiary")) < MAX_BENEFICIARIES)
    @rule(target=beneficiaries)
    def open_beneficiary(self) -> str:
        return self._open_beneficiary()

    @precondition(lambda self: len(self.model.merchants) < MAX_MERCHANTS)
    @rule(target=merchants, category=st.sampled_from(MERCHANT_CATEGORIES), rebate_bps=REBATE_BPS)
    def register_merchant(self, category: str, rebate_bps: int | None) -> str:
        return self._register_merchant(category, rebate_bps)

    @rule(merchant=merchants, suspend=st.booleans())
    def suspend_or_reactivate(self, merchant: str, suspend: bool) -> None:
        change = self.ledger.suspend_merchant if suspend else self.ledger.reactivate_merchant
        assert change(merchant, by=COORDINATOR).status == ("suspended" if suspend else "active")
        self.model.merchants[merchant].active = not suspend

    @rule(beneficiary=beneficiaries)
    def reissue_card(self, beneficiary: str) -> None:
        card = self.ledger.issue_card(beneficiary, by=COORDINATOR)
        self.replaced_cards.append((beneficiary, self.model.cards[beneficiary]))
        self.model.cards[beneficiary] = card.card_code

    # --- awards ----------------------------------------------------------------------------

    @rule(
        target=verified_incidents, reporter=volunteers, award=AWARDS, by_reporter=RARELY,
        category=st.sampled_from(sorted(INCIDENT_AWARDS)),
    )  # fmt: skip
    def award_by_verifying_an_incident(
        self, reporter: str, category: str, award: int | None, by_reporter: bool
    ):
        incident = self.ledger.submit_incident(reporter, category, "a fallen tree blocks the lane")
        beans = INCIDENT_AWARDS[category] if award is None else award
        if by_reporter:
            by, must = Actor("coordinator-who-reported", account_id=reporter), {SelfVerification}
        else:
            by, must = (
                COORDINATOR,
                {AwardCapExceeded} if self.model.cap_exceeded([reporter], beans) else set(),
            )
        verified = self.attempt(
            "verify incident",
            lambda: self.ledger.verify_incident(incident.id, by, award=award),
            must,
        )
        if verified is REFUSED:
            assert self.ledger.get_incident(incident.id).status == "submitted"
            return multiple()
        assert (verified.status, verified.award) == ("verified", beans)
        self.model.award([reporter], beans, incident.id)
        return incident.id

    @rule(
        incident=consumes(verified_incidents),
        handlers=st.lists(volunteers, min_size=1, max_size=3, unique=True),
        award=AWARDS,
    )
    def award_by_resolving_an_incident(
        self, incident: str, handlers: list[str], award: int | None
    ) -> None:
        self.ledger.assign_handlers(incident, COORDINATOR, handlers)
        beans = HANDLER_AWARD if award is None else award
        must = {AwardCapExceeded} if self.model.cap_exceeded(handlers, beans) else set()

        def resolve():
            return self.ledger.resolve_incident(incident, COORDINATOR, award_per_handler=award)

        resolved = self.attempt("resolve incident", resolve, must)
        if resolved is not REFUSED:
            assert (resolved.status, resolved.award_per_handler) == ("resolved", beans)
            self.model.award(handlers, beans, incident)
        else:
            assert self.ledger.get_incident(incident).status == "verified"

    @rule(
        attendees=st.lists(volunteers, min_size=1, max_size=3, unique=True),
        beans=AWARDS.filter(lambda n: n is not None),
        by_attendee=RARELY,
    )
    def award_by_activity(
        self, attendees: list[str], beans: int, by_attendee: bool = False
    ) -> None:
        """``by_attendee``: the confirming coordinator's user is linked to an attendee's
        account (written in upper case), which four eyes refuses."""
        now = self.clock.now()
        by = (
            Actor("coordinator-who-attended", attendees[-1].upper()) if by_attendee else COORDINATOR
        )
        activity = self.ledger.create_activity(
            "Litter pick", now, now + timedelta(hours=2), beans, by
        )
        for volunteer in attendees:
            assert self.ledger.check_in(activity.id, volunteer, activity.checkin_code).new
        must = {AwardCapExceeded} if self.model.cap_exceeded(attendees, beans) else set()
        if by_attendee:
            must.add(SelfVerification)
        confirmed = self.attempt(
            "confirm attendance",
            lambda: self.ledger.confirm_attendance(activity.id, by),
            must,
        )
        if confirmed is not REFUSED:
            assert sorted(confirmed.account_ids) == sorted(attendees)
            self.model.award(attendees, beans, activity.id)

    # --- spending --------------------------------------------------------------------------

    def redeemed(self, result: Any, payer: str, merchant: str, amount: int, method: str) -> Any:
        if result is REFUSED:
            return multiple()
        facts = (result.payer_id, result.merchant_id, result.amount, result.refunded, result.method)
        assert facts == (payer, merchant, amount, 0, method)
        assert result.at == self.clock.now()
        self.model.redeem(result.id, payer, merchant, amount, card=method == "card")
        return result.id

    def stale_code_refusals(self, issued: datetime) -> Errors:
        """How a payment code issued at ``issued`` is refused now for its age: expired
        after 60 s, and not even recognised once its 5 time digits have come round."""
        age = self.clock.now() - issued
        if age <= CODE_LIFETIME:
            return set()
        return {InvalidCode} if age >= CODE_CYCLE - CODE_SKEW else {CodeExpired}

    @rule(
        target=redemptions,
        payer=volunteers,
        merchant=merchants,
        keyed=st.booleans(),
        data=st.data(),
    )
    def spend_by_payment_code(self, payer: str, merchant: str, keyed: bool, data: st.DataObject):
        balance = self.model.balance[payer]
        edges = (balance, balance + 1, MAX_SPEND, MAX_SPEND + 1)
        amount = self.amount(data, min(balance, MAX_SPEND), *edges)
        code, issued = self.ledger.issue_payment_code(payer).code, self.clock.now()
        key = self.new_key() if keyed else None
        must = self.model.spend_refusals(payer, merchant, amount, card=False)
        result = self.attempt(
            "redeem payment code",
            lambda: self.ledger.redeem(merchant, code, amount, key=key),
            must,
        )
        if result is not REFUSED:
            self.used_codes.append((code, issued))
            if key is not None:
                other = amount % MAX_SPEND + 1
                again = lambda: self.ledger.redeem(merchant, code, amount, key=key)  # noqa: E731
                other_call = lambda: self.ledger.redeem(merchant, code, other, key=key)  # noqa: E731
                self.remember("redeem code", key, again, other_call, result, redemption_facts)
        return self.redeemed(result, payer, merchant, amount, "payment")

    @rule(
        target=redemptions,
        payer=volunteers,
        merchant=merchants,
        delay=st.sampled_from([1, 59, 60, 61, 600]),
        data=st.data(),
    )
    def spend_a_code_shown_a_while_ago(
        self, payer: str, merchant: str, delay: int, data: st.DataObject
    ):
        amount = self.amount(data, min(self.model.balance[payer], 30))
        code, issued = self.ledger.issue_payment_code(payer).code, self.clock.now()
        self.clock.advance(seconds=delay)
        must = self.model.spend_refusals(payer, merchant, amount, card=False)
        stale = self.stale_code_refusals(issued)
        if stale:
            must = (must - {InsufficientBalance}) | stale
        result = self.attempt(
            "redeem late code", lambda: self.ledger.redeem(merchant, code, amount), must
        )
        if result is not REFUSED:
            self.used_codes.append((code, issued))
        return self.redeemed(result, payer, merchant, amount, "payment")

    @precondition(lambda self: self.used_codes)
    @rule(merchant=merchants, amount=st.integers(1, 30), data=st.data())
    def reuse_a_payment_code(self, merchant: str, amount: int, data: st.DataObject) -> None:
        code, issued = data.draw(st.sampled_from(self.used_codes), label="used code")
        must = {CodeUsed} | self.stale_code_refusals(issued)
        if not self.model.merchants[merchant].active:
            must.add(MerchantSuspended)
        self.attempt("reuse payment code", lambda: self.ledger.redeem(merchant, code, amount), must)

    @rule(
        target=redemptions,
        payer=beneficiaries,
        merchant=merchants,
        keyed=st.booleans(),
        data=st.data(),
    )
    def spend_by_card(self, payer: str, merchant: str, keyed: bool, data: st.DataObject):
        balance, allowance = self.model.balance[payer], self.model.card_allowance(payer)
        edges = (allowance, allowance + 1, balance + 1, CARD_DAILY_LIMIT + 1, MAX_SPEND + 1)
        amount = self.amount(data, min(balance, allowance), *edges)
        code, key = self.model.cards[payer], (self.new_key() if keyed else None)
        must = self.model.spend_refusals(payer, merchant, amount, card=True)
        result = self.attempt(
            "redeem card", lambda: self.ledger.redeem(merchant, code, amount, key=key), must
        )
        if result is not REFUSED and key is not None:
            other = amount % MAX_SPEND + 1
            again = lambda: self.ledger.redeem(merchant, code, amount, key=key)  # noqa: E731
            other_call = lambda: self.ledger.redeem(merchant, code, other, key=key)  # noqa: E731
            self.remember("redeem card", key, again, other_call, result, redemption_facts)
        return self.redeemed(result, payer, merchant, amount, "card")

    @precondition(lambda self: self.replaced_cards)
    @rule(merchant=merchants, amount=st.integers(1, 60), data=st.data())
    def spend_with_a_replaced_card(self, merchant: str, amount: int, data: st.DataObject) -> None:
        payer, code = data.draw(st.sampled_from(self.replaced_cards), label="replaced card")
        must = self.model.spend_refusals(payer, merchant, amount, card=True)
        self.attempt(
            "redeem replaced card",
            lambda: self.ledger.redeem(merchant, code, amount),
            must | {CardRevoked},
        )

    @rule(
        target=redemptions,
        payer=volunteers,
        merchant=merchants,
        keyed=st.booleans(),
        data=st.data(),
    )
    def pay_at_the_counter(self, payer: str, merchant: str, keyed: bool, data: st.DataObject):
        balance = self.model.balance[payer]
        edges = (balance, balance + 1, MAX_SPEND, MAX_SPEND + 1)
        amount = self.amount(data, min(balance, MAX_SPEND), *edges)
        code, key = self.model.merchants[merchant].code, (self.new_key() if keyed else None)
        must = self.model.spend_refusals(payer, merchant, amount, card=False)
        result = self.attempt(
            "pay merchant",
            lambda: self.ledger.pay_merchant(payer, code, amount, key=key),
            must,
        )
        if result is not REFUSED and key is not None:
            other = amount % MAX_SPEND + 1
            again = lambda: self.ledger.pay_merchant(payer, code, amount, key=key)  # noqa: E731
            other_call = lambda: self.ledger.pay_merchant(payer, code, other, key=key)  # noqa: E731
            self.remember("pay merchant", key, again, other_call, result, redemption_facts)
        return self.redeemed(result, payer, merchant, amount, "merchant_code")

    @rule(payer=volunteers, merchant=merchants, count=st.integers(5, 60))
    def many_small_payments(self, payer: str, merchant: str, count: int) -> None:
        """Enough events on one account to pass its snapshot interval."""
        code = self.model.merchants[merchant].code
        for _ in range(min(count, self.model.balance[payer]) or 1):
            must = self.model.spend_refusals(payer, merchant, 1, card=False)
            result = self.attempt(
                "pay merchant 1", lambda: self.ledger.pay_merchant(payer, code, 1), must
            )
            if result is REFUSED:
                return
            self.redeemed(result, payer, merchant, 1, "merchant_code")

    @rule(redemption=redemptions, keyed=st.booleans(), elsewhere=RARELY, data=st.data())
    def refund(self, redemption: str, keyed: bool, elsewhere: bool, data: st.DataObject) -> None:
        spend = self.model.spends[redemption]
        left, book = spend.amount - spend.refunded, self.model.merchants[spend.merchant]
        edges = (left, left + 1, book.unsettled, book.unsettled + 1)
        # bounded by the redemption, not by the shop's unsettled beans: a refund of a sale
        # already settled leaves the shop owing them (issue 14)
        amount = self.amount(data, left, *edges)
        merchant = spend.merchant
        if elsewhere:
            merchant = data.draw(
                st.sampled_from(list(self.model.merchants)), label="refunding merchant"
            )
        must: Errors = set()
        if merchant != spend.merchant:
            must.add(NotFound)
        if self.clock.now() - spend.at > REFUND_WINDOW:
            must.add(RefundWindowClosed)
        if amount > left:
            must.add(RefundExceedsRedemption)
        key = self.new_key() if keyed else None

        def call(beans: int = amount):
            return self.ledger.refund(redemption, merchant, beans, key=key)

        result = self.attempt("refund", call, must)
        if result is REFUSED:
            return
        assert (result.redemption_id, result.amount) == (redemption, amount)
        self.model.refund(redemption, amount)
        assert self.ledger.get_redemption(redemption).refunded == spend.refunded
        if key is not None:
            self.remember("refund", key, call, lambda: call(amount + 1), result)

    @rule(target=redemptions, payer=beneficiaries, merchant=merchants, data=st.data())
    def two_days_at_the_grocer(self, payer: str, merchant: str, data: st.DataObject):
        """A beneficiary buys with the card; the next day buys again, gets (part of) an
        earlier purchase refunded, and buys once more, up to and past the day's limit."""
        made = [self.spend_by_card(payer, merchant, False, data)]
        self.cross_local_midnight(data.draw(st.sampled_from([1, 3600, 40_000]), label="at"))
        made.append(self.spend_by_card(payer, merchant, False, data))
        earlier = [r for r, spend in self.model.spends.items() if spend.payer == payer]
        if earlier:
            self.refund(data.draw(st.sampled_from(earlier), label="returned"), False, False, data)
        made.append(self.spend_by_card(payer, merchant, False, data))
        return multiple(*(one for one in made if isinstance(one, str)))

    # --- giving, the pool, corrections, allotments -----------------------------------------

    @rule(giver=volunteers, to=st.just(POOL) | beneficiaries, keyed=st.booleans(), data=st.data())
    def give(self, giver: str, to: str, keyed: bool, data: st.DataObject) -> None:
        balance = self.model.balance[giver]
        amount = self.amount(data, balance, balance, balance + 1)
        key = self.new_key() if keyed else None
        must = {InsufficientBalance} if amount > balance else set()

        def call(beans: int = amount):
            return self.ledger.give(giver, to, beans, key=key)

        result = self.attempt("give", call, must)
        if result is REFUSED:
            return
        assert (result.from_id, result.to, result.amount) == (giver, to, amount)
        self.model.move(giver, to, amount, None if to == POOL else result.id)
        if key is not None:
            self.remember("give", key, call, lambda: call(amount + 1), result)

    @rule(to=beneficiaries, keyed=st.booleans(), to_self=RARELY, data=st.data())
    def allocate_from_the_pool(
        self, to: str, keyed: bool, to_self: bool, data: st.DataObject
    ) -> None:
        pool = self.model.balance[POOL]
        amount = self.amount(data, pool, pool, pool + 1)
        key = self.new_key() if keyed else None
        must = {InsufficientBalance} if amount > pool else set()
        by = Actor("coordinator-who-is-the-beneficiary", to.upper()) if to_self else COORDINATOR
        if to_self:
            must.add(SelfVerification)

        def call(beans: int = amount):
            return self.ledger.allocate_pool(to, beans, by, key=key)

        result = self.attempt("allocate pool", call, must)
        if result is REFUSED:
            return
        assert (result.to, result.amount) == (to, amount)
        self.model.move(POOL, to, amount, result.id)
        if key is not None:
            self.remember("allocate pool", key, call, lambda: call(amount + 1), result)

    @rule(account=volunteers | beneficiaries, keyed=st.booleans(), data=st.data())
    def correct(self, account: str, keyed: bool, data: st.DataObject) -> None:
        """Take back part of a credit: mostly one of the account's own, sometimes another
        account's, a redemption, or nothing that exists; up to and past what is left."""
        own = [ref for (holder, ref) in self.model.credits if holder == account]
        others = [ref for (holder, ref) in self.model.credits if holder != account]
        choices = st.sampled_from(own) if own else st.nothing()
        choices |= st.sampled_from(others + list(self.model.spends) + [account, "not-a-ref"])
        ref = data.draw(choices, label="corrects")
        left = self.model.left_to_correct(account, ref)
        balance = self.model.balance[account]
        edges = (balance, balance + 1) + (() if left is None else (left, left + 1))
        amount = self.amount(data, min(balance, left or 1), *edges)
        key = self.new_key() if keyed else None
        must: Errors = set()
        if left is None:
            must.add(UnknownCredit)
        elif amount > left:
            must.add(CorrectionExceedsCredit)
        if amount > balance:
            must.add(InsufficientBalance)
        if amount > CORRECTION_APPROVAL_ABOVE:
            must.add(FourEyesRequired)  # prepared by one coordinator, approved by another

        def call(beans: int = amount):
            return self.ledger.correct(
                account, beans, "awarded in error", COORDINATOR, corrects=ref, key=key
            )

        result = self.attempt("correct", call, must)
        if result is REFUSED:
            return
        assert (result.account_id, result.amount, result.corrects) == (account, amount, ref)
        self.model.correct(account, amount, ref)
        if key is not None:
            other = amount + 1 if amount < CORRECTION_APPROVAL_ABOVE else amount - 1
            self.remember("correct", key, call, lambda: call(other), result)

    @rule(
        target=requests,
        account=volunteers | beneficiaries,
        by=st.sampled_from(COORDINATORS),
        data=st.data(),
    )
    def prepare_correction(self, account: str, by: Actor, data: st.DataObject):
        """A correction asked of a second coordinator: checked as a correction is, and
        recorded as a pending request; nothing moves yet."""
        own = [ref for (holder, ref) in self.model.credits if holder == account]
        choices = st.sampled_from(own) if own else st.just("not-a-ref")
        ref = data.draw(choices | st.just("not-a-ref"), label="corrects")
        left = self.model.left_to_correct(account, ref)
        balance = self.model.balance[account]
        edges = (CORRECTION_APPROVAL_ABOVE + 1, balance + 1) + (() if left is None else (left,))
        amount = self.amount(data, min(balance, left or 1), *edges)
        must = self.correction_refusals(account, ref, amount)

        def call():
            return self.ledger.prepare_correction(
                account, amount, "counted twice", by, corrects=ref
            )

        request = self.attempt("prepare correction", call, must)
        if request is REFUSED:
            return multiple()
        assert (request.kind, request.status, request.beans) == ("correction", "pending", amount)
        assert (request.account_id, request.corrects, request.prepared_by) == (
            account,
            ref,
            by.name,
        )
        self.model.requests[request.id] = Request(
            "correction", by.name, amount, account=account, ref=ref
        )
        return request.id

    def correction_refusals(self, account: str, ref: str, amount: int) -> Errors:
        left = self.model.left_to_correct(account, ref)
        must: Errors = set()
        if left is None:
            must.add(UnknownCredit)
        elif amount > left:
            must.add(CorrectionExceedsCredit)
        if amount > self.model.balance[account]:
            must.add(InsufficientBalance)
        return must

    @rule(request=requests, by=st.sampled_from(COORDINATORS))
    def approve_request(self, request: str, by: Actor) -> None:
        """Another coordinator approves a request, which then runs as the command runs
        alone; the preparer's approval, or a second one, is refused."""
        pending = self.model.requests[request]
        must: Errors = set()
        if by.name == pending.prepared_by:
            must.add(FourEyesRequired)
        if pending.status != "pending":
            must.add(InvalidState)
        if pending.kind == "correction":
            if not must:
                must = self.correction_refusals(pending.account, pending.ref, pending.beans)
            call = lambda: self.ledger.approve_correction(request, by)  # noqa: E731
        else:
            if pending.period != self.model.today.strftime("%Y-%m"):
                must.add(PeriodNotOpen)  # its month closed meanwhile
            call = lambda: self.ledger.approve_allotments(request, by)  # noqa: E731
        result = self.attempt(f"approve {pending.kind}", call, must)
        if result is REFUSED:
            return
        pending.status = "approved"
        if pending.kind == "correction":
            assert (result.account_id, result.amount, result.corrects) == (
                pending.account,
                pending.beans,
                pending.ref,
            )
            self.model.correct(pending.account, pending.beans, pending.ref)
            return
        new = [b for b in pending.targets if (b, pending.period) not in self.model.allotted]
        beans = pending.beans // len(pending.targets)
        assert (result.granted_ids, result.total) == (new, beans * len(new))
        for beneficiary in new:
            self.model.allot(beneficiary, pending.period, beans)

    @rule(request=requests, by=st.sampled_from(COORDINATORS))
    def withdraw_request(self, request: str, by: Actor) -> None:
        pending = self.model.requests[request]
        must = {InvalidState} if pending.status != "pending" else set()
        withdrawn = self.attempt(
            "withdraw request", lambda: self.ledger.withdraw_request(request, by), must
        )
        if withdrawn is not REFUSED:
            assert (withdrawn.status, withdrawn.decided_by) == ("withdrawn", by.name)
            pending.status = "withdrawn"

    @rule(
        which=st.sampled_from(["current", "current", "previous", "next"]),
        amount=st.none() | st.integers(1, 150),
        data=st.data(),
    )
    def grant_allotments(self, which: str, amount: int | None, data: st.DataObject) -> None:
        first = self.model.today.replace(day=1)
        month = {
            "current": first,
            "previous": first - timedelta(days=1),
            "next": first + timedelta(days=32),
        }
        period = month[which].strftime("%Y-%m")
        everyone = self.model.ids("beneficiary")
        chosen = data.draw(
            st.none() | st.lists(st.sampled_from(everyone), max_size=3), label="account_ids"
        )
        must: Errors = set()
        if which != "current":  # no late days by default: last month is closed too
            must.add(PeriodNotOpen)
        if amount is not None and amount > ALLOTMENT:  # the maximum is the monthly 100
            must.add(LimitExceeded)
        beans = ALLOTMENT if amount is None else amount
        targets = list(dict.fromkeys(everyone if chosen is None else chosen))
        new = [b for b in targets if (b, period) not in self.model.allotted]
        if not must and beans * len(new) > ALLOTMENT_BATCH_APPROVAL_ABOVE:
            must.add(FourEyesRequired)  # prepared by one coordinator, approved by another

        def grant():
            return self.ledger.grant_allotments(
                period, COORDINATOR, amount=amount, account_ids=chosen
            )

        run = self.attempt("grant allotments", grant, must)
        if run is REFUSED:
            return
        assert (run.period, run.granted, run.skipped) == (period, len(new), len(targets) - len(new))
        assert (run.total, run.granted_ids) == (beans * len(new), new)
        for beneficiary in new:
            self.model.allot(beneficiary, period, beans)

    @rule(
        target=requests,
        which=st.sampled_from(["current", "current", "current", "next"]),
        amount=st.none() | st.integers(1, 150),
        by=st.sampled_from(COORDINATORS),
        data=st.data(),
    )
    def prepare_allotments(self, which: str, amount: int | None, by: Actor, data: st.DataObject):
        """An allotment batch asked of a second coordinator: checked whole, and the
        beneficiaries it would grant written down."""
        first = self.model.today.replace(day=1)
        month = first if which == "current" else first + timedelta(days=32)
        period = month.strftime("%Y-%m")
        everyone = self.model.ids("beneficiary")
        chosen = data.draw(
            st.none() | st.lists(st.sampled_from(everyone), max_size=3), label="account_ids"
        )
        beans = ALLOTMENT if amount is None else amount
        targets = list(dict.fromkeys(everyone if chosen is None else chosen))
        new = [b for b in targets if (b, period) not in self.model.allotted]
        must: Errors = set()
        if which != "current":
            must.add(PeriodNotOpen)
        if beans > ALLOTMENT:
            must.add(LimitExceeded)
        if not must and not new:
            must.add(ValidationError)  # a batch that grants nobody

        def call():
            return self.ledger.prepare_allotments(period, by, amount=amount, account_ids=chosen)

        request = self.attempt("prepare allotments", call, must)
        if request is REFUSED:
            return multiple()
        assert (request.kind, request.status, request.period) == ("allotments", "pending", period)
        assert (request.account_ids, request.beans) == (new, beans * len(new))
        self.model.requests[request.id] = Request(
            "allotments", by.name, beans * len(new), period=period, targets=new
        )
        return request.id

    # --- the fund --------------------------------------------------------------------------

    @rule(
        target=donations,
        amount_fen=DONATION_FEN,
        anonymous=st.booleans(),
        days_ago=st.sampled_from([0, 0, 3, 45, -1]),
    )
    def donate(self, amount_fen: int, anonymous: bool, days_ago: int):
        receipt = self.new_key("receipt")
        received_on = self.model.today - timedelta(days=days_ago)
        donor = None if anonymous else "Kunming Tea Traders"

        def call(fen: int = amount_fen):
            return self.ledger.record_donation(
                donor=donor, anonymous=anonymous, amount_fen=fen, received_on=received_on,
                receipt_no=receipt, by=OFFICERS[0],
            )  # fmt: skip

        result = self.attempt("donate", call, {ValidationError} if days_ago < 0 else set())
        if result is REFUSED:
            return multiple()
        assert (result.amount_fen, result.receipt_no, result.received_on) == (
            amount_fen,
            receipt,
            received_on,
        )
        self.model.donated_fen += amount_fen
        self.model.donations[result.id] = Donated(amount_fen, OFFICERS[0].name, receipt)
        self.remember("donate", receipt, call, lambda: call(amount_fen + 1), result)
        return result.id

    @rule(donation=donations, officer=st.sampled_from(OFFICERS))
    def reverse_donation(self, donation: str, officer: Actor) -> None:
        """A donation recorded by mistake is reversed by another fund officer, once, while
        the fund still holds its cash."""
        record, must = self.model.donations[donation], set()
        if record.reversed:
            must.add(InvalidState)
        if officer.name == record.recorded_by:
            must.add(FourEyesRequired)
        if record.amount_fen > self.model.donated_fen - self.model.paid_fen:
            must.add(InsufficientFund)
        view = self.attempt(
            "reverse donation",
            lambda: self.ledger.reverse_donation(donation, "typed twice", officer),
            must,
        )
        if view is REFUSED:
            return
        assert (view.id, view.amount_fen, view.reversed) == (donation, record.amount_fen, True)
        record.reversed = True
        self.model.donated_fen -= record.amount_fen
        # its receipt number is free again: repeating it records the right donation
        self.keyed = [k for k in self.keyed if (k.what, k.key) != ("donate", record.receipt)]

    def _cutoff(self, which: str) -> date | None:
        today = self.model.today
        first_of_last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        return {
            "default": None, "today": today, "tomorrow": today + timedelta(days=1),
            "previous month": first_of_last_month, "too late": today + timedelta(days=2),
        }[which]  # fmt: skip

    @rule(
        target=settlements,
        officer=st.sampled_from(OFFICERS),
        which=st.sampled_from(CUTOFFS),
        keyed=st.booleans(),
    )
    def prepare_settlement(self, officer: Actor, which: str, keyed: bool):
        cutoff = self._cutoff(which)
        effective = cutoff or self.model.today.replace(day=1)
        key = self.new_key() if keyed else None
        predicted = {m: book.settleable(effective) for m, book in self.model.merchants.items()}
        known = [beans for beans in predicted.values() if beans is not None]
        if len(known) < len(predicted) and which != "too late":
            OUTCOMES["prepare settlement", "a cutoff before an earlier one"] += 1
        must: Errors = set()
        may: Errors = set()
        if which == "too late":
            must.add(ValidationError)
        elif not any(known):
            (must if len(known) == len(predicted) else may).add(NothingToSettle)
        if self.model.latest_cutoff and effective < self.model.latest_cutoff:
            may.add(ValidationError)  # the ledger may refuse to settle an earlier period again

        def call(day: date | None = cutoff):
            return self.ledger.prepare_settlement(officer, cutoff=day, key=key)

        view = self.attempt("prepare settlement", call, must, may)
        if view is REFUSED:
            return multiple()
        assert (view.status, view.prepared_by, view.approved_by) == ("prepared", officer.name, None)
        assert view.cutoff == local_midnight(effective)
        self.model.latest_cutoff = max(self.model.latest_cutoff or effective, effective)
        assert view.period == (effective - timedelta(days=1)).strftime("%Y-%m")
        lines = {line.merchant_id: line for line in view.lines}
        assert len(lines) == len(view.lines), "a merchant has two lines"
        for merchant, beans in predicted.items():
            got = lines[merchant].beans if merchant in lines else 0
            assert beans in (None, got), (
                f"merchant {merchant}: the model settles {beans}, the ledger {got}"
            )
        batch = Batch(officer.name, {}, cutoff=effective)
        for merchant, line in lines.items():
            book = self.model.merchants[merchant]
            assert 0 < line.beans <= book.unsettled <= self.model.balance[merchant]
            assert line.cash_fen == line.beans * BEAN_FEN
            assert line.rebate_fen == half_up_rebate(line.cash_fen, book.rebate_bps)
            assert (line.paid_at, line.payment_ref) == (None, None)
            batch.lines[merchant] = Line(line.beans, line.cash_fen, line.rebate_fen)
            book.lines.append((effective, line.beans))
            # Whichever beans earlier settlements took: all the settlements up to this
            # cutoff took no more than the net beans recorded before it.
            settled, recorded = book.settled_up_to(effective), book.net(before=effective)
            assert settled <= recorded, (
                f"merchant {merchant}: settlements with cutoffs up to {effective} took "
                f"{settled} beans, but only {recorded} were recorded before it"
            )
        assert view.total_fen == sum(
            line.cash_fen + line.rebate_fen for line in batch.lines.values()
        )
        self.model.batches[view.id] = batch
        if key is not None:
            # Repeated with the cutoff it took (the default moves with the month).
            again, other = lambda: call(effective), lambda: call(effective - timedelta(days=1))
            self.remember("prepare settlement", key, again, other, view, settlement_facts)
        return view.id

    @rule(settlement=settlements, officer=st.sampled_from(OFFICERS))
    def approve_settlement(self, settlement: str, officer: Actor) -> None:
        batch, must = self.model.batches[settlement], set()
        if batch.status != "prepared":
            must.add(InvalidState)
        if officer.name == batch.prepared_by:
            must.add(FourEyesRequired)
        view = self.attempt(
            "approve settlement", lambda: self.ledger.approve_settlement(settlement, officer), must
        )
        if view is not REFUSED:
            assert (view.status, view.approved_by) == ("approved", officer.name)
            batch.status = "approved"

    @rule(settlement=settlements, officer=st.sampled_from(OFFICERS))
    def cancel_settlement(self, settlement: str, officer: Actor) -> None:
        """A prepared or approved settlement none of whose lines is paid is cancelled by
        any fund officer; its beans are unsettled again, for the next settlement."""
        batch = self.model.batches[settlement]
        must: Errors = set()
        if batch.status not in ("prepared", "approved") or any(
            line.paid for line in batch.lines.values()
        ):
            must.add(InvalidState)
        view = self.attempt(
            "cancel settlement",
            lambda: self.ledger.cancel_settlement(settlement, "wrong cutoff", officer),
            must,
        )
        if view is REFUSED:
            return
        assert view.status == "cancelled"
        self.model.cancel(settlement)

    @rule(settlement=settlements, reuse=RARELY, data=st.data())
    def pay_settlement_line(self, settlement: str, reuse: bool, data: st.DataObject) -> None:
        """``reuse``: with the reference of a transfer that paid another line already."""
        batch = self.model.batches[settlement]
        anyone = st.sampled_from(list(self.model.merchants))
        merchant = data.draw(st.sampled_from(list(batch.lines)) | anyone, label="merchant")
        used = None
        if reuse and self.used_references:
            used = data.draw(st.sampled_from(self.used_references), label="used reference")
        self._pay_line(settlement, merchant, used)

    def _pay_line(self, settlement: str, merchant: str, used: str | None = None) -> None:
        batch = self.model.batches[settlement]
        line, must = batch.lines.get(merchant), set()
        if batch.status in ("prepared", "cancelled") or (line is not None and line.paid):
            must.add(InvalidState)
        if line is None:
            must.add(NotFound)
        elif line.cash_fen + line.rebate_fen > self.model.donated_fen - self.model.paid_fen:
            must.add(InsufficientFund)
        fund_before = self.ledger.get_fund().balance_fen
        held_before = self.ledger.get_merchant(merchant).balance
        reference = self.new_key("bank-transfer")
        if used is not None:
            reference = used.upper()  # the same transfer, written another way
            must.add(PaymentReferenceUsed)

        def pay():
            return self.ledger.pay_settlement_line(settlement, merchant, reference, OFFICERS[0])

        paid = self.attempt("pay settlement line", pay, must)
        if paid is REFUSED:
            return
        self.used_references.append(reference)
        facts = (paid.settlement_id, paid.merchant_id, paid.payment_ref, paid.paid_at)
        assert facts == (settlement, merchant, reference, self.clock.now())
        assert self.ledger.get_merchant(merchant).balance == held_before - line.beans
        assert self.ledger.get_fund().balance_fen == fund_before - line.cash_fen - line.rebate_fen
        self.model.pay_line(settlement, merchant)
        if all(line.paid for line in batch.lines.values()):
            batch.status = "paid"
        assert self.ledger.get_settlement(settlement).status == batch.status

    @rule(
        target=settlements, officer=st.sampled_from(OFFICERS), which=st.sampled_from(CUTOFFS),
        funded=st.booleans(),
    )  # fmt: skip
    def settle_what_is_owed(self, officer: Actor, which: str, funded: bool):
        """Prepare, approve (by the other officer) and pay every line, after a donation
        that makes the fund hold exactly what the lines need if ``funded``."""
        prepared = self.prepare_settlement(officer, which, keyed=False)
        if isinstance(prepared, str):
            self.approve_settlement(prepared, OFFICERS[officer == OFFICERS[0]])
            lines = self.model.batches[prepared].lines
            needed = sum(line.cash_fen + line.rebate_fen for line in lines.values())
            shortfall = needed - (self.model.donated_fen - self.model.paid_fen)
            if funded and shortfall > 0:
                self.donate(shortfall, anonymous=True, days_ago=0)
            for merchant in list(lines):
                self._pay_line(prepared, merchant)
        return prepared

    # --- idempotency -----------------------------------------------------------------------

    @precondition(lambda self: self.keyed)
    @rule(data=st.data())
    def repeat_with_the_same_key(self, data: st.DataObject) -> None:
        """The same key with the same values returns the first result and records nothing."""
        command = data.draw(st.sampled_from(self.keyed), label="command")
        position = self.ledger.recorder.max_notification_id()
        again = command.facts(command.again())
        assert again == command.first, f"{command}: first {command.first!r}, repeated {again!r}"
        assert self.ledger.recorder.max_notification_id() == position, f"{command} recorded events"
        OUTCOMES["repeat " + command.what, "ok"] += 1

    @precondition(lambda self: self.keyed)
    @rule(data=st.data())
    def reuse_a_key_for_other_values(self, data: st.DataObject) -> None:
        command = data.draw(st.sampled_from(self.keyed), label="command")
        self.attempt("reuse key: " + command.what, command.other, {IdempotencyKeyReused})

    # --- the books -------------------------------------------------------------------------

    @invariant()
    def books_agree_with_the_model(self) -> None:
        model, held = self.model, 0
        merchants: list[tuple[int, int]] = []
        for account, kind in model.kind.items():
            if kind == "pool":
                balance = self.ledger.get_pool_balance()
            elif kind == "merchant":
                view, book = self.ledger.get_merchant(account), model.merchants[account]
                balance, unsettled = view.balance, view.unsettled_beans
                assert view.status == ("active" if book.active else "suspended")
                assert unsettled == book.unsettled, (
                    f"merchant {account}: {unsettled} unsettled, model {book.unsettled}"
                )
                assert unsettled <= balance, "a merchant never reserves fewer than 0 beans"
                assert book.net() - book.paid == model.balance[account], "the model's own books"
                merchants.append((balance, book.rebate_bps))
            else:
                balance = self.ledger.get_balance(account)
            expected = model.balance[account]
            assert balance == expected, (
                f"{kind} {account}: the ledger says {balance} beans, the model {expected}"
            )
            # only a merchant may owe beans: refunds of sales already settled
            assert balance >= 0 or kind == "merchant", f"{kind} {account} is negative: {balance}"
            held += balance
        issuance, retired = -(model.issued - model.corrected), model.settled
        assert held + issuance + retired == 0, (
            f"held {held}, issuance {issuance}, retired {retired}"
        )
        fund = self.ledger.get_fund()
        assert fund.outstanding_beans == held, f"outstanding {fund.outstanding_beans}, held {held}"
        # every outstanding bean priced with its rebate (docs/LEDGER.md "Fund liability")
        assert fund.liability_fen == liability_fen(held, merchants, BEAN_FEN)
        assert fund.liability_fen >= held * BEAN_FEN
        assert fund.balance_fen == model.donated_fen - model.paid_fen
        # liability × coverage is the fund's balance, to the 4 places coverage keeps
        if fund.coverage is None:
            assert fund.liability_fen == 0
        else:
            assert abs(fund.liability_fen * fund.coverage - fund.balance_fen) <= (
                fund.liability_fen * Decimal("0.00005")
            )

    @invariant()
    def no_bean_was_credited_but_by_a_bounded_command(self) -> None:
        """Every bean that left issuance names the record of the bounded command that
        issued it (an incident or activity award, an allotment), and every other credit
        is a movement whose other side was debited (checked by the books above)."""
        issuers = (Incident, Activity, Allotment)
        for event in self.new_credits():
            assert event.flow in Flow.ALL, f"a credit of unknown flow {event.flow}"
            if event.flow in Flow.ISSUING:
                record = self.ledger.find(UUID(event.ref), issuers)  # type: ignore[arg-type]
                assert record is not None, f"{event.flow} of {event.amount} names no record"
                if event.flow == Flow.ALLOTMENT:
                    assert event.amount <= self.ledger.rules.allotment_max

    def new_credits(self) -> list[Any]:
        """The BeansCredited events recorded since the last call."""
        recorder, mapper = self.ledger.recorder, self.ledger.mapper
        found = []
        while True:
            batch = recorder.select_notifications(
                start=self.credits_seen, limit=500, inclusive_of_start=False
            )
            for notification in batch:
                self.credits_seen = notification.id
                if notification.topic.endswith(".BeansCredited"):
                    found.append(mapper.to_domain_event(notification))
            if len(batch) < 500:
                return found


def machine_for(
    store: Store, *, durable: bool = False, name: str = "LedgerMachine"
) -> type[LedgerMachine]:
    """A LedgerMachine whose every example runs on a fresh store from ``store()``."""
    return type(name, (LedgerMachine,), {"store": staticmethod(store), "durable": durable})
