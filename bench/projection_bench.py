#!/usr/bin/env python
"""How fast the projections read the event log, rebuild from zero and serve a monthly
fund report at a realistic size, on SQLite and PostgreSQL, in the same run.

    python bench/projection_bench.py            # 1,000,000 events per store: 7-11 min on 2 cores
    python bench/projection_bench.py --quick    # 100,000 events per store: 1.5 min
    python bench/projection_bench.py --events 300000 --batch-size 2000 --profile

For each store (a scratch SQLite file under bench/out/, then a fresh schema on the
PostgreSQL at ``$GOLDBEAN_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``, dropped at the end):

1. **History.** About ``--events`` events over ``--months`` (12) months of a community,
   written fast: bulk movements at the aggregate level (as bench/ledger_bench.py's
   history does: load aggregates, call their methods, ``ledger.save`` of many at once),
   with the events the real commands would record -- incident awards (Incident.Submitted,
   Verified, BeansCredited), redemptions by payment code (with the code's marker), by
   merchant code and by beneficiary card (Redemption.Made + debit + credit), refunds,
   gifts to beneficiaries and the pool, activity check-ins and awards, leaderboard
   choices. Each month also runs real commands on a FakeClock: new volunteers opened,
   allotments granted, donations recorded, a few incidents submitted and verified, and
   last month's settlement prepared, approved and paid.
2. **Raw read**: the whole log read with ``recorder.select_notifications`` in batches of
   ``--batch-size``, every state decoded with the ledger's transcoder: the ceiling a
   rebuild can approach (read before and again after the rebuild; the faster counts, as
   other work on the machine slows one or the other).
3. **Rebuild**: ``Runner.rebuild()`` of every projection from zero over the same log
   (events/s, and the ratio rebuild/raw; the aim is at least 0.5; also this process's
   CPU time per event, which other load disturbs less). The rebuilt books
   are checked against the history: every account's balance and every month's count of
   redemptions.
4. **Report**: ``projections.queries.fund_report`` of a month in the middle of the history
   (and of the current month), each call in its own ``store.read()`` transaction,
   ``--report-calls`` times (p50, p99; the aim is under 20 ms); and
   ``GET /api/v1/public/fund-reports/{period}`` through the Flask test client if the
   endpoint exists (skipped when it answers 404).
5. **Batch sizes** (unless ``--no-sweep``): the first ``--sweep-events`` events rebuilt
   with each of ``--sweep-sizes``.

It prints a table and writes it into docs/PERFORMANCE.md between
``<!-- projection_bench:start -->`` and ``<!-- projection_bench:end -->`` (the rest of the
file is left alone). Raw numbers go to bench/out/projection_bench.json; with
``--profile``, cProfile's top functions of a last, separate rebuild of the first
``--sweep-events`` events go to bench/out/projection_bench_profile_<store>.txt (the
figures above are measured without the profiler).
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import sys
import time
from collections import Counter, deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger_bench import (  # noqa: E402
    DEFAULT_PG_URL,
    load_average,
    machine_facts,
    percentile,
    pg_admin_url,
    postgres_facts,
    write_doc,
)
from sqlalchemy import select  # noqa: E402

from api.context import make_runner  # noqa: E402
from api.store import Store  # noqa: E402
from ledger import codes  # noqa: E402
from ledger.accounts import ISSUANCE, Beneficiary, Flow, Pool, Volunteer  # noqa: E402
from ledger.activities import Activity  # noqa: E402
from ledger.application import Ledger  # noqa: E402
from ledger.clock import FakeClock  # noqa: E402
from ledger.errors import AwardCapExceeded, InsufficientBalance, NothingToSettle  # noqa: E402
from ledger.fund import Fund  # noqa: E402
from ledger.ids import FUND_ID, POOL_ID  # noqa: E402
from ledger.incidents import Incident  # noqa: E402
from ledger.merchants import Merchant  # noqa: E402
from ledger.persistence import init_db, open_ledger  # noqa: E402
from ledger.records import Gift, PaymentCodeUsed, Redemption  # noqa: E402
from ledger.rules import INCIDENT_CATEGORIES  # noqa: E402
from ledger.views import Actor  # noqa: E402
from projections import queries  # noqa: E402
from projections import tables as t  # noqa: E402

OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- projection_bench:start -->", "<!-- projection_bench:end -->"
FIRST_PERIOD = "2025-01"  # the history starts here (fixed, so reruns are comparable)
CHUNK_EVENTS = 5_000  # bulk events per ledger.save
RATIO_AIM = 0.5
REPORT_AIM_MS = 20.0
HTTP_CALLS = 20
PROFILE_LINES = 40

COORDINATOR = Actor("coord-1")
SECOND_COORDINATOR = Actor("coord-2")
OFFICER = Actor("fo-1")
SECOND_OFFICER = Actor("fo-2")

# Bulk actions and their shares (an action writes 1-4 events; an activity about 50).
ACTIONS = (
    ("award", 0.40),
    ("redeem", 0.40),
    ("gift", 0.06),
    ("card", 0.06),
    ("refund", 0.02),
    ("activity", 0.002),
    ("leaderboard", 0.008),
)
# What each kind of merchant is: beneficiaries' cards work only in the first three.
MERCHANT_KINDS = ("grocery", "produce", "canteen", "restaurant", "pharmacy", "services")


class Progress:
    """Prints a line at every 10% of ``total`` (and the last), with the rate so far."""

    def __init__(self, say, label: str, total: int) -> None:
        self.say, self.label, self.total = say, label, max(total, 1)
        self.done, self.next_mark = 0, 0.1
        self.began = time.perf_counter()
        self.marks: list[tuple[int, float]] = []  # (done, seconds) at each line printed

    def slices(self) -> list[float]:
        """The rate (events/s) between consecutive lines: about one per tenth."""
        rates, before = [], (0, 0.0)
        for done, seconds in self.marks:
            if done - before[0] >= self.total / 100 and seconds > before[1]:  # not a tail
                rates.append((done - before[0]) / (seconds - before[1]))
            before = (done, seconds)
        return rates

    def update(self, count: int) -> None:
        self.done += count
        share = self.done / self.total
        if share + 1e-9 >= self.next_mark:
            while self.next_mark <= share + 1e-9:
                self.next_mark += 0.1
            elapsed = time.perf_counter() - self.began
            self.marks.append((self.done, elapsed))
            rate = self.done / elapsed if elapsed else 0.0
            left = (self.total - self.done) / rate if rate and self.done < self.total else 0.0
            self.say(
                f"  {self.label}: {self.done:>10,} / {self.total:,} events "
                f"({min(share, 1):4.0%}), {rate:,.0f}/s, {elapsed:.0f} s"
                + (f", about {left:.0f} s left" if left else "")
            )


# --- the history -----------------------------------------------------------------------


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


class History:
    """A community's year, written into ``ledger`` (see the module docstring)."""

    def __init__(self, ledger: Ledger, clock: FakeClock, args, say) -> None:
        self.ledger, self.clock, self.say = ledger, clock, say
        self.rng = random.Random(args.seed)
        self.events, self.months = args.events, args.months
        self.calendar = ledger.calendar
        self.rules = ledger.rules
        # Community size grows with the log: 2,000 volunteers for 1,000,000 events.
        self.volunteer_target = max(100, args.events // 500)
        self.merchant_count = max(8, min(60, args.events // 25_000))
        self.beneficiary_count = max(10, min(200, args.events // 20_000))
        self.volunteers: dict[str, Volunteer] = {}
        self.volunteer_ids: list[str] = []
        self.volunteer_weights: list[float] = []  # cumulative: a few volunteers do a lot
        self.merchants: dict[str, Merchant] = {}
        self.merchant_ids: list[str] = []
        self.merchant_weights: list[float] = []
        self.card_merchant_ids: list[str] = []
        self.beneficiaries: dict[str, Beneficiary] = {}
        self.pool: Pool | None = None
        self.recent: deque[Redemption] = deque(maxlen=300)  # refundable redemptions
        self.actions = [name for name, _ in ACTIONS]
        self.action_weights = _cumulative(w for _, w in ACTIONS)
        self.top = self.action_weights[-1]
        # what was written, to check the rebuilt books against
        self.redemptions_per_period: Counter[str] = Counter()
        self.actions_done: Counter[str] = Counter()
        self.commands: Counter[str] = Counter()
        self.bulk_events = 0
        self.bulk_seconds = 0.0
        # the batch being built
        self._touched: dict[object, object] = {}
        self._pending = 0

    # --- the year -------------------------------------------------------------------------

    def run(self) -> dict:
        began = time.perf_counter()
        period = FIRST_PERIOD
        progress = Progress(self.say, "history", self.events)
        written = 0
        self.periods = []
        for month in range(self.months):
            self.periods.append(period)
            start = self.calendar.start_of_period(period)
            following = next_period(period)
            end = self.calendar.start_of_period(following)
            self.clock.set(start + timedelta(hours=9))  # 09:00 local: the office opens
            self.month_commands(month, period)
            target = round(self.events * (month + 1) / self.months)
            head = self.ledger.recorder.max_notification_id() or 0
            self.bulk(target - head, start + timedelta(hours=10), end - timedelta(minutes=5))
            head = self.ledger.recorder.max_notification_id() or 0
            progress.update(head - written)
            written = head
            period = following
        self.current_period = self.periods[-1]
        self.clock.set(
            self.calendar.start_of_period(next_period(self.current_period)) - timedelta(minutes=1)
        )
        seconds = time.perf_counter() - began
        return {
            "events": written,
            "seconds": seconds,
            "rate": written / seconds if seconds else 0.0,
            "bulk_events": self.bulk_events,
            "bulk_rate": self.bulk_events / self.bulk_seconds if self.bulk_seconds else 0.0,
            "volunteers": len(self.volunteers),
            "merchants": len(self.merchants),
            "beneficiaries": len(self.beneficiaries),
            "periods": self.periods,
            "actions": dict(self.actions_done),
            "commands": dict(self.commands),
        }

    # --- the real commands of a month ------------------------------------------------------

    def month_commands(self, month: int, period: str) -> None:
        ledger, rng = self.ledger, self.rng
        if month == 0:
            for number in range(self.merchant_count):
                kind = MERCHANT_KINDS[number % len(MERCHANT_KINDS)]
                view = ledger.register_merchant(f"Shop {number} ({kind})", kind)
                self.merchant_ids.append(view.id)
                if kind in self.rules.beneficiary_categories:
                    self.card_merchant_ids.append(view.id)
                self.commands["register_merchant"] += 1
            self.merchant_weights = list(
                _cumulative(rng.paretovariate(1.2) for _ in self.merchant_ids)
            )
            for number in range(self.beneficiary_count):
                view = ledger.open_beneficiary(f"Beneficiary {number}")
                ledger.issue_card(view.id, COORDINATOR)
                self.beneficiaries[view.id] = None  # loaded below
                self.commands["open_beneficiary"] += 1
                self.commands["issue_card"] += 1
            self.pool = ledger.load_or_open_pool(self.clock.now())
        # Half the volunteers join in the first month, the rest month by month.
        first = self.volunteer_target // 2
        by_now = first + (self.volunteer_target - first) * month // max(1, self.months - 1)
        joining = by_now - len(self.volunteer_ids)
        for _ in range(joining):
            view = ledger.open_volunteer(f"Volunteer {len(self.volunteer_ids)}")
            self.volunteer_ids.append(view.id)
            self.volunteers[view.id] = ledger.load(view.id, Volunteer, "volunteer")
            self.volunteer_weights.append(
                (self.volunteer_weights[-1] if self.volunteer_weights else 0.0)
                + rng.paretovariate(1.5)
            )
            self.commands["open_volunteer"] += 1
        if ledger.plan_allotments(period, COORDINATOR).needs_approval:
            # above the programme's threshold: one coordinator prepares, another approves
            request = ledger.prepare_allotments(period, COORDINATOR)
            ledger.approve_allotments(request.id, SECOND_COORDINATOR)
        else:
            ledger.grant_allotments(period, COORDINATOR)
        self.commands["grant_allotments"] += 1
        today = date.fromisoformat(ledger.day_of(self.clock.now()))
        for number in range(rng.randint(2, 5)):
            self.clock.advance(minutes=3)
            self.donate(
                f"R-{period}-{number + 1:03d}",
                rng.randint(10, 5_000) * 100,
                today,
                rng.random() < 0.3,
            )
        if month > 0:
            self.settle(period, today)
        touched = set()
        for _ in range(10):  # incidents reported and verified through the commands
            self.clock.advance(minutes=5)
            reporter = self.volunteer_ids[rng.randrange(len(self.volunteer_ids))]
            incident = ledger.submit_incident(reporter, "other", "helped a neighbour move")
            try:
                ledger.verify_incident(incident.id, COORDINATOR, award=rng.randint(1, 20))
            except AwardCapExceeded:
                continue
            touched.add(reporter)
            self.commands["submit_incident + verify_incident"] += 1
        # The commands changed these aggregates: carry on from what they saved.
        for merchant_id in self.merchant_ids:
            self.merchants[merchant_id] = ledger.load(merchant_id, Merchant, "merchant")
        for beneficiary_id in self.beneficiaries:
            self.beneficiaries[beneficiary_id] = ledger.load(
                beneficiary_id, Beneficiary, "beneficiary"
            )
        for volunteer_id in touched:
            self.volunteers[volunteer_id] = ledger.load(volunteer_id, Volunteer, "volunteer")

    def donate(self, receipt: str, fen: int, today: date, anonymous: bool = False) -> None:
        self.ledger.record_donation(
            donor=None if anonymous else f"Donor {self.rng.randrange(200)}",
            anonymous=anonymous,
            amount_fen=fen,
            received_on=today,
            receipt_no=receipt,
            by=OFFICER,
        )
        self.commands["record_donation"] += 1

    def settle(self, period: str, today: date) -> None:
        """Last month's settlement: prepared, approved, and every line paid (with a
        grant from the district first if the fund is short)."""
        ledger = self.ledger
        self.clock.advance(minutes=30)
        try:
            prepared = ledger.prepare_settlement(OFFICER)
        except NothingToSettle:
            return
        ledger.approve_settlement(prepared.id, SECOND_OFFICER)
        fund = ledger.find(FUND_ID, Fund)
        balance = fund.balance_fen if fund else 0
        if balance < prepared.total_fen:
            self.donate(f"G-{period}", prepared.total_fen - balance + 100_000, today)
        for number, line in enumerate(prepared.lines, start=1):
            self.clock.advance(minutes=1)
            ledger.pay_settlement_line(
                prepared.id, line.merchant_id, f"BANK-{prepared.period}-{number}", OFFICER
            )
        self.commands["settlements"] += 1
        self.commands["settlement lines paid"] += len(prepared.lines)

    # --- bulk movements ------------------------------------------------------------------

    def bulk(self, events: int, begin: datetime, end: datetime) -> None:
        """About ``events`` events of bulk movements, spread from ``begin`` to ``end``."""
        if events <= 0:
            return
        began = time.perf_counter()
        span = end - begin
        written = 0
        pick = self.rng.random
        while written < events:
            at = begin + span * (written / events)
            action = self.actions[bisect.bisect(self.action_weights, pick() * self.top)]
            done = getattr(self, action)(at)
            if not done:  # not possible now (no balance, cap reached...): an award instead
                action, done = "award", self.award(at)
            self.actions_done[action] += 1
            written += done
            self._pending += done
            if self._pending >= CHUNK_EVENTS:
                self.flush()
        self.flush()
        self.bulk_events += written
        self.bulk_seconds += time.perf_counter() - began

    def flush(self) -> None:
        if self._touched:
            self.ledger.save(*self._touched.values())
        self._touched, self._pending = {}, 0

    def touch(self, *aggregates) -> None:
        for aggregate in aggregates:
            self._touched[aggregate.id] = aggregate

    def volunteer(self) -> Volunteer:
        index = bisect.bisect(
            self.volunteer_weights, self.rng.random() * self.volunteer_weights[-1]
        )
        return self.volunteers[self.volunteer_ids[min(index, len(self.volunteer_ids) - 1)]]

    def merchant(self, card: bool = False) -> Merchant:
        if card:
            return self.merchants[self.rng.choice(self.card_merchant_ids)]
        index = bisect.bisect(self.merchant_weights, self.rng.random() * self.merchant_weights[-1])
        return self.merchants[self.merchant_ids[min(index, len(self.merchant_ids) - 1)]]

    def award(self, at: datetime) -> int:
        """An incident reported, verified and awarded: 3 events."""
        volunteer, rng = self.volunteer(), self.rng
        category = INCIDENT_CATEGORIES[rng.randrange(len(INCIDENT_CATEGORIES))]
        amount = self.rules.incident_awards[category]
        if rng.random() < 0.2:
            amount = rng.randint(1, 30)  # the coordinator's own choice
        day = self.ledger.day_of(at)
        if volunteer.awarded_on(day) + amount > self.rules.daily_award_cap:
            amount = 1
            if volunteer.awarded_on(day) + amount > self.rules.daily_award_cap:
                return 0
        incident = Incident._create(
            Incident.Submitted,
            timestamp=at - timedelta(hours=2),
            reporter_id=str(volunteer.id),
            category=category,
            description="a bench incident",
            location=None,
            urgent=False,
        )
        incident.verify(COORDINATOR.name, amount, at)
        volunteer.credit(
            flow=Flow.AWARD, amount=amount, counterparty=ISSUANCE, ref=incident.id, at=at, day=day
        )
        self.touch(incident)
        self.touch(volunteer)
        return 3

    def redeem(self, at: datetime) -> int:
        """A volunteer pays a merchant, by payment code (4 events) or merchant code (3)."""
        volunteer = self.volunteer()
        if volunteer.balance < 1:
            return 0
        merchant = self.merchant()
        amount = self.rng.randint(1, min(volunteer.balance, 30))
        method = "payment" if self.rng.random() < 0.7 else "merchant_code"
        redemption = self.move_to_merchant(volunteer, merchant, amount, method, at)
        if method == "payment":
            self.touch(
                PaymentCodeUsed._create(
                    PaymentCodeUsed.Used,
                    id=uuid4(),
                    timestamp=at,
                    redemption_id=str(redemption.id),
                )
            )
            return 4
        return 3

    def card(self, at: datetime) -> int:
        """A beneficiary's card at a grocery, produce shop or canteen: 3 events."""
        beneficiary = self.beneficiaries[self.rng.choice(list(self.beneficiaries))]
        day = self.ledger.day_of(at)
        room = self.rules.beneficiary_daily_limit - beneficiary.spent_on(day)
        if beneficiary.balance < 1 or room < 1:
            return 0
        amount = self.rng.randint(1, min(beneficiary.balance, room, 20))
        self.move_to_merchant(beneficiary, self.merchant(card=True), amount, "card", at)
        return 3

    def move_to_merchant(
        self, payer, merchant: Merchant, amount: int, method: str, at
    ) -> Redemption:
        day = self.ledger.day_of(at)
        record_id = uuid4()
        payer.debit(
            flow=Flow.REDEMPTION,
            amount=amount,
            counterparty=merchant.id,
            ref=record_id,
            at=at,
            day=day,
        )
        merchant.credit(
            flow=Flow.REDEMPTION,
            amount=amount,
            counterparty=payer.id,
            ref=record_id,
            at=at,
            day=day,
        )
        redemption = Redemption._create(
            Redemption.Made,
            id=record_id,
            timestamp=at,
            payer_id=str(payer.id),
            merchant_id=str(merchant.id),
            amount=amount,
            method=method,
            note=None,
            fingerprint=record_id.hex,
            day=day,
        )
        self.touch(redemption)
        self.touch(payer, merchant)
        self.recent.append(redemption)
        self.redemptions_per_period[day[:7]] += 1
        return redemption

    def refund(self, at: datetime) -> int:
        """A merchant gives back part of a recent redemption: 3 events."""
        if not self.recent:
            return 0
        redemption = self.recent.popleft()
        merchant = self.merchants[redemption.merchant_id]
        payer = self.volunteers.get(redemption.payer_id) or self.beneficiaries[redemption.payer_id]
        amount = self.rng.randint(1, redemption.unrefunded)
        day = self.ledger.day_of(at)
        try:
            merchant.debit(
                flow=Flow.REFUND,
                amount=amount,
                counterparty=payer.id,
                ref=redemption.id,
                at=at,
                day=day,
            )
        except InsufficientBalance:  # its beans went to a settlement meanwhile
            return 0
        payer.credit(
            flow=Flow.REFUND,
            amount=amount,
            counterparty=merchant.id,
            ref=redemption.id,
            at=at,
            day=day,
        )
        redemption.refund(str(uuid4()), amount, None, at)
        self.touch(redemption, merchant, payer)
        return 3

    def gift(self, at: datetime) -> int:
        """A volunteer gives beans to a beneficiary or to the pool: 3 events."""
        giver = self.volunteer()
        if giver.balance < 1:
            return 0
        to_pool = self.rng.random() < 0.4
        receiver = (
            self.pool if to_pool else self.beneficiaries[self.rng.choice(list(self.beneficiaries))]
        )
        amount = self.rng.randint(1, min(giver.balance, 10))
        record_id = uuid4()
        day = self.ledger.day_of(at)
        giver.debit(
            flow=Flow.GIFT, amount=amount, counterparty=receiver.id, ref=record_id, at=at, day=day
        )
        receiver.credit(
            flow=Flow.GIFT, amount=amount, counterparty=giver.id, ref=record_id, at=at, day=day
        )
        self.touch(
            Gift._create(
                Gift.Given,
                id=record_id,
                timestamp=at,
                from_id=str(giver.id),
                to_id=str(receiver.id),
                to_pool=to_pool,
                amount=amount,
                message=None,
            )
        )
        self.touch(giver, receiver)
        return 3

    def activity(self, at: datetime) -> int:
        """An activity: created, 10-40 check-ins, attendance confirmed, each attendee
        awarded (about 50 events)."""
        rng = self.rng
        beans = rng.choice((5, 10, 20))
        starts, ends = at - timedelta(hours=3), at - timedelta(minutes=30)
        activity = Activity._create(
            Activity.Created,
            timestamp=starts - timedelta(days=2),
            title="a bench clean-up",
            starts_at=starts,
            ends_at=ends,
            beans=beans,
            checkin_code=codes.new_checkin_code(),
            by=COORDINATOR.name,
        )
        day = self.ledger.day_of(at)
        attendees = []
        for volunteer_id in rng.sample(
            self.volunteer_ids, min(len(self.volunteer_ids), rng.randint(10, 40))
        ):
            volunteer = self.volunteers[volunteer_id]
            if volunteer.awarded_on(day) + beans <= self.rules.daily_award_cap:
                activity.check_in(
                    volunteer_id, activity.checkin_code, starts + timedelta(minutes=10)
                )
                attendees.append(volunteer)
        if not attendees:
            return 0
        activity.confirm(COORDINATOR.name, [str(v.id) for v in attendees], at)
        for volunteer in attendees:
            volunteer.credit(
                flow=Flow.AWARD,
                amount=beans,
                counterparty=ISSUANCE,
                ref=activity.id,
                at=at,
                day=day,
            )
        self.touch(activity)
        self.touch(*attendees)
        return 2 + 2 * len(attendees)

    def leaderboard(self, at: datetime) -> int:
        volunteer = self.volunteer()
        volunteer.choose_leaderboard(not volunteer.leaderboard_opt_in, at)
        self.touch(volunteer)
        return 1

    # --- what the books should say --------------------------------------------------------

    def balances(self) -> dict[str, int]:
        found = {str(k): v.balance for k, v in self.volunteers.items()}
        found |= {str(k): v.balance for k, v in self.merchants.items()}
        found |= {str(k): v.balance for k, v in self.beneficiaries.items()}
        if self.pool is not None and self.ledger.find(POOL_ID, Pool) is not None:
            found[str(self.pool.id)] = self.pool.balance
        return found


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


# --- measuring ---------------------------------------------------------------------------


def runner_for(store: Store, ledger: Ledger, batch_size: int):
    """The API's runner (``make_runner``: every projection) reading ``batch_size`` events
    per batch."""
    runner = make_runner(store, ledger)
    runner.batch_size = batch_size
    return runner


def raw_read(ledger: Ledger, batch: int, say) -> dict:
    """Read the whole log in batches and decode every state."""
    recorder, decode = ledger.recorder, ledger.mapper.transcoder.decode
    total = recorder.max_notification_id() or 0
    progress = Progress(say, "raw read", total)
    topics: Counter[str] = Counter()
    position, count = 0, 0
    began, cpu = time.perf_counter(), time.process_time()
    while True:
        notifications = recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            break
        for notification in notifications:
            decode(notification.state)
            topics[notification.topic] += 1
        count += len(notifications)
        position = notifications[-1].id
        progress.update(len(notifications))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    kinds = Counter()
    for topic, n in topics.items():
        kinds[topic.rpartition(":")[2]] += n
    return {
        "events": count,
        "seconds": seconds,
        "rate": count / seconds if seconds else 0.0,
        "cpu_seconds": cpu,
        "load": load_average(),
        "batch_size": batch,
        "by_event": dict(kinds.most_common()),
    }


def rebuild(store: Store, ledger: Ledger, batch: int, say) -> dict:
    runner = runner_for(store, ledger, batch)
    total = runner.head()
    progress = Progress(say, "rebuild", total)
    scans_before = sequential_scans(store)
    began, cpu = time.perf_counter(), time.process_time()
    count = runner.rebuild(progress=progress.update)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    scans_after = sequential_scans(store)
    scans = {
        name: {k: v - scans_before.get(name, {}).get(k, 0) for k, v in found.items()}
        for name, found in scans_after.items()
    }
    return {
        "tenths": progress.slices(),
        "sequential_scans": dict(sorted(scans.items(), key=lambda item: -item[1]["rows_read"])[:4]),
        "events": count,
        "seconds": seconds,
        "rate": count / seconds if seconds else 0.0,
        "cpu_seconds": cpu,
        "load": load_average(),
        "batch_size": batch,
        "positions": runner.positions(),
        "head": total,
        "projections": [p.name for p in runner.projections],
    }


def sequential_scans(store: Store) -> dict[str, dict[str, int]]:
    """PostgreSQL's count of sequential scans of each read table in the store's schema
    and the rows they read (empty on SQLite). Statistics reach the view within a second
    or so, hence the pause."""
    if store.dialect != "postgresql":
        return {}
    time.sleep(1.5)
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables "
            "WHERE schemaname = %(schema)s AND relname LIKE 'gb_proj%%'",
            {"schema": store.schema},
        ).all()
    return {name: {"scans": scans, "rows_read": rows_read} for name, scans, rows_read in rows}


def profile_rebuild(store: Store, ledger: Ledger, batch: int, events: int, path: Path) -> dict:
    """cProfile of rebuilding the first ``events`` events (tables emptied first); the
    top functions by cumulative and by own time go to ``path``."""
    runner = runner_for(store, ledger, batch)
    runner.reset()
    profiler = cProfile.Profile()
    count, began = 0, time.perf_counter()
    profiler.enable()
    while read := runner.run_batch(stop=events):
        count += read
    profiler.disable()
    seconds = time.perf_counter() - began
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    path.write_text(text.getvalue())
    return {"events": count, "seconds": seconds, "path": str(path.relative_to(ROOT))}


def check_books(store: Store, history: History) -> dict:
    """The rebuilt books against what the history wrote."""
    expected = history.balances()
    with store.read() as conn:
        found = dict(conn.execute(select(t.accounts.c.id, t.accounts.c.balance)).all())
        months = dict(conn.execute(select(t.months.c.period, t.months.c.redemptions)).all())
        entries = conn.execute(
            select(t.entries.c.position).order_by(t.entries.c.position.desc()).limit(1)
        ).scalar()
    wrong = [k for k, v in expected.items() if found.get(k) != v]
    wrong_months = [p for p, n in history.redemptions_per_period.items() if months.get(p, 0) != n]
    return {
        "accounts_checked": len(expected),
        "accounts_wrong": len(wrong),
        "accounts_wrong_examples": [
            {"id": k, "expected": expected[k], "found": found.get(k)} for k in wrong[:5]
        ],
        "months_checked": len(history.redemptions_per_period),
        "months_wrong": wrong_months,
        "last_entry_position": entries,
        "ok": not wrong and not wrong_months,
    }


def time_reports(store: Store, period: str, current: str, bean_value_fen: int, calls: int) -> dict:
    latencies = []
    report = None
    for number in range(calls + 5):  # the first 5 warm the pool and the caches
        if number == 5:
            cpu = time.process_time()
        began = time.perf_counter()
        with store.read() as conn:
            report = queries.fund_report(conn, period, bean_value_fen, current)
        latencies.append(time.perf_counter() - began)
    cpu = time.process_time() - cpu
    latencies = sorted(latencies[5:])
    return {
        "period": period,
        "calls": calls,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] * 1000,
        "cpu_ms": 1000 * cpu / calls,
        "found": report is not None,
        "redemptions": report["activity"]["redemptions"] if report else None,
        "active_volunteers": report["activity"]["active_volunteers"] if report else None,
    }


def time_http(url: str, ledger: Ledger, period: str) -> dict:
    """GET /api/v1/public/fund-reports/{period} through the Flask test client."""
    try:
        from api.app import create_app

        app = create_app({"database_url": url, "secret_key": secrets.token_hex(32)}, ledger=ledger)
    except Exception as error:  # the app may be mid-change in parallel work
        return {"status": None, "skipped": f"create_app failed: {error!r}"}
    path = f"/api/v1/public/fund-reports/{period}"
    try:
        client = app.test_client()
        began = time.perf_counter()
        first = client.get(path)
        first_ms = (time.perf_counter() - began) * 1000
        if first.status_code == 404:
            return {"path": path, "status": 404, "skipped": "the endpoint answers 404"}
        latencies = []
        for _ in range(HTTP_CALLS):
            began = time.perf_counter()
            answer = client.get(path)
            latencies.append(time.perf_counter() - began)
        latencies.sort()
        return {
            "path": path,
            "status": answer.status_code,
            "first_ms": first_ms,
            "calls": HTTP_CALLS,
            "p50_ms": percentile(latencies, 0.5),
            "max_ms": latencies[-1] * 1000,
        }
    finally:
        app.extensions["goldbean.store"].close()


def sweep(store: Store, ledger: Ledger, sizes: list[int], events: int, say) -> list[dict]:
    """Rebuild the first ``events`` events with each batch size (tables reset first)."""
    rows = []
    for size in sizes:
        runner = runner_for(store, ledger, size)
        began = time.perf_counter()
        runner.reset()
        reset = time.perf_counter() - began
        began, count = time.perf_counter(), 0
        while True:
            read = runner.run_batch(stop=events)
            if not read:
                break
            count += read
        seconds = time.perf_counter() - began
        rows.append(
            {
                "batch_size": size,
                "events": count,
                "seconds": seconds,
                "rate": count / seconds if seconds else 0.0,
                "reset_seconds": reset,
            }
        )
        say(
            f"  batch size {size:>6,}: {count:,} events at {rows[-1]['rate']:,.0f}/s "
            f"(reset took {reset:.1f} s)"
        )
    return rows


# --- one store ---------------------------------------------------------------------------


def bench_store(name: str, url: str, args, say) -> dict:
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    init_db(url)
    store = Store(url)
    store.create_tables()
    ledger = open_ledger(url, clock=clock)
    found: dict = {"store": name}
    try:
        say(f"[{name}] writing the history: about {args.events:,} events over {args.months} months")
        history = History(ledger, clock, args, say)
        found["history"] = history.run()
        h = found["history"]
        say(
            f"  {h['events']:,} events in {h['seconds']:.0f} s ({h['rate']:,.0f}/s; bulk "
            f"{h['bulk_rate']:,.0f}/s); {h['volunteers']:,} volunteers, {h['merchants']} "
            f"merchants, {h['beneficiaries']} beneficiaries"
        )
        say(f"[{name}] raw read, batches of {args.batch_size:,}")
        found["raw"] = raw_read(ledger, args.batch_size, say)
        raw = found["raw"]
        say(f"  {raw['events']:,} events in {raw['seconds']:.1f} s: {raw['rate']:,.0f}/s")
        say(f"[{name}] rebuild, batches of {args.batch_size:,}")
        found["rebuild"] = rebuild(store, ledger, args.batch_size, say)
        r = found["rebuild"]
        r["ratio"] = r["rate"] / found["raw"]["rate"] if found["raw"]["rate"] else 0.0
        say(
            f"  {r['events']:,} events in {r['seconds']:.1f} s: {r['rate']:,.0f}/s, "
            f"{r['ratio']:.2f} of raw"
        )
        say(f"[{name}] raw read again, to take the better of two (other load varies)")
        again = raw_read(ledger, args.batch_size, say)
        say(f"  {again['events']:,} events in {again['seconds']:.1f} s: {again['rate']:,.0f}/s")
        found["raw_reads"] = [found["raw"], again]
        found["raw"] = max(found["raw_reads"], key=lambda read: read["rate"])
        r["ratio"] = r["rate"] / found["raw"]["rate"] if found["raw"]["rate"] else 0.0
        say(f"  rebuild/raw: {r['ratio']:.2f}")
        found["check"] = check_books(store, history)
        c = found["check"]
        say(
            f"  books: {c['accounts_checked']:,} balances, {c['accounts_wrong']} wrong; "
            f"{c['months_checked']} months of redemptions, {len(c['months_wrong'])} wrong"
        )
        periods = h["periods"]
        middle, current = periods[len(periods) // 2], history.current_period
        bean = ledger.rules.bean_value_fen
        found["report"] = time_reports(store, middle, current, bean, args.report_calls)
        found["report_current"] = time_reports(store, current, current, bean, args.report_calls)
        for key in ("report", "report_current"):
            rep = found[key]
            say(
                f"  fund_report({rep['period']}): p50 {rep['p50_ms']:.2f} ms, p99 "
                f"{rep['p99_ms']:.2f} ms over {rep['calls']} calls"
            )
        found["http"] = time_http(url, ledger, middle)
        if found["http"].get("skipped"):
            say(f"  HTTP: skipped ({found['http']['skipped']})")
        else:
            http = found["http"]
            say(f"  HTTP GET {http['path']}: {http['status']}, p50 {http['p50_ms']:.1f} ms")
        if args.sweep:
            events = min(args.sweep_events, h["events"])
            say(f"[{name}] batch sizes over the first {events:,} events")
            found["sweep"] = sweep(store, ledger, args.sweep_sizes, events, say)
        if args.profile:
            events = min(args.sweep_events, h["events"])
            say(f"[{name}] cProfile of rebuilding the first {events:,} events")
            path = OUT / f"projection_bench_profile_{name.lower()}.txt"
            found["profile"] = profile_rebuild(store, ledger, args.batch_size, events, path)
            say(f"  written to {found['profile']['path']}")
    finally:
        ledger.close()
        store.close()
    return found


def bench_sqlite(args, say) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "projection_bench.sqlite3"
    for stale in OUT.glob("projection_bench.sqlite3*"):
        stale.unlink()
    try:
        return bench_store("SQLite", f"sqlite:///{path}", args, say)
    finally:
        for used in OUT.glob("projection_bench.sqlite3*"):
            used.unlink()


def autovacuum_fact(url: str) -> dict:
    """Whether autovacuum (and so autoanalyze) runs: without it the planner's statistics
    of tables filled by a rebuild stay those of empty tables."""
    import psycopg

    with psycopg.connect(pg_admin_url(url), autocommit=True, connect_timeout=5) as conn:
        return {"autovacuum": conn.execute("SHOW autovacuum").fetchone()[0]}


def bench_postgres(url: str, args, say) -> dict:
    import psycopg
    from psycopg import sql

    schema = f"projbench_{secrets.token_hex(4)}"
    admin = pg_admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    query = "&".join(q for q in [parts.query, f"schema={schema}"] if q)
    try:
        return bench_store("PostgreSQL", urlunsplit(parts._replace(query=query)), args, say)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# --- report ------------------------------------------------------------------------------


def render(stores: list[dict], facts: dict, args, command: str) -> str:
    pg = facts["postgresql"]
    lines = [
        f"## Projections: rebuild and report at {args.events:,} events "
        f"({'quick' if args.quick else 'full' if args.events == 1_000_000 else 'custom'} "
        f"run, {facts['date']})",
        "",
        f"Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gib']} GiB, "
        f"{facts['os']}; Python {facts['python']}, eventsourcing {facts['eventsourcing']}, "
        f"psycopg {facts['psycopg']}, SQLite {facts['sqlite']}"
        + (
            f", PostgreSQL {pg['server_version']} (fsync={pg['fsync']}, synchronous_commit="
            f"{pg['synchronous_commit']}, shared_buffers={pg['shared_buffers']}, "
            f"autovacuum={pg.get('autovacuum', '?')})"
            if pg
            else ""
        )
        + f". Load average (1 min) at start/end: {facts['load_start']} / {facts['load_end']}. "
        f"Command: `{command}`.",
        "",
        "| store | events | history written | raw read /s | rebuild /s | rebuild/raw "
        "| report p50 / p99 ms (middle month) | report p50 / p99 ms (current month) "
        "| HTTP GET p50 ms | books check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in stores:
        h, raw, r, rep, cur = s["history"], s["raw"], s["rebuild"], s["report"], s["report_current"]
        http = s.get("http", {})
        http_text = (
            f"{http['p50_ms']:.1f}"
            if "p50_ms" in http
            else "n/a (404)"
            if http.get("status") == 404
            else "n/a (app did not start)"
        )
        check = s["check"]
        ratio = r["ratio"]
        lines.append(
            f"| {s['store']} | {h['events']:,} | {h['seconds']:.0f} s ({h['rate']:,.0f}/s) "
            f"| {raw['rate']:,.0f} | {r['rate']:,.0f} "
            f"| {'**' if ratio < RATIO_AIM else ''}{ratio:.2f}{'**' if ratio < RATIO_AIM else ''} "
            f"| {rep['p50_ms']:.1f} / {rep['p99_ms']:.1f} ({rep['period']}) "
            f"| {cur['p50_ms']:.1f} / {cur['p99_ms']:.1f} ({cur['period']}) | {http_text} "
            f"| {'ok' if check['ok'] else 'MISMATCH'} ({check['accounts_checked']:,} balances, "
            f"{check['months_checked']} months) |"
        )
    cpu = []
    for s in stores:
        raw, r = s["raw"], s["rebuild"]
        raw_us = 1e6 * raw["cpu_seconds"] / max(raw["events"], 1)
        rebuild_us = 1e6 * r["cpu_seconds"] / max(r["events"], 1)
        cpu.append(
            f"{s['store']} raw {raw_us:.1f} µs, rebuild {rebuild_us:.1f} µs "
            f"(ratio {raw_us / rebuild_us if rebuild_us else 0:.2f}), one fund report "
            f"{s['report']['cpu_ms']:.2f} ms"
        )
    verdicts = []
    for s in stores:
        ratio, p99 = s["rebuild"]["ratio"], s["report"]["p99_ms"]
        verdicts.append(
            f"{s['store']}: rebuild/raw {ratio:.2f} (aim {RATIO_AIM}: "
            f"{'met' if ratio >= RATIO_AIM else '**not met**'}), report p99 {p99:.1f} ms "
            f"(aim under {REPORT_AIM_MS:g} ms: {'met' if p99 < REPORT_AIM_MS else '**not met**'})"
        )
    lines += [
        "",
        "; ".join(verdicts) + ".",
        "",
        "This process's CPU time per event and per report (less sensitive to other work on "
        "the machine than the rates and latencies; on PostgreSQL the server's own CPU is "
        "not in it): " + "; ".join(cpu) + ".",
    ]
    for s in stores:
        r = s["rebuild"]
        tenths = r.get("tenths") or [] if r["events"] >= 10 * r["batch_size"] else []
        if len(tenths) >= 5:
            lines += [
                "",
                f"{s['store']} rebuild rate in each tenth of the log, first to last: "
                + ", ".join(f"{rate:,.0f}" for rate in tenths)
                + " events/s.",
            ]
        scans = {
            name: found
            for name, found in (s["rebuild"].get("sequential_scans") or {}).items()
            if found["rows_read"]
        }
        if scans:
            if len(tenths) < 5:
                lines += ["", f"{s['store']}:"]
            lines[-1] += (
                " Sequential scans of read tables during the rebuild (PostgreSQL's "
                "`pg_stat_user_tables`): "
                + ", ".join(
                    f"`{name}` {found['scans']:,} scans reading {found['rows_read']:,} rows"
                    for name, found in scans.items()
                )
                + "."
            )
    first = stores[0]
    h = first["history"]
    projections = ", ".join(f"`{name}`" for name in first["rebuild"]["projections"])
    kinds = first["raw"]["by_event"]
    total = sum(kinds.values()) or 1
    mix = ", ".join(f"{k} {100 * n / total:.1f}%" for k, n in list(kinds.items())[:12])
    lines += [
        "",
        f"Batch size {args.batch_size:,} for both the raw read and the rebuild "
        f"(`make_runner(store, ledger)` with `batch_size = {args.batch_size}`; the runner's "
        f"default is 2,000). "
        f"Raw read = `recorder.select_notifications(start, limit, inclusive_of_start=False)` "
        f"plus `transcoder.decode(state)` of every event, nothing written: the ceiling "
        f"(read twice, before and after the rebuild; the faster read counts). "
        f"Rebuild = `Runner.rebuild()` of {projections} from empty tables (aim: at "
        f"least {RATIO_AIM} of raw). Report = `queries.fund_report(conn, period, 100, "
        f"current)` in its own `store.read()` transaction, {args.report_calls} calls after 5 "
        f"warm-up calls (aim: under {REPORT_AIM_MS:g} ms); HTTP = "
        f"`GET /api/v1/public/fund-reports/<middle month>` through Flask's test client "
        f"({HTTP_CALLS} calls after one warm-up; n/a when it answers 404 or the app does "
        f"not start). Books check: every "
        f"account's rebuilt balance and every month's redemption count equal what the "
        f"history wrote.",
        "",
        f"The history: {h['volunteers']:,} volunteers (half from the first month, the rest "
        f"joining month by month), {h['merchants']} merchants, {h['beneficiaries']} "
        f"beneficiaries, {len(h['periods'])} months ({h['periods'][0]} to {h['periods'][-1]}). "
        f"Bulk movements are written at the aggregate level ({CHUNK_EVENTS:,} events per save) "
        f"with the events the commands record; each month also runs the real commands "
        f"(volunteers opened, allotments, 2-5 donations, 10 incidents verified, last month's "
        f"settlement prepared, approved and paid). Events by kind: {mix}.",
    ]
    sweeps = [s for s in stores if s.get("sweep")]
    if sweeps:
        sizes = [row["batch_size"] for row in sweeps[0]["sweep"]]
        lines += [
            "",
            f"Rebuild rate by batch size, over the first "
            f"{sweeps[0]['sweep'][0]['events']:,} events of the same log, each after the "
            f"runner's `reset()` (a DELETE of every read table; on PostgreSQL without "
            f"autovacuum the deleted rows stay until a VACUUM):",
            "",
            "| store | " + " | ".join(f"batch {n:,} /s" for n in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
        ]
        for s in sweeps:
            lines.append(
                f"| {s['store']} | "
                + " | ".join(f"{row['rate']:,.0f}" for row in s["sweep"])
                + " |"
            )
    profiled = [s for s in stores if s.get("profile")]
    if profiled:
        lines += [
            "",
            "cProfile of a separate rebuild of the first "
            f"{profiled[0]['profile']['events']:,} events: "
            + ", ".join(f"`{s['profile']['path']}`" for s in profiled)
            + " (not kept in git).",
        ]
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events per store")
    parser.add_argument("--events", type=int, help="events per store (default 1,000,000)")
    parser.add_argument("--months", type=int, default=12, help="months of history")
    parser.add_argument("--batch-size", type=int, default=5_000, help="raw read and rebuild")
    parser.add_argument("--report-calls", type=int, default=200)
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip batch sizes")
    parser.add_argument("--sweep-sizes", default="2000,5000,10000")
    parser.add_argument("--sweep-events", type=int, help="events rebuilt per batch size")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile a separate partial rebuild"
    )
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    args.events = args.events or (100_000 if args.quick else 1_000_000)
    args.sweep_sizes = [int(n) for n in args.sweep_sizes.split(",")]
    args.sweep_events = args.sweep_events or min(100_000, args.events // 2)
    url = os.environ.get("GOLDBEAN_BENCH_POSTGRES_URL", DEFAULT_PG_URL)
    command = " ".join(
        ["python bench/projection_bench.py", *(argv if argv is not None else sys.argv[1:])]
    )

    def say(message: str) -> None:
        print(message, flush=True)

    began, load_start = time.monotonic(), load_average()
    stores = [bench_sqlite(args, say)]
    pg = None
    if not args.sqlite_only:
        try:
            pg = postgres_facts(url) | autovacuum_fact(url)
        except Exception as error:  # no server: SQLite figures only
            say(f"[PostgreSQL] not usable at {url}: {error}; skipped")
        if pg:
            stores.append(bench_postgres(url, args, say))
    facts = machine_facts(pg, load_start)
    section = render(stores, facts, args, command)
    print()
    print(section)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "projection_bench.json").write_text(
        json.dumps(
            {"facts": facts, "command": command, "args": vars(args), "stores": stores},
            indent=2,
            default=str,
        )
    )
    if not args.no_doc:
        write_doc(section, START, END)
        print(f"wrote {DOC.relative_to(ROOT)}")
    print(f"took {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
