"""Beans and cash as integers, and the one place cash is rounded (SPEC §2).

Beans are whole ``int`` beans; cash is ``int`` fen (1/100 yuan); rates are basis
points. Cash is rounded half-up to the fen once per settlement line.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def bean_cost_fen(beans: int, bean_value_fen: int, rebate_bps: int) -> int:
    """What paying a merchant for ``beans`` costs the fund: their cash plus the rebate at
    ``rebate_bps`` on it (rounded as one settlement line). Nothing for no beans or fewer:
    a merchant's deduction (refunds after its sales were settled) is not cash the fund
    can count on."""
    if beans <= 0:
        return 0
    cash = cash_fen(beans, bean_value_fen)
    return cash + rebate_fen(cash, rebate_bps)


def liability_fen(
    outstanding: int, merchants: Iterable[tuple[int, int]], bean_value_fen: int
) -> int:
    """What paying every outstanding bean will cost the fund, rebates included
    (docs/LEDGER.md "Fund liability").

    ``merchants`` is ``(beans held, rebate_bps)`` for every registered merchant. Beans a
    merchant holds cost its own rate; beans not yet spent (``outstanding`` less what the
    merchants hold: volunteers', beneficiaries' and the pool's) cost the highest rate any
    merchant has, the most they can cost wherever they are spent; no merchant: no rebate.
    """
    held = list(merchants)
    highest = max((bps for _, bps in held), default=0)
    unspent = outstanding - sum(beans for beans, _ in held)
    return bean_cost_fen(unspent, bean_value_fen, highest) + sum(
        bean_cost_fen(beans, bean_value_fen, bps) for beans, bps in held
    )


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
