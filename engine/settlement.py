"""Settlement maths: what each holder is paid when a market resolves at value v."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import INVALID_REQUEST, EngineError

MICRO = 1_000_000


@dataclass(slots=True)
class Payout:
    """One holder's payout: ``position`` > 0 is YES contracts, < 0 is NO contracts."""

    user_id: str
    position: int
    amount: int


@dataclass(slots=True)
class Settlement:
    """Payouts rounded down to the micro-dollar; ``remainder`` goes to the fee account.

    ``escrow`` == sum of payouts + remainder, so escrow ends at exactly zero.
    """

    value: int
    escrow: int
    payouts: list[Payout]
    total_paid: int
    remainder: int


def settle(value: int, positions: Iterable[tuple[str, int]]) -> Settlement:
    """Pay each position at settlement value ``value`` micro-dollars per YES contract.

    A YES contract pays ``value``, a NO contract ``1_000_000 - value``; with an integer value
    every payout is exact, the remainder then being zero.  Positions must be net
    (one entry per user) and balanced: total YES held == total NO held (open interest).
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MICRO:
        raise EngineError(INVALID_REQUEST, "settlement value must be an int in [0, 1_000_000]")
    rows = list(positions)
    yes = sum(p for _, p in rows if p > 0)
    no = -sum(p for _, p in rows if p < 0)
    if yes != no:
        raise EngineError(INVALID_REQUEST, f"positions unbalanced: {yes} YES vs {no} NO")
    escrow = yes * MICRO
    payouts: list[Payout] = []
    total = 0
    for user_id, pos in rows:
        if pos == 0:
            continue
        amount = pos * value if pos > 0 else -pos * (MICRO - value)
        payouts.append(Payout(user_id, pos, amount))
        total += amount
    return Settlement(value, escrow, payouts, total, escrow - total)


def settle_fraction(num: int, den: int, positions: Iterable[tuple[str, int]]) -> Settlement:
    """Settle at a rational value num/den of a dollar (e.g. 1/3), paying rounded down."""
    if den <= 0 or num < 0 or num > den:
        raise EngineError(INVALID_REQUEST, "settlement fraction must be in [0, 1]")
    rows = list(positions)
    yes = sum(p for _, p in rows if p > 0)
    no = -sum(p for _, p in rows if p < 0)
    if yes != no:
        raise EngineError(INVALID_REQUEST, f"positions unbalanced: {yes} YES vs {no} NO")
    escrow = yes * MICRO
    payouts: list[Payout] = []
    total = 0
    for user_id, pos in rows:
        if pos == 0:
            continue
        if pos > 0:
            amount = pos * MICRO * num // den
        else:
            amount = -pos * MICRO * (den - num) // den
        payouts.append(Payout(user_id, pos, amount))
        total += amount
    return Settlement(num * MICRO // den, escrow, payouts, total, escrow - total)
