"""Money and prices at the edge: decimal-dollar strings outside, integer micro-dollars inside.

`format_money(12_500_000) == "12.50"`; `parse_money("0.63") == 630_000`. Parsing is strict:
plain decimal notation only (no exponents, NaN, infinities, signs or spaces), a bounded number
of decimals, and a bounded size, so "1e400", "NaN", "-0" and "0.001" (for cents) are refused.
"""

from __future__ import annotations

import re

MICROS_PER_DOLLAR = 1_000_000
MAX_DOLLARS = 10**12  # a trillion dollars: far beyond any sane amount, far below BIGINT

_DECIMAL = re.compile(r"^(\d{1,13})(?:\.(\d{1,6}))?$")


class MoneyFormatError(ValueError):
    pass


def parse_money(value: str, *, decimals: int = 6, allow_zero: bool = False) -> int:
    """Micro-dollars from a decimal-dollar string with at most `decimals` decimals."""
    if not isinstance(value, str):
        raise MoneyFormatError('amounts are decimal strings in dollars, like "12.50"')
    match = _DECIMAL.match(value)
    if match is None:
        raise MoneyFormatError(f'{value!r} is not a decimal amount in dollars, like "12.50"')
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > decimals:
        raise MoneyFormatError(f"{value!r} has more than {decimals} decimals")
    micros = int(whole) * MICROS_PER_DOLLAR + int(fraction.ljust(6, "0"))
    if micros > MAX_DOLLARS * MICROS_PER_DOLLAR:
        raise MoneyFormatError(f"{value!r} is too large")
    if micros == 0 and not allow_zero:
        raise MoneyFormatError("the amount must be greater than zero")
    return micros


def format_money(micros: int) -> str:
    """ "12.50" style: at least two decimals, more only when the value needs them."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_DOLLAR)
    digits = f"{fraction:06d}".rstrip("0")
    return f"{sign}{whole}.{digits.ljust(2, '0')}"


def format_optional(micros: int | None) -> str | None:
    return None if micros is None else format_money(micros)
