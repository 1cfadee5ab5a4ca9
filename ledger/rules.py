"""The programme's rules (SPEC §4). Every number here is a programme setting with the
SPEC's default; the HTTP layer builds a :class:`Rules` from its settings.

The rules named in :data:`CHANGEABLE` are also on the record (issue 18): an admin proposes
a change, a second admin approves it, and it takes effect from a stated time
(ledger/rulebook.py). :func:`check_changes` holds their bounds, so no proposal can set a
negative award or a cap beyond what the programme could pay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

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
    # Who runs the programme, as the pages and cards name them (None: not stated).
    community_name: str | None = None
    community_hotline: str | None = None
    foundation: str | None = None

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
        if any(a > self.max_award for a in self.incident_awards.values()):
            raise ValidationError("an incident award is more than max_award")
        if self.handler_award > self.max_award:
            raise ValidationError("handler_award is more than max_award")
        if not self.beneficiary_categories:
            raise ValidationError("beneficiary cards must be accepted somewhere")

    def record(self) -> dict[str, Any]:
        """The changeable rules as plain JSON values (the rules events' form)."""
        values: dict[str, Any] = {}
        for name in CHANGEABLE:
            value = getattr(self, name)
            if name == "incident_awards":
                value = {c: value[c] for c in INCIDENT_CATEGORIES}
            elif name == "beneficiary_categories":
                value = list(value)
            values[name] = value
        return values

    def restored(self, values: Mapping[str, Any]) -> Rules:
        """These rules with recorded ``values`` (the first rules: the settings' values,
        which the settings checked, not the bounds of a proposal)."""
        fields: dict[str, Any] = {}
        for name, value in values.items():
            if name == "incident_awards":
                value = MappingProxyType(dict(value))
            elif name == "beneficiary_categories":
                value = tuple(value)
            if name in CHANGEABLE:
                fields[name] = value
        return replace(self, **fields)

    def changed(self, values: Mapping[str, Any]) -> Rules:
        """These rules with ``values`` (plain JSON values, as :meth:`record` gives)
        replacing theirs; ValidationError for an unknown rule or a value out of bounds,
        or a combination that does not hold (an award above the largest award)."""
        return replace(self, **check_changes(values))

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


#: The rules a change on the record may set, in the order the pages list them.
CHANGEABLE = (
    "incident_awards",
    "handler_award",
    "max_award",
    "daily_award_cap",
    "max_redemption",
    "beneficiary_categories",
    "beneficiary_daily_limit",
    "allotment_beans",
    "allotment_max",
    "refund_window_days",
    "default_rebate_bps",
    "community_name",
    "community_hotline",
    "foundation",
)

#: The bounds of the whole-number rules (inclusive): sane limits for a community
#: programme, so that no typing slip (an extra zero or two) can become a rule.
BOUNDS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "handler_award": (0, 1_000),
        "max_award": (0, 1_000),
        "daily_award_cap": (1, 10_000),
        "max_redemption": (1, 10_000),
        "beneficiary_daily_limit": (1, 10_000),
        "allotment_beans": (1, 10_000),
        "allotment_max": (1, 10_000),
        "refund_window_days": (0, 366),
        "default_rebate_bps": (0, 5_000),
    }
)
AWARD_BOUNDS = (0, 1_000)
#: the longest texts: a community's name, its hotline, its foundation
TEXT_LIMITS: Mapping[str, int] = MappingProxyType(
    {"community_name": 60, "community_hotline": 40, "foundation": 100}
)


def _whole(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"rule {name} must be a whole number from {low} to {high}")
    return value


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"rule {name} must be text")
    text = " ".join(value.split())
    if len(text) > TEXT_LIMITS[name]:
        raise ValidationError(f"rule {name} is longer than {TEXT_LIMITS[name]} characters")
    if any(ord(ch) < 32 for ch in value if ch not in "\t\n"):
        raise ValidationError(f"rule {name} contains control characters")
    return text or None


def check_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (rule name → plain JSON value) checked against the bounds and turned
    into the values of :class:`Rules`' fields; ValidationError naming the first rule that
    is unknown or out of bounds. An empty change is refused too."""
    if not isinstance(values, Mapping) or not values:
        raise ValidationError("a rule change names at least one rule")
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name not in CHANGEABLE:
            raise ValidationError(f"{name!r} is not a rule that can be changed")
        if name in BOUNDS:
            fields[name] = _whole(name, value, *BOUNDS[name])
        elif name in TEXT_LIMITS:
            fields[name] = _text(name, value)
        elif name == "incident_awards":
            if not isinstance(value, Mapping) or set(value) != set(INCIDENT_CATEGORIES):
                raise ValidationError(
                    f"incident_awards names each of {', '.join(INCIDENT_CATEGORIES)} once"
                )
            fields[name] = MappingProxyType(
                {
                    c: _whole(f"incident_awards.{c}", value[c], *AWARD_BOUNDS)
                    for c in INCIDENT_CATEGORIES
                }
            )
        elif name == "beneficiary_categories":
            if (
                not isinstance(value, list | tuple)
                or not value
                or any(c not in MERCHANT_CATEGORIES for c in value)
                or len(set(value)) != len(value)
            ):
                raise ValidationError(
                    "beneficiary_categories is a list of merchant categories, each once: "
                    + ", ".join(MERCHANT_CATEGORIES)
                )
            fields[name] = tuple(c for c in MERCHANT_CATEGORIES if c in value)
    return fields
