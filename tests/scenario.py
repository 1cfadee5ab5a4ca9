"""A small community to tell accounting stories with, in tests.

``Community`` wraps a :class:`~ledger.application.Ledger` and the
:class:`~ledger.clock.FakeClock` it runs on, and gives the ledger's commands readable,
story-sized steps::

    community = Community.in_memory()              # 2026-03-10 10:00 in Kunming
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    community.earn(li, 10)                         # a verified incident worth 10
    community.spend(li, shop, 7)                   # shows a payment code at the shop
    assert community.balance(li) == 3
    community.check_books()                        # double entry still holds

Every step returns what the ledger returned (ids as ``str``) and raises what the ledger
raises, so a test can ``pytest.raises`` around any step. Staff actors are fixed:
``coordinator`` ("coord-1"), ``officer`` ("fo-1", prepares settlements) and
``second_officer`` ("fo-2", approves them); none of them holds a bean account.

Time stands still unless a test moves it: use :meth:`move_to_local`, :meth:`advance` or
:meth:`next_day` to cross days and months (local time is ``Asia/Shanghai`` unless the
rules say otherwise).

No database is needed: :meth:`in_memory` uses ``memory://``; :meth:`on` opens any URL
(e.g. the ``sqlite_url`` or ``postgres_url`` fixtures) with its tables created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count

from ledger.accounts import Account, Flow
from ledger.application import Ledger
from ledger.clock import FakeClock
from ledger.persistence import open_ledger
from ledger.rules import Rules
from ledger.views import (
    Actor,
    DonationView,
    GiftView,
    RedemptionView,
    RefundView,
    SettlementView,
)

#: Tuesday 2026-03-10 10:00 in Kunming (02:00 UTC), like the ``fake_clock`` fixture.
START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)

#: The largest award a coordinator may give for one incident (SPEC §4).
MAX_AWARD_PER_INCIDENT = 100

_TRANSFERS = (Flow.GIFT, Flow.POOL_ALLOCATION, Flow.REDEMPTION, Flow.REFUND)


@dataclass(frozen=True)
class Books:
    """The double-entry picture :meth:`Community.check_books` found.

    ``held`` is what volunteers, beneficiaries, merchants and the pool hold; ``issuance``
    and ``retired`` are the system accounts' balances worked out from the event log
    (issuance = corrected - issued, retired = settled), so
    ``held + issuance + retired == 0``.
    """

    held: int
    issued: int
    corrected: int
    retired: int
    outstanding: int

    @property
    def issuance(self) -> int:
        return self.corrected - self.issued


class Community:
    """A ledger, its fake clock, and readable steps for worked accounting scenarios."""

    coordinator = Actor("coord-1")
    officer = Actor("fo-1")
    second_officer = Actor("fo-2")

    def __init__(self, ledger: Ledger, clock: FakeClock) -> None:
        self.ledger = ledger
        self.clock = clock
        self._cards: dict[str, str] = {}
        self._numbers = count(1)
        self._settled: dict[str, str] = {}  # period -> the letter of its next settlement

    @classmethod
    def in_memory(cls, start: datetime = START, rules: Rules | None = None) -> Community:
        """A fresh community in memory whose clock starts at ``start``."""
        return cls.on("memory://", start=start, rules=rules)

    @classmethod
    def on(cls, url: str, start: datetime = START, rules: Rules | None = None) -> Community:
        """A community on the database at ``url`` (tables created if missing)."""
        clock = FakeClock(start)
        kwargs = {"rules": rules} if rules is not None else {}
        return cls(open_ledger(url, clock=clock, create_tables=True, **kwargs), clock)

    def close(self) -> None:
        self.ledger.close()

    # --- time -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def today(self) -> date:
        """The programme's local calendar day now."""
        return date.fromisoformat(self.ledger.day_of(self.now))

    def local(self, year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
        """The UTC instant of a local wall-clock time in the programme's zone."""
        wall = datetime(year, month, day, hour, minute, tzinfo=self.ledger.calendar.zone)
        return wall.astimezone(UTC)

    def move_to_local(
        self, year: int, month: int, day: int, hour: int = 10, minute: int = 0
    ) -> None:
        """Set the clock to a local wall-clock time (may go backwards; tests beware)."""
        self.clock.set(self.local(year, month, day, hour, minute))

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by ``timedelta(**delta)``."""
        return self.clock.advance(**delta)

    def next_day(self) -> None:
        """Move the clock forward by one day."""
        self.clock.advance(days=1)

    # --- members ----------------------------------------------------------------------

    def volunteer(self, name: str) -> str:
        """Open a volunteer account; return its id."""
        return self.ledger.open_volunteer(name).id

    def beneficiary(self, name: str) -> str:
        """Open a beneficiary account; return its id (see :meth:`card`)."""
        return self.ledger.open_beneficiary(name).id

    def merchant(self, name: str, category: str = "grocery", rebate_bps: int | None = None) -> str:
        """Register an active merchant; return its id."""
        return self.ledger.register_merchant(name, category, rebate_bps, by=Actor("admin")).id

    def card(self, beneficiary_id: str, pin: str | None = None) -> str:
        """Issue (or reissue) a beneficiary's card; return its card code."""
        code = self.ledger.issue_card(beneficiary_id, self.coordinator, pin=pin).card_code
        self._cards[beneficiary_id] = code
        return code

    # --- earning ----------------------------------------------------------------------

    def earn(self, volunteer_id: str, beans: int) -> list[str]:
        """The volunteer reports incidents that the coordinator verifies with awards
        adding up to ``beans`` (one incident per 100 beans or part); return their ids.

        All awards fall on today, so the daily award cap (200) applies.
        """
        if beans <= 0:
            raise ValueError("earn a positive number of beans")
        incident_ids = []
        while beans > 0:
            award = min(beans, MAX_AWARD_PER_INCIDENT)
            incident = self.ledger.submit_incident(volunteer_id, "other", "helped a neighbour")
            self.ledger.verify_incident(incident.id, self.coordinator, award=award)
            incident_ids.append(incident.id)
            beans -= award
        return incident_ids

    # --- spending ---------------------------------------------------------------------

    def payment_code(self, volunteer_id: str) -> str:
        """A fresh payment code of the volunteer (valid 60 s, accepted once)."""
        return self.ledger.issue_payment_code(volunteer_id).code

    def spend(
        self,
        volunteer_id: str,
        merchant_id: str,
        beans: int,
        key: str | None = None,
        code: str | None = None,
    ) -> RedemptionView:
        """The volunteer shows a payment code (a fresh one unless ``code`` is given) and
        the merchant redeems ``beans``.

        A retry of the same request needs the same ``code`` and ``key``.
        """
        code = code or self.payment_code(volunteer_id)
        return self.ledger.redeem(merchant_id, code, beans, key=key)

    def spend_card(
        self,
        beneficiary_id: str,
        merchant_id: str,
        beans: int,
        pin: str | None = None,
        key: str | None = None,
    ) -> RedemptionView:
        """The beneficiary's card (issued now if it has none) is redeemed at the merchant."""
        code = self._cards.get(beneficiary_id) or self.card(beneficiary_id)
        return self.ledger.redeem(merchant_id, code, beans, pin=pin, key=key)

    def pay(
        self, volunteer_id: str, merchant_id: str, beans: int, key: str | None = None
    ) -> RedemptionView:
        """The volunteer scans the merchant's counter code and pays ``beans``."""
        merchant_code = self.ledger.get_merchant(merchant_id).merchant_code
        return self.ledger.pay_merchant(volunteer_id, merchant_code, beans, key=key)

    def refund(self, redemption: RedemptionView, beans: int, key: str | None = None) -> RefundView:
        """The merchant gives ``beans`` of one of its redemptions back to the payer."""
        return self.ledger.refund(redemption.id, redemption.merchant_id, beans, key=key)

    # --- giving -----------------------------------------------------------------------

    def give(self, volunteer_id: str, to: str, beans: int, key: str | None = None) -> GiftView:
        """The volunteer gives beans to a beneficiary id or to ``"pool"``."""
        return self.ledger.give(volunteer_id, to, beans, key=key)

    # --- the fund ---------------------------------------------------------------------

    def donate(
        self, fen: int, receipt_no: str | None = None, donor: str = "Jinsha Residents"
    ) -> DonationView:
        """Record a cash donation received today (receipt numbers R-0001, R-0002, …)."""
        return self.ledger.record_donation(
            donor=donor,
            anonymous=False,
            amount_fen=fen,
            received_on=self.today,
            receipt_no=receipt_no or f"R-{next(self._numbers):04d}",
            by=self.officer,
        )

    def settle(self, cutoff: date | None = None) -> SettlementView:
        """The officer prepares a settlement, the second officer approves it, and every
        line is paid; return the settlement as it ends up (status "paid")."""
        prepared = self.ledger.prepare_settlement(self.officer, cutoff=cutoff)
        self.ledger.approve_settlement(prepared.id, self.second_officer)
        # BANK-2026-03-1, -2 …; a second settlement of the month BANK-2026-03-b1 …
        again = self._settled.get(prepared.period, "")
        self._settled[prepared.period] = chr(ord(again or "a") + 1)
        for number, line in enumerate(prepared.lines, start=1):
            self.ledger.pay_settlement_line(
                prepared.id,
                line.merchant_id,
                f"BANK-{prepared.period}-{again}{number}",
                self.officer,
            )
        return self.ledger.get_settlement(prepared.id)

    # --- looking ----------------------------------------------------------------------

    def balance(self, account_id: str) -> int:
        """Beans held by an account (volunteer, beneficiary, merchant) or ``"pool"``."""
        if account_id == "pool":
            return self.ledger.get_pool_balance()
        return self.ledger.get_balance(account_id)

    def unsettled(self, merchant_id: str) -> int:
        """Beans the merchant holds that no settlement has taken yet."""
        return self.ledger.get_merchant(merchant_id).unsettled_beans

    @property
    def outstanding(self) -> int:
        """Beans held by anyone but issuance and retired, as the fund sees it."""
        return self.ledger.get_fund().outstanding_beans

    def check_books(self) -> Books:
        """Assert the double-entry invariant of SPEC §3 and return the figures.

        * what volunteers, beneficiaries, merchants and the pool hold equals the fund's
          ``outstanding_beans``;
        * no account but issuance and merchants is negative; a merchant only by what it
          refunded (a deduction from its next settlements), and it never reserves a
          negative number of beans;
        * from the event log: every transfer (gift, pool allocation, redemption, refund)
          credits exactly what it debits, and held + issuance + retired == 0, where
          issuance = corrected - issued and retired = settled.
        """
        ledger = self.ledger
        held = ledger.get_pool_balance()
        assert held >= 0, f"the pool holds {held} beans"
        for kind in ("volunteer", "beneficiary"):
            for account_id in ledger.index.ids_of(kind):
                balance = ledger.get_balance(account_id)
                assert balance >= 0, f"{kind} {account_id} holds {balance} beans"
                held += balance
        refunded: dict[str, int] = {}
        for event in self._account_events():
            if isinstance(event, Account.BeansDebited) and event.flow == Flow.REFUND:
                merchant_id = str(event.originator_id)
                refunded[merchant_id] = refunded.get(merchant_id, 0) + event.amount
        for merchant_id in ledger.index.ids_of("merchant"):
            merchant = ledger.get_merchant(merchant_id)
            held += merchant.balance
            # a merchant owes beans only by refunding sales already settled (a deduction)
            assert merchant.balance >= -refunded.get(merchant_id, 0), (
                f"merchant {merchant_id} holds {merchant.balance} beans"
            )
            reserved = merchant.balance - merchant.unsettled_beans
            assert reserved >= 0, f"merchant {merchant_id} reserved {reserved} beans"

        issued = corrected = retired = 0
        transfers: dict[tuple[str, str], int] = {}
        for event in self._account_events():
            sign = 1 if isinstance(event, Account.BeansCredited) else -1
            if event.flow in Flow.ISSUING:
                assert sign == 1, f"{event.flow} debited an account"
                issued += event.amount
            elif event.flow == Flow.CORRECTION:
                corrected += event.amount
            elif event.flow == Flow.SETTLEMENT:
                retired += event.amount
            elif event.flow in _TRANSFERS:
                pair = (event.flow, event.ref)
                transfers[pair] = transfers.get(pair, 0) + sign * event.amount
        unbalanced = {pair: net for pair, net in transfers.items() if net}
        assert not unbalanced, f"transfers that do not balance: {unbalanced}"

        outstanding = ledger.get_fund().outstanding_beans
        books = Books(held, issued, corrected, retired, outstanding)
        assert held == outstanding, f"accounts hold {held} beans, the fund counts {outstanding}"
        assert held + books.issuance + retired == 0, f"the books do not sum to zero: {books}"
        return books

    def credits(self, account_id: str, flow: str | None = None) -> list[str]:
        """The refs (the records' ids) of the account's credits, of ``flow`` if given, in
        order: what the entries list shows a coordinator, and a correction names."""
        return [
            event.ref
            for event in self._account_events()
            if isinstance(event, Account.BeansCredited)
            and str(event.originator_id) == account_id
            and flow in (None, event.flow)
        ]

    @property
    def log_length(self) -> int:
        """The position of the last event in the log (0 while it is empty)."""
        return self.ledger.recorder.max_notification_id() or 0

    def refuses(self, error: type[Exception], command, *args, **kwargs) -> Exception:
        """Run ``command(*args, **kwargs)``, which must be refused with ``error`` and
        record nothing at all; return the error (its message names the rule)."""
        before = self.log_length
        try:
            command(*args, **kwargs)
        except error as refusal:
            assert self.log_length == before, f"refused with {refusal!r} but recorded events"
            return refusal
        raise AssertionError(f"{command.__name__} was not refused with {error.__name__}")

    def _account_events(self):
        """Every BeansCredited / BeansDebited event in the log, in order."""
        recorder, mapper = self.ledger.recorder, self.ledger.mapper
        position = 0
        while True:
            batch = recorder.select_notifications(
                start=position, limit=1000, inclusive_of_start=False
            )
            for notification in batch:
                position = notification.id
                if ".Beans" in notification.topic:
                    event = mapper.to_domain_event(notification)
                    if isinstance(event, Account.BeansCredited | Account.BeansDebited):
                        yield event
            if len(batch) < 1000:
                return
