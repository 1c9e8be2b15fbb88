"""Kalshi-style fee arithmetic, exact in integers.

A fee *basis* is ``sum(count * p * (1_000_000 - p))`` with ``p`` in micro-dollars, i.e. the sum
of count x P x (1 - P) scaled by 10**12.  The fee for a basis at rate ``num/den`` is
``ceil_to_cent(rate x basis / 10**12)`` dollars, returned in micro-dollars.
"""

from __future__ import annotations

from fractions import Fraction

MICRO = 1_000_000
CENT = 10_000
#: the largest P x (1 - P) there is (at P = 0.50), scaled by 10**12
MAX_VARIANCE = 250_000_000_000


def normalize_rate(rate: Fraction | tuple[int, int] | int | str) -> tuple[int, int]:
    """Return a non-negative rate as ``(numerator, denominator)`` in lowest terms."""
    if isinstance(rate, tuple):
        frac = Fraction(rate[0], rate[1])
    elif isinstance(rate, float):
        raise TypeError("fee rates must be exact (Fraction, (num, den), int or decimal str)")
    else:
        frac = Fraction(rate)
    if frac < 0 or frac >= 1:
        raise ValueError("fee rate must be in [0, 1)")
    return frac.numerator, frac.denominator


def fee_for_basis(num: int, den: int, basis: int) -> int:
    """ceil_to_cent(num/den x basis / 10**12) dollars, in micro-dollars."""
    if num == 0 or basis <= 0:
        return 0
    # micro-dollars = num*basis/(den*10**6); cents of 10**4 micro => divide by den*10**10
    return -(-(num * basis) // (den * 10_000_000_000)) * CENT


def variance(price: int) -> int:
    """P x (1 - P) scaled by 10**12 for a price in micro-dollars."""
    return price * (MICRO - price)


def worst_variance(yes_limit: int, is_bid: bool) -> int:
    """Largest P x (1 - P) among the prices an order at this YES limit can trade at.

    A bid trades at or below its limit, an ask at or above it.
    """
    if is_bid:
        return yes_limit * (MICRO - yes_limit) if yes_limit <= 500_000 else MAX_VARIANCE
    return yes_limit * (MICRO - yes_limit) if yes_limit >= 500_000 else MAX_VARIANCE


def fee_for_fill(rate: Fraction | tuple[int, int], count: int, price: int) -> int:
    """Fee of one standalone fill of ``count`` contracts at ``price`` (micro-dollars)."""
    num, den = normalize_rate(rate)
    return fee_for_basis(num, den, count * variance(price))
