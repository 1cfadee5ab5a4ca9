"""The programme's rules (SPEC §4). Every number here is a programme setting with the
SPEC's default; the HTTP layer builds a :class:`Rules` from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ledger.calendar import ProgrammeCalendar
from ledger.errors import ValidationError

INCIDENT_CATEGORIES = ("fire", "public_security", "dispute", "sanitation", "resident_need", "other")
MERCHANT_CATEGORIES = (
    "grocery",
    "produce",
    "canteen",
    "restaurant",
    "pharmacy",
    "services",
    "other",
)

_DEFAULT_AWARDS = MappingProxyType(
    {
        "fire": 10,
        "public_security": 5,
        "dispute": 3,
        "sanitation": 2,
        "resident_need": 2,
        "other": 1,
    }
)


@dataclass(frozen=True)
class Rules:
    """Programme settings; defaults are SPEC §2 and §4."""

    time_zone: str = "Asia/Shanghai"
    bean_value_fen: int = 100
    default_rebate_bps: int = 1000
    incident_awards: Mapping[str, int] = field(default_factory=lambda: _DEFAULT_AWARDS)
    handler_award: int = 5
    max_award: int = 100
    daily_award_cap: int = 200
    max_redemption: int = 500
    beneficiary_categories: tuple[str, ...] = ("grocery", "produce", "canteen")
    beneficiary_daily_limit: int = 50
    refund_window_days: int = 30
    allotment_beans: int = 100
    # The most beans one allotment may grant one beneficiary for one period.
    allotment_max: int = 100
    # In the first ``allotment_late_days`` local days of a month the previous month may
    # still be granted (a run that missed the month's end); 0: only the current month.
    allotment_late_days: int = 0
    # Four eyes above a threshold: a correction of more than this many beans, or an
    # allotment batch granting more than this many beans in all, is prepared by one
    # coordinator and approved by another (ledger/commands_approvals.py).
    correction_approval_above: int = 100
    allotment_batch_approval_above: int = 10_000
    payment_code_ttl_seconds: int = 60
    pin_max_attempts: int = 5

    def __post_init__(self) -> None:
        for name in ("bean_value_fen", "max_redemption", "daily_award_cap", "pin_max_attempts"):
            if getattr(self, name) <= 0:
                raise ValidationError(f"rule {name} must be positive")
        if not 0 <= self.default_rebate_bps <= 10_000:
            raise ValidationError("default_rebate_bps must be between 0 and 10000")
        if not 0 < self.allotment_beans <= self.allotment_max:
            raise ValidationError("allotment_beans must be positive and at most allotment_max")
        if not 0 <= self.allotment_late_days <= 28:
            raise ValidationError("allotment_late_days must be between 0 and 28")
        for name in ("correction_approval_above", "allotment_batch_approval_above"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"rule {name} must be a whole number of beans, 0 or more")
        missing = set(INCIDENT_CATEGORIES) - set(self.incident_awards)
        if missing:
            raise ValidationError(f"incident_awards lacks {sorted(missing)}")

    @property
    def calendar(self) -> ProgrammeCalendar:
        return ProgrammeCalendar(self.time_zone)

    def check_award(self, award: object) -> int:
        """An award a coordinator chose: a whole number between 0 and ``max_award``."""
        if (
            not isinstance(award, int)
            or isinstance(award, bool)
            or not 0 <= award <= self.max_award
        ):
            raise ValidationError(f"an award must be a whole number from 0 to {self.max_award}")
        return award

    def check_incident_category(self, category: str) -> str:
        if category not in INCIDENT_CATEGORIES:
            raise ValidationError(f"unknown incident category {category!r}")
        return category

    def check_merchant_category(self, category: str) -> str:
        if category not in MERCHANT_CATEGORIES:
            raise ValidationError(f"unknown merchant category {category!r}")
        return category

    def check_rebate_bps(self, rebate_bps: object) -> int:
        if (
            not isinstance(rebate_bps, int)
            or isinstance(rebate_bps, bool)
            or not 0 <= rebate_bps <= 10_000
        ):
            raise ValidationError("rebate_bps must be a whole number from 0 to 10000")
        return rebate_bps
