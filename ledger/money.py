"""Beans and cash as integers, and the one place cash is rounded (SPEC §2).

Beans are whole ``int`` beans; cash is ``int`` fen (1/100 yuan); rates are basis
points. Cash is rounded half-up to the fen once per settlement line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ledger.errors import ValidationError


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError(
            "round_half_up_div takes a non-negative numerator and positive denominator"
        )
    return (2 * numerator + denominator) // (2 * denominator)


def cash_fen(beans: int, bean_value_fen: int) -> int:
    """What ``beans`` are worth in fen."""
    return beans * bean_value_fen


def rebate_fen(cash: int, rebate_bps: int) -> int:
    """A merchant's rebate on ``cash`` fen at ``rebate_bps`` basis points, rounded half-up."""
    return round_half_up_div(cash * rebate_bps, 10_000)


def coverage(balance_fen: int, liability_fen: int) -> Decimal | None:
    """The fund's balance over its liability, 4 places, rounded half-up; None while
    nothing is owed."""
    if not liability_fen:
        return None
    return (Decimal(balance_fen) / Decimal(liability_fen)).quantize(
        Decimal("0.0001"), ROUND_HALF_UP
    )


def check_beans(amount: object, *, what: str = "amount", allow_zero: bool = False) -> int:
    """Return ``amount`` if it is a whole number of beans (> 0, or >= 0 with allow_zero)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValidationError(f"{what} must be a whole number of beans")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(f"{what} must be {'zero or ' if allow_zero else ''}positive")
    return amount


def check_fen(amount: object, *, what: str = "amount_fen") -> int:
    """Return ``amount`` if it is a positive whole number of fen."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError(f"{what} must be a positive whole number of fen")
    return amount
