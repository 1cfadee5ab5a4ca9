"""A demo community with three months of believable history (``goldbean demo``).

:func:`build_demo` drives the ledger through its public commands only, as the staff, the
volunteers, the beneficiaries and the merchants' tills would: accounts and cards,
incidents (verified, rejected, duplicates, resolved by handlers, urgent ones), activities
with check-ins, payments by payment code, counter code and card (some cards with a PIN),
refunds, gifts, the gift pool, monthly allotments, a correction, cash donations and
monthly settlements (prepared by ``fund-officer-1``, approved by ``fund-officer-2``, every
line paid). Time is a :class:`~ledger.clock.FakeClock` that the builder walks forward,
so every event carries the moment it would have happened; :func:`demo_clock` gives one
that starts :data:`DEMO_DAYS` days before now, so the history ends now.

The builder keeps the programme's rules itself (daily award cap, beneficiary limits and
shops, per-transaction maximum, balances) by checking before each command; a command
the ledger still refuses is logged as a warning and counted in the summary.

:mod:`api.demo_summary` describes the result.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from api.demo_summary import DemoSummary, summarize, yuan
from ledger.application import Ledger
from ledger.clock import FakeClock
from ledger.errors import LedgerError
from ledger.views import Actor

log = logging.getLogger(__name__)

DEMO_DAYS = 95
VOLUNTEERS, FOUNDING_VOLUNTEERS, BENEFICIARIES = 40, 24, 15

COORDINATORS = (Actor("coordinator-zhang"), Actor("coordinator-li"))
PREPARER, APPROVER = Actor("fund-officer-1"), Actor("fund-officer-2")

# fmt: off
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
GIVEN_NAMES = (
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 "
    "玉兰 建国 志强 海燕 丹 萍 鑫 斌 宇 浩 凯 欣怡 子涵 梓萱 思远 晨 雪 琳 婷 颖 博 俊 帆"
).split()
ELDERS = "赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕"

MERCHANTS = (  # name, category, rebate_bps (None: the programme's default)
    ("金沙便民超市", "grocery", None), ("惠民生鲜果蔬", "produce", None),
    ("社区长者食堂", "canteen", 0),  # a social enterprise that waives its rebate
    ("老王过桥米线", "restaurant", None), ("金沙大药房", "pharmacy", None),
    ("邻里理发店", "services", None), ("好邻居便利店", "grocery", None),
    ("李记蔬菜摊", "produce", None), ("阳光饺子馆", "restaurant", None),
    ("康泰药店", "pharmacy", None), ("便民洗衣店", "services", None),
    ("金沙书报亭", "other", None),
)
SPEND_WEIGHT = {"grocery": 3, "produce": 2, "canteen": 1, "restaurant": 3, "pharmacy": 1,
                "services": 1, "other": 1}

LOCATIONS = ("金沙小区3栋", "金沙路与北京路交叉口", "社区菜市场东门", "金沙公园",
             "7号楼地下车库", "社区卫生服务站旁", "金沙小学门口", "12栋2单元楼道", "滨河步道",
             "老年活动中心")
REPORTS = {  # category: (share of reports, what volunteers report)
    "sanitation": (33, ("垃圾未分类堆放", "绿化带有大量白色垃圾", "下水道堵塞有异味",
                        "楼道小广告乱贴")),
    "resident_need": (25, ("独居老人需要帮忙买药", "行动不便老人需要陪同就医",
                           "老人家中水管漏水需要维修", "老人想学用手机视频通话")),
    "dispute": (14, ("邻里因装修噪音发生争执", "楼上漏水引起邻里纠纷", "停车位占用纠纷",
                     "宠物扰民引发矛盾")),
    "public_security": (11, ("单元门门禁损坏，陌生人随意进出", "路灯不亮，夜间行人有安全隐患",
                             "发现可疑人员挨家推销", "井盖松动")),
    "other": (11, ("建议在公园增加休息座椅", "共享单车乱停放堵塞通道", "流浪猫受伤需要救助",
                   "宣传栏信息过期")),
    "fire": (6, ("楼道堆放杂物，存在火灾隐患", "电动车在楼道内充电",
                 "垃圾桶冒烟起火，已用灭火器扑灭", "消防通道被车辆堵塞")),
}
NEEDS_HANDLERS = {"fire", "public_security", "dispute", "resident_need"}
REJECT_REASONS = ("现场核实未发现所述问题", "信息不完整，无法核实",
                  "不属于社区事务，已转交物业处理")
ACTIVITIES = (("河道清洁志愿行动", 15), ("社区消防演练", 10), ("敬老院陪伴日", 12),
              ("垃圾分类宣传", 8), ("防诈骗宣传进社区", 8), ("义务理发服务", 10),
              ("社区花园整理", 10), ("周末义诊协助", 12))
GIFT_MESSAGES = ("祝奶奶身体健康", "一点心意", "买点新鲜水果", "天冷了，多保重", None)
COMPANIES = ("昆明金沙商贸有限公司", "云南滇池物业服务有限公司", "金沙社区商会",
             "春城爱心车队", "滇味食品有限公司")
RESIDENTS = ("张先生", "李女士", "王建国", "陈阿姨", "刘志强", "杨女士", "周老师")
# fmt: on


def demo_clock(now: datetime | None = None, days: int = DEMO_DAYS) -> FakeClock:
    """A clock at ``days`` days before ``now`` (default: the real now), for build_demo."""
    return FakeClock((now or datetime.now(UTC)) - timedelta(days=days))


def build_demo(
    ledger: Ledger,
    clock: FakeClock,
    *,
    seed: int = 2026,
    days: int = DEMO_DAYS,
    progress: Callable[[str], object] = print,
) -> DemoSummary:
    """Fill ``ledger`` (whose clock is ``clock``) with ``days`` days of community life
    starting at the clock's time, and leave the clock at the end. Deterministic for a
    seed, except the random account numbers and codes the ledger draws itself."""
    builder = _Builder(ledger, clock, random.Random(seed), progress, days)
    builder.run()
    return summarize(ledger, refused=builder.refused)


class _Builder:
    """Walks the clock through the demo's days; every action runs at its own moment."""

    def __init__(self, ledger: Ledger, clock: FakeClock, rng: random.Random, progress, days: int):
        self.L, self.clock, self.rng, self.progress = ledger, clock, rng, progress
        self.tz = ZoneInfo(ledger.rules.time_zone)
        self.start, self.end = clock.now(), clock.now() + timedelta(days=days)
        self.first_date = self.start.astimezone(self.tz).date()
        self.month = ledger.calendar.period(self.start)
        self.queue: list = []  # heap of (when, sequence, action)
        self.sequence = itertools.count()
        self.keys, self.receipts = itertools.count(1), itertools.count(1)
        self.refused = 0
        self.stats: Counter[str] = Counter()  # this month's numbers, for the progress line
        self.volunteers: list[str] = []
        self.weight: dict[str, float] = {}  # how active each volunteer is
        self.names: dict[str, str] = {}
        self.cards: dict[str, tuple[str, str | None]] = {}  # beneficiary -> (card code, PIN)
        self.merchants: list[tuple[str, str, str]] = []  # (id, category, counter code)
        self.awarded: Counter[tuple[str, str]] = Counter()  # (volunteer, day) -> beans
        self.spent: Counter[tuple[str, str]] = Counter()  # (beneficiary, day) -> beans
        self.recent: dict[str, list[tuple[datetime, str, str, str]]] = defaultdict(list)
        self.redeemed_at: list[datetime] = []
        self.settled_to = self.start
        self.correction_done = False

    # --- the clock and the schedule ----------------------------------------------------

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """The UTC moment of ``hour:minute`` local time on the demo's ``day``."""
        local = datetime.combine(self.first_date + timedelta(days=day), time(hour, minute), self.tz)
        return local.astimezone(UTC)

    def schedule(self, when: datetime, action: Callable[[], object]) -> None:
        if when <= self.end:  # what would happen after "now" does not happen
            heapq.heappush(self.queue, (when, next(self.sequence), action))

    def later(self, when: datetime, what: str, command: Callable, *args, **kwargs) -> None:
        self.schedule(when, lambda: self.do(what, command, *args, **kwargs))

    def run(self) -> None:
        self.setup()
        self.schedule(self.at(1, 6), lambda: self.plan_day(1))
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            if when > self.clock.now():
                self.clock.set(when)
            action()
        self.clock.set(max(self.clock.now(), self.end))
        self.report_month()

    def do(self, what: str, command: Callable, *args, **kwargs):
        """Run one ledger command; a refusal is logged and counted, never hidden."""
        try:
            return command(*args, **kwargs)
        except LedgerError as error:
            self.refused += 1
            log.warning("demo: %s was refused (%s): %s", what, type(error).__name__, error)
            return None

    def key(self) -> str:
        return f"demo-{next(self.keys)}"

    def day(self) -> str:
        return self.L.calendar.day(self.clock.now())

    def coordinator(self) -> Actor:
        return self.rng.choice(COORDINATORS)

    # --- day 0 ---------------------------------------------------------------------------

    def setup(self) -> None:
        for name, category, bps in MERCHANTS:
            m = self.do("registering a merchant", self.L.register_merchant, name, category, bps)
            if m:
                self.merchants.append((m.id, m.category, m.merchant_code))
        for _ in range(FOUNDING_VOLUNTEERS):
            self.join()
        for day in sorted(self.rng.sample(range(2, 65), VOLUNTEERS - FOUNDING_VOLUNTEERS)):
            self.schedule(self.at(day, self.rng.randint(9, 20), self.rng.randint(0, 59)), self.join)
        with_pin = set(self.rng.sample(range(BENEFICIARIES), 5))
        for n, surname in enumerate(self.rng.sample(ELDERS, BENEFICIARIES)):
            name = surname + self.rng.choice(("奶奶", "爷爷"))
            b = self.do("opening a beneficiary", self.L.open_beneficiary, name)
            if b:
                self.issue_card(b.id, f"{self.rng.randint(0, 9999):04d}" if n in with_pin else None)
        self.donate(company=True, amount_fen=1_000_000)
        self.do("granting allotments", self.L.grant_allotments, self.month, self.coordinator())
        self.progress(
            f"{self.day()}: {len(self.merchants)} merchants, {len(self.volunteers)} "
            f"volunteers, {len(self.cards)} beneficiaries with cards"
        )

    def join(self) -> None:
        name = ""
        while not name or name in self.names.values():
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)
        v = self.do("opening a volunteer", self.L.open_volunteer, name)
        if v:
            self.volunteers.append(v.id)
            self.names[v.id] = name
            self.weight[v.id] = min(8.0, self.rng.paretovariate(1.6))  # a few are very active
            if self.rng.random() < 0.6:
                self.do("choosing the leaderboard", self.L.set_leaderboard_opt_in, v.id, True)

    def issue_card(self, beneficiary: str, pin: str | None) -> None:
        by = self.coordinator()
        card = self.do("issuing a card", self.L.issue_card, beneficiary, by, pin=pin)
        if card:
            self.cards[beneficiary] = (card.card_code, pin)

    # --- every day -----------------------------------------------------------------------

    def plan_day(self, day: int) -> None:
        rng, today = self.rng, self.first_date + timedelta(days=day)
        period = today.strftime("%Y-%m")
        if period != self.month:
            self.report_month()
            self.month = period

        def sometime(first_hour: int, last_hour: int) -> datetime:
            return self.at(day, rng.randint(first_hour, last_hour), rng.randint(0, 59))

        if today.day == 1:
            self.later(
                self.at(day, 9),
                "granting allotments",
                self.L.grant_allotments,
                period,
                self.coordinator(),
            )
        if today.day == 3:
            self.schedule(self.at(day, 10), lambda: self.settle(day))
        if today.day in (15, 28):
            self.schedule(self.at(day, 16), self.allocate_pool)
        if today.day == 2 or rng.random() < 0.08:
            company = rng.random() < 0.25
            self.schedule(sometime(9, 17), lambda: self.donate(company=company))
        if day == 40:  # someone loses a card; the new one revokes it
            b = rng.choice(list(self.cards))
            self.schedule(sometime(10, 11), lambda: self.issue_card(b, self.cards[b][1]))
        if today.weekday() in (2, 5) and self.at(day + 4, 0) < self.end:
            self.schedule(sometime(9, 11), lambda: self.plan_activity(day + 3))
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 5))):
            self.schedule(sometime(7, 21), self.report_incident)
        for v in self.volunteers:
            if rng.random() < 0.04 + 0.015 * self.weight[v]:
                self.schedule(sometime(8, 21), partial(self.shop, v))
            if rng.random() < 0.015:
                self.schedule(sometime(8, 21), partial(self.give, v))
        for b in self.cards:
            if rng.random() < 0.16:
                self.schedule(sometime(8, 18), partial(self.shop_with_card, b))
        self.schedule(self.at(day + 1, 6), lambda: self.plan_day(day + 1))

    def report_month(self) -> None:
        s = self.stats
        self.progress(
            f"{self.month}: {s['incidents']} incidents ({s['verified']} verified, "
            f"{s['resolved']} resolved), {s['activities']} activities, {s['redemptions']} "
            f"redemptions, {s['refunds']} refunds, {s['gifts']} gifts, {s['donations']} donations"
        )
        self.stats.clear()

    # --- incidents -----------------------------------------------------------------------

    def pick_volunteer(self, *exclude: str) -> str:
        candidates = [v for v in self.volunteers if v not in exclude]
        return self.rng.choices(candidates, [self.weight[v] for v in candidates])[0]

    def report_incident(self) -> None:
        rng, now = self.rng, self.clock.now()
        reporter = self.pick_volunteer()
        category = rng.choices(list(REPORTS), [share for share, _ in REPORTS.values()])[0]
        recent = [
            r for r in self.recent[category] if now - r[0] < timedelta(hours=6) and r[3] != reporter
        ]
        duplicate_of, location = None, rng.choice(LOCATIONS)
        if recent and rng.random() < 0.5:  # someone else reports the same thing again
            _, duplicate_of, description, _ = rng.choice(recent)
        else:
            description = rng.choice(REPORTS[category][1])
        urgent = category == "fire" or (category == "public_security" and rng.random() < 0.4)
        incident = self.do(
            "reporting an incident",
            self.L.submit_incident,
            reporter,
            category,
            description,
            location=location,
            urgent=urgent,
        )
        if incident is None:
            return
        self.stats["incidents"] += 1
        self.recent[category] = recent + [(now, incident.id, description, reporter)]
        hours = rng.uniform(1, 80 if rng.random() < 0.15 else 30)  # some wait for days
        when = now + (timedelta(minutes=rng.randint(5, 50)) if urgent else timedelta(hours=hours))
        if duplicate_of:
            self.later(
                when,
                "marking a duplicate",
                self.L.mark_duplicate,
                incident.id,
                self.coordinator(),
                duplicate_of,
            )
        elif rng.random() < 0.07:
            self.later(
                when,
                "rejecting an incident",
                self.L.reject_incident,
                incident.id,
                self.coordinator(),
                rng.choice(REJECT_REASONS),
            )
        else:
            self.schedule(when, lambda: self.verify(incident.id, reporter, category, urgent))

    def room_for_award(self, volunteer: str) -> int:
        """What the daily award cap still allows ``volunteer`` today."""
        return max(0, self.L.rules.daily_award_cap - self.awarded[(volunteer, self.day())])

    def verify(self, incident_id: str, reporter: str, category: str, urgent: bool) -> None:
        rng, usual = self.rng, self.L.rules.incident_awards[category]
        award = usual
        mistake = (
            category == "sanitation"
            and not self.correction_done
            and self.clock.now() > self.at(30, 0)
        )
        if mistake:
            award = 20  # a slip of the coordinator's finger, corrected the next day
        elif urgent and rng.random() < 0.3:
            award = 2 * usual  # coordinators may set another award, 0..100
        if award > self.room_for_award(reporter):
            log.info("demo: %s is near the daily award cap", self.names[reporter])
            award = self.room_for_award(reporter)
        if not self.do(
            "verifying an incident",
            self.L.verify_incident,
            incident_id,
            self.coordinator(),
            award=award,
        ):
            return
        self.awarded[(reporter, self.day())] += award
        self.stats["verified"] += 1
        now = self.clock.now()
        if mistake and award > usual:
            self.correction_done = True
            self.schedule(
                now + timedelta(hours=rng.uniform(16, 26)),
                lambda: self.correct(reporter, award - usual, incident_id),
            )
        if category in NEEDS_HANDLERS or rng.random() < 0.3:
            handlers = list(
                dict.fromkeys(self.pick_volunteer(reporter) for _ in range(rng.randint(1, 3)))
            )
            assigned = now + timedelta(minutes=rng.randint(5, 20 if urgent else 120))
            self.later(
                assigned,
                "assigning handlers",
                self.L.assign_handlers,
                incident_id,
                self.coordinator(),
                handlers,
            )
            hours = rng.uniform(1, 6) if urgent else rng.uniform(3, 72)
            self.schedule(
                assigned + timedelta(hours=hours), lambda: self.resolve(incident_id, handlers)
            )

    def resolve(self, incident_id: str, handlers: list[str]) -> None:
        award = min([self.L.rules.handler_award] + [self.room_for_award(h) for h in handlers])
        if self.do(
            "resolving an incident",
            self.L.resolve_incident,
            incident_id,
            self.coordinator(),
            award_per_handler=award,
        ):
            for h in handlers:
                self.awarded[(h, self.day())] += award
            self.stats["resolved"] += 1

    def correct(self, volunteer: str, beans: int, incident_id: str) -> None:
        beans = min(beans, self.L.get_balance(volunteer))  # never more than the balance
        if beans <= 0:
            log.warning("demo: no correction, %s has spent the beans", self.names[volunteer])
            return
        self.do(
            "correcting an award",
            self.L.correct,
            volunteer,
            beans,
            "核实时奖励误录为20豆，应为2豆",
            self.coordinator(),
            corrects=incident_id,
            key=self.key(),
        )

    # --- activities ----------------------------------------------------------------------

    def plan_activity(self, day: int) -> None:
        title, beans = self.rng.choice(ACTIVITIES)
        starts = self.at(day, self.rng.choice((9, 14, 15)))
        ends = starts + timedelta(hours=self.rng.choice((2, 3)))
        activity = self.do(
            "creating an activity",
            self.L.create_activity,
            title,
            starts,
            ends,
            beans,
            by=self.coordinator(),
        )
        if activity is None:
            return
        self.stats["activities"] += 1
        crowd = min(len(self.volunteers), self.rng.randint(8, 20))
        attendees = list(dict.fromkeys(self.pick_volunteer() for _ in range(2 * crowd)))[:crowd]
        for v in attendees:
            self.later(
                starts + timedelta(minutes=self.rng.randint(0, 40)),
                "checking in",
                self.L.check_in,
                activity.id,
                v,
                activity.checkin_code,
            )
        self.schedule(ends + timedelta(minutes=30), lambda: self.confirm(activity.id, beans))

    def confirm(self, activity_id: str, beans: int) -> None:
        checked_in = self.L.get_activity(activity_id).checked_in
        within = [v for v in checked_in if self.room_for_award(v) >= beans]
        for v in checked_in:
            if v not in within:
                log.info("demo: %s is at the daily award cap; not confirmed", self.names[v])
        confirmed = self.do(
            "confirming attendance",
            self.L.confirm_attendance,
            activity_id,
            self.coordinator(),
            account_ids=within,
        )
        for v in confirmed.account_ids if confirmed else ():
            self.awarded[(v, self.day())] += beans

    # --- spending --------------------------------------------------------------------------

    def pick_merchant(self, categories: tuple[str, ...] | None = None) -> tuple[str, str, str]:
        shops = [m for m in self.merchants if categories is None or m[1] in categories]
        return self.rng.choices(shops, [SPEND_WEIGHT[m[1]] for m in shops])[0]

    def shop(self, volunteer: str) -> None:
        rng, balance = self.rng, self.L.get_balance(volunteer)
        if balance < 15:
            return
        amount = rng.randint(5, min(balance, 90, self.L.rules.max_redemption))
        merchant_id, _, counter_code = self.pick_merchant()
        if rng.random() < 0.7:  # the volunteer shows a payment code and the till scans it
            issued = self.do("issuing a payment code", self.L.issue_payment_code, volunteer)
            self.clock.advance(seconds=rng.randint(4, 25))
            redemption = issued and self.do(
                "redeeming a payment code",
                self.L.redeem,
                merchant_id,
                issued.code,
                amount,
                key=self.key(),
            )
        else:  # the volunteer scans the shop's counter code
            redemption = self.do(
                "paying by counter code",
                self.L.pay_merchant,
                volunteer,
                counter_code,
                amount,
                key=self.key(),
            )
        if redemption:
            self.redeemed(redemption.id, merchant_id, refund_chance=0.03)

    def shop_with_card(self, beneficiary: str) -> None:
        rules = self.L.rules
        room = min(
            self.L.get_balance(beneficiary),
            rules.max_redemption,
            rules.beneficiary_daily_limit - self.spent[(beneficiary, self.day())],
        )
        merchant_id, category, _ = self.pick_merchant(rules.beneficiary_categories)
        meal = category == "canteen"
        amount = min(room, self.rng.randint(8, 15) if meal else self.rng.randint(5, 45))
        if amount < 5:
            return
        card_code, pin = self.cards[beneficiary]
        redemption = self.do(
            "redeeming a card",
            self.L.redeem,
            merchant_id,
            card_code,
            amount,
            pin=pin,
            key=self.key(),
        )
        if redemption:
            self.spent[(beneficiary, self.day())] += amount
            self.redeemed(redemption.id, merchant_id, refund_chance=0.02)

    def redeemed(self, redemption_id: str, merchant_id: str, refund_chance: float) -> None:
        self.stats["redemptions"] += 1
        self.redeemed_at.append(self.clock.now())
        if self.rng.random() < refund_chance:  # an item goes back later that day
            self.schedule(
                self.clock.now() + timedelta(minutes=self.rng.randint(10, 600)),
                lambda: self.refund(redemption_id, merchant_id),
            )

    def refund(self, redemption_id: str, merchant_id: str) -> None:
        redemption = self.L.get_redemption(redemption_id)
        left = redemption.amount - redemption.refunded
        amount = left if self.rng.random() < 0.5 else min(left, max(1, redemption.amount // 3))
        window = timedelta(days=self.L.rules.refund_window_days)
        if amount <= 0 or self.clock.now() - redemption.at > window:
            return
        if amount > self.L.get_merchant(merchant_id).unsettled_beans:
            log.info("demo: no refund, the merchant's beans are already settled")
            return
        if self.do("refunding", self.L.refund, redemption_id, merchant_id, amount, key=self.key()):
            self.stats["refunds"] += 1

    # --- giving ------------------------------------------------------------------------------

    def give(self, volunteer: str) -> None:
        balance = self.L.get_balance(volunteer)
        if balance < 20:
            return
        amount = self.rng.randint(5, min(30, balance))
        to = "pool" if self.rng.random() < 0.4 else self.rng.choice(list(self.cards))
        if self.do(
            "giving beans",
            self.L.give,
            volunteer,
            to,
            amount,
            message=self.rng.choice(GIFT_MESSAGES),
            key=self.key(),
        ):
            self.stats["gifts"] += 1

    def allocate_pool(self) -> None:
        """Share the pool among the three beneficiaries holding the fewest beans."""
        needy = sorted(self.cards, key=self.L.get_balance)[:3]
        share = self.L.get_pool_balance() // max(1, len(needy))
        if share >= 5:
            for b in needy:
                self.do(
                    "allocating from the pool",
                    self.L.allocate_pool,
                    b,
                    share,
                    self.coordinator(),
                    key=self.key(),
                )

    # --- the fund ----------------------------------------------------------------------------

    def donate(self, *, company: bool, amount_fen: int | None = None) -> None:
        rng = self.rng
        anonymous = not company and rng.random() < 0.35
        donor = None if anonymous else rng.choice(COMPANIES if company else RESIDENTS)
        amount = amount_fen or rng.choice(
            (100_000, 200_000, 300_000) if company else (5_000, 10_000, 20_000, 50_000)
        )
        today = date.fromisoformat(self.day())
        received = max(today - timedelta(days=rng.randint(0, 2)), self.first_date)
        if self.do(
            "recording a donation",
            self.L.record_donation,
            donor=donor,
            anonymous=anonymous,
            amount_fen=amount,
            received_on=received,
            receipt_no=f"JS{today:%Y}-{next(self.receipts):04d}",
            by=PREPARER,
        ):
            self.stats["donations"] += 1

    def settle(self, day: int) -> None:
        """Settle last month: prepared today, approved by the other officer tomorrow,
        every line paid the day after."""
        cutoff = self.L.calendar.start_of_month_containing(self.clock.now())
        if not any(self.settled_to <= t < cutoff for t in self.redeemed_at):
            log.info("demo: nothing was redeemed before %s", cutoff.date())
            return
        self.settled_to = cutoff
        settlement = self.do(
            "preparing a settlement", self.L.prepare_settlement, PREPARER, key=self.key()
        )
        if settlement:
            self.later(
                self.at(day + 1, 15),
                "approving a settlement",
                self.L.approve_settlement,
                settlement.id,
                APPROVER,
            )
            self.schedule(self.at(day + 2, 10), lambda: self.pay(settlement.id))

    def pay(self, settlement_id: str) -> None:
        settlement = self.L.get_settlement(settlement_id)
        paid = 0
        for n, line in enumerate(settlement.lines, start=1):
            owed = line.cash_fen + line.rebate_fen
            if owed > self.L.get_fund().balance_fen:
                log.warning("demo: the fund cannot pay merchant %s yet", line.merchant_id)
                continue
            ref = f"FT{self.clock.now().astimezone(self.tz):%Y%m%d}{n:03d}"
            if self.do(
                "paying a settlement line",
                self.L.pay_settlement_line,
                settlement_id,
                line.merchant_id,
                ref,
                PREPARER,
            ):
                paid += owed
        self.progress(
            f"{self.day()}: settlement for {settlement.period} paid to "
            f"{len(settlement.lines)} merchants, {yuan(paid)} with rebates"
        )
